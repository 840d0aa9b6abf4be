/**
 * Real processes, real sockets, SIGKILL: writes through followers, leader
 * failover without losing an acknowledged write, catch-up after restart, and
 * identical replicas.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { TestCluster } from "../support/cluster.ts";

let cluster: TestCluster;
beforeAll(async () => {
  cluster = await TestCluster.start({ nodes: 3 });
  const r = await cluster.sql("n1", { sql: "CREATE TABLE kv (k TEXT PRIMARY KEY, v INTEGER, at TEXT DEFAULT CURRENT_TIMESTAMP, r INTEGER DEFAULT (random()))" });
  expect(r.status).toBe(200);
}, 60_000);
afterAll(() => cluster?.stop());

async function follower(): Promise<string> {
  const l = await cluster.leader();
  return cluster.specs.find((s) => s.id !== l && cluster.procs.has(s.id))!.id;
}

test("a write through a follower is forwarded to the leader and readable everywhere", async () => {
  const f = await follower();
  const w = await cluster.sql(f, { sql: "INSERT INTO kv (k, v) VALUES ('via-follower', 7)" });
  expect(w.json).toEqual({ success: true, result: { rows: null, rows_affected: 1, last_insert_id: expect.any(Number) } });
  for (const s of cluster.specs) {
    const r = await cluster.sql(s.id, { sql: "SELECT v FROM kv WHERE k = 'via-follower'" });
    expect(r.json.result.rows).toEqual([{ v: 7 }]);
  }
});

test("concurrent writes through a follower travel together yet each gets its own answer", async () => {
  const f = await follower();
  // 20 at once: the follower forwards them in one write-batch RPC; one of them breaks UNIQUE.
  const keys = Array.from({ length: 20 }, (_, i) => (i === 7 ? "via-follower" : `burst-${i}`));
  const answers = await Promise.all(keys.map((k, i) => cluster.sql(f, { sql: "INSERT INTO kv (k, v) VALUES (?, ?) RETURNING v", args: [k, 100 + i] })));
  answers.forEach((a, i) => {
    if (i === 7) {
      expect(a.status).toBe(400);
      expect(a.json.error.code).toBe("SQLITE_CONSTRAINT_PRIMARYKEY");
    } else {
      expect(a.status).toBe(200);
      expect(a.json.result.rows).toEqual([{ v: 100 + i }]);
    }
  });
  const bookmarks = answers.filter((_, i) => i !== 7).map((a) => Number(a.headers.get("x-quorumlite-bookmark")));
  expect(new Set(bookmarks).size).toBe(19);
  const r = await cluster.sql(f, { sql: "SELECT count(*) AS n FROM kv WHERE k LIKE 'burst-%'" }, `?level=linearizable`);
  expect(r.json.result.rows).toEqual([{ n: 19 }]);
});

test("kill -9 of the leader: a new leader serves writes and no acknowledged write is lost; the old leader catches up", async () => {
  const acked: string[] = [];
  const old = await cluster.leader();
  const writer = (async () => {
    for (let i = 0; i < 150; i++) {
      const target = cluster.specs.find((s) => cluster.procs.has(s.id))!.id;
      const r = await cluster.sql(target, { sql: "INSERT INTO kv (k, v) VALUES (?, ?)", args: [`k${i}`, i] }, "", { "x-quorumlite-request-id": `w-${i}` }).catch(() => null);
      if (r?.status === 200) acked.push(`k${i}`);
      await Bun.sleep(5);
    }
  })();
  await Bun.sleep(150);
  await cluster.kill(old);
  await writer;
  const next = await cluster.leader([old]);
  expect(next).not.toBe(old);
  expect(acked.length).toBeGreaterThan(50);
  const w = await cluster.sql(next, { sql: "INSERT INTO kv (k, v) VALUES ('after-failover', 1)" });
  expect(w.status).toBe(200);

  const rows = (await cluster.sql(next, { sql: "SELECT k FROM kv" })).json.result.rows.map((r: { k: string }) => r.k);
  for (const k of acked) expect(rows).toContain(k);

  await cluster.restart(old);
  await cluster.waitFor(async () => {
    const r = await cluster.sql(old, { sql: "SELECT count(*) AS n FROM kv" }, "?level=none").catch(() => null);
    return r?.json?.result?.rows?.[0]?.n === rows.length;
  }, 20_000, "the restarted node to catch up");
}, 60_000);

test("a write sent to a follower just after the leader died waits for the next leader instead of failing", async () => {
  const old = await cluster.leader();
  const via = cluster.specs.find((s) => s.id !== old && cluster.procs.has(s.id))!.id;
  await cluster.kill(old);
  // Let the follower see the connection close; then its RPC to the dead leader never leaves,
  // which must count as "no leader yet" (wait and retry), not as "may have been applied" (503).
  await Bun.sleep(100);
  const r = await cluster.sql(via, { sql: "INSERT INTO kv (k, v) VALUES ('during-election', 1)" }, "", { "x-quorumlite-request-id": "during-election" });
  expect(r.status).toBe(200);
  expect(await cluster.leader([old])).not.toBe(old);
  await cluster.restart(old);
}, 60_000);

test("a linearizable read at a follower just after the leader died is answered once the next leader is elected", async () => {
  const old = await cluster.leader();
  const via = cluster.specs.find((s) => s.id !== old && cluster.procs.has(s.id))!.id;
  await cluster.kill(old);
  const started = Date.now();
  // Its read-index request goes to the dead leader and is lost; it must be asked again of the
  // new leader, well before the 5 s read timeout.
  const r = await cluster.sql(via, { sql: "SELECT count(*) AS n FROM kv" }, "?level=linearizable");
  expect(r.status).toBe(200);
  expect(Date.now() - started).toBeLessThan(4_000);
  await cluster.restart(old);
}, 60_000);

test("replicas are identical, including random() and CURRENT_TIMESTAMP defaults", async () => {
  await cluster.sql("n1", { statements: [
    { sql: "INSERT INTO kv (k, v) VALUES ('rand', random())" },
    { sql: "INSERT INTO kv (k, v) VALUES ('time', unixepoch('now'))" },
    { sql: "UPDATE kv SET at = datetime('now') WHERE k = 'time'" },
  ], transaction: true });
  const leader = await cluster.leader();
  const leaderStatus = await cluster.status(leader);
  const dumps: string[] = [];
  for (const s of cluster.specs) {
    const r = await cluster.sql(s.id, { sql: "SELECT * FROM kv ORDER BY k" }, "", { "x-quorumlite-bookmark": String(leaderStatus!.commit_index) });
    dumps.push(JSON.stringify(r.json.result.rows));
  }
  expect(dumps[0]!.length).toBeGreaterThan(10);
  expect(new Set(dumps).size).toBe(1);
});

test("bad input gets a clear 4xx and changes nothing; the node keeps serving", async () => {
  const before = (await cluster.sql("n1", { sql: "SELECT count(*) AS n FROM kv" })).json.result.rows[0].n;
  const bad = [
    ["{not json", 400, /malformed JSON/],
    ['{"sql": 5}', 400, /sql/],
    ['{"statements": [{"sql": "INSERT INTO kv (k, v) VALUES (\'x1\', 1)"}, {"sql": "INSERT INTO nope VALUES (1)"}], "transaction": true}', 400, /no such table/],
    ['{"sql": "ATTACH DATABASE \'/tmp/x.db\' AS x"}', 400, /.+/],
    ['{"sql": "PRAGMA journal_mode = DELETE"}', 400, /.+/],
    ['{"sql": "INSERT INTO kv (k, v) VALUES (\'via-follower\', 1)"}', 400, /UNIQUE/],
  ] as const;
  for (const [body, status, msg] of bad) {
    const r = await cluster.sql("n2", body);
    expect(r.status).toBe(status);
    expect(r.headers.get("content-type")).toContain("application/json");
    expect(r.json.success).toBe(false);
    expect(r.json.error.message).toMatch(msg);
  }
  const big = await cluster.sql("n1", JSON.stringify({ sql: "SELECT 1", args: ["x".repeat(9 * 1024 * 1024)] }));
  expect(big.status).toBe(413);
  const uniq = await cluster.sql("n1", '{"sql": "INSERT INTO kv (k, v) VALUES (\'via-follower\', 1)"}');
  expect(uniq.json.error.code).toBe("SQLITE_CONSTRAINT_PRIMARYKEY");
  const after = (await cluster.sql("n1", { sql: "SELECT count(*) AS n FROM kv" })).json.result.rows[0].n;
  expect(after).toBe(before);
});

test("peer traffic without the cluster secret is refused", async () => {
  const s = cluster.specs[0]!;
  const r = await fetch(`http://127.0.0.1:${s.raftPort}/raft/messages`, { method: "POST", body: new Uint8Array([1, 2, 3]) });
  expect(r.status).toBe(401);
});
