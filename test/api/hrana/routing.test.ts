/**
 * Two in-process nodes sharing a baton key: a leader and a follower whose
 * service refuses interactive transactions with the leader's address. Batons
 * route requests to the node that owns the stream; a stream that opens a
 * write transaction on the follower moves to the leader.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { createClient, type Client } from "@libsql/client";
import { BatonCodec } from "../../../src/api/hrana/baton.ts";
import { BATON_KEY, post, startNodes, type TestNode } from "./harness.ts";
import { FollowerSqlService, SqliteSqlService } from "./sqlite-sql-service.ts";
import { SERVICES, type TestService } from "./test-services.ts";

for (const [name, make] of SERVICES) describe(name, () => {
  let leaderService: TestService;
  let leader: TestNode;
  let follower: TestNode;
  const codec = new BatonCodec(BATON_KEY);
  const ownerOf = (baton: string): string => codec.decode(baton)!.nodeId;

  beforeAll(() => {
    leaderService = make();
    const followerService = new FollowerSqlService(leaderService, () => leader.url);
    [leader, follower] = startNodes([
      { id: "leader", service: leaderService },
      { id: "follower", service: followerService },
    ]) as [TestNode, TestNode];
  });

  afterAll(() => {
    leader.stop();
    follower.stop();
    leaderService.close();
  });

  const exec = (sql: string) => ({ type: "execute", stmt: { sql } });
  let table = 0;
  let t = "";
  beforeEach(async () => {
    t = `r${++table}`;
    await post(leader.url, "/v2/pipeline", { requests: [exec(`CREATE TABLE ${t} (id INTEGER PRIMARY KEY, v TEXT UNIQUE)`), { type: "close" }] });
  });

  /** A fetch that sends each request to the next node in turn, as a load balancer might. */
  function roundRobin(nodes: readonly TestNode[], log: string[] = []): typeof fetch {
    let i = 0;
    const f = async (input: string | URL | Request, init?: RequestInit) => {
      const req = input instanceof Request ? new Request(input, init) : new Request(String(input), init);
      const target = nodes[i++ % nodes.length]!;
      const url = new URL(req.url);
      log.push(`${target === leader ? "leader" : "follower"} ${url.pathname}`);
      return fetch(new Request(target.url + url.pathname + url.search, req));
    };
    return f as typeof fetch;
  }

  describe("baton routing", () => {
    test("a stream owned by one node keeps working when requests land on the other", async () => {
      const open = await post(follower.url, "/v2/pipeline", { requests: [{ type: "store_sql", sql_id: 1, sql: `INSERT INTO ${t} (v) VALUES (?)` }] });
      let baton: string = open.json.baton;
      expect(ownerOf(baton)).toBe("follower");
      for (const [i, node] of [leader, follower, leader].entries()) {
        const r = await post(node.url, "/v2/pipeline", {
          baton,
          requests: [{ type: "execute", stmt: { sql_id: 1, args: [{ type: "text", value: `v${i}` }] } }],
        });
        expect(r.status).toBe(200);
        expect(r.json.results[0].type).toBe("ok");
        baton = r.json.baton;
        expect(ownerOf(baton)).toBe("follower");
      }
      expect(leaderService.query(`SELECT v FROM ${t} ORDER BY id`)).toEqual([["v0"], ["v1"], ["v2"]]);
      // A replayed baton is refused by the owner even when it arrives through the other node.
      const replay = await post(leader.url, "/v2/pipeline", { baton: open.json.baton, requests: [] });
      expect(replay.status).toBe(400);
      expect(replay.json.code).toBe("BATON_REUSED");
    });

    test("a valid baton of a node nobody knows, or of a node that is down: 503, never 'stream not found'", async () => {
      const stranger = codec.encode({ nodeId: "n9", streamId: "ab".repeat(16), seq: 5n });
      const r = await post(leader.url, "/v2/pipeline", { baton: stranger, requests: [exec("SELECT 1")] });
      expect(r.status).toBe(503);
      expect(r.json.code).toBe("STREAM_OWNER_UNAVAILABLE");
      expect(r.headers.get("retry-after")).toBe("1");

      const svc = new SqliteSqlService();
      const [a, b] = startNodes([
        { id: "a", service: svc },
        { id: "b", service: svc },
      ]) as [TestNode, TestNode];
      try {
        const baton = (await post(b.url, "/v2/pipeline", { requests: [] })).json.baton;
        b.stop();
        const down = await post(a.url, "/v2/pipeline", { baton, requests: [exec("SELECT 1")] });
        expect(down.status).toBe(503);
        expect(down.json.code).toBe("STREAM_OWNER_UNAVAILABLE");
      } finally {
        a.stop();
        svc.close();
      }
    });
  });

  describe("a write transaction begun on a follower moves to the leader", () => {
    test("raw pipeline: earlier requests run on the follower, the rest on the leader, stored SQL travels along", async () => {
      const r = await post(follower.url, "/v3/pipeline", {
        requests: [
          { type: "store_sql", sql_id: 7, sql: `INSERT INTO ${t} (v) VALUES (?)` },
          exec(`SELECT count(*) FROM ${t}`),
          {
            type: "batch",
            batch: {
              steps: [
                { stmt: { sql: "BEGIN IMMEDIATE" } },
                { stmt: { sql_id: 7, args: [{ type: "text", value: "moved" }] }, condition: { type: "ok", step: 0 } },
              ],
            },
          },
          { type: "get_autocommit" },
        ],
      });
      expect(r.status).toBe(200);
      expect(r.json.results.map((x: { type: string }) => x.type)).toEqual(["ok", "ok", "ok", "ok"]);
      expect(r.json.results[3].response.is_autocommit).toBe(false);
      expect(ownerOf(r.json.baton)).toBe("leader");
      expect(leaderService.openTransactions).toBe(1);
      // Not committed yet.
      expect(leaderService.query(`SELECT count(*) FROM ${t}`)).toEqual([[0]]);
      // COMMIT lands on the follower again and is routed to the leader, where the stream now lives.
      const c = await post(follower.url, "/v3/pipeline", { baton: r.json.baton, requests: [{ type: "execute", stmt: { sql_id: 7, args: [{ type: "text", value: "two" }] } }, exec("COMMIT"), { type: "close" }] });
      expect(c.json.results.map((x: { type: string }) => x.type)).toEqual(["ok", "ok", "ok"]);
      expect(c.json.baton).toBeNull();
      expect(leaderService.query(`SELECT v FROM ${t} ORDER BY id`)).toEqual([["moved"], ["two"]]);
      expect(leaderService.openTransactions).toBe(0);
    });

    test("@libsql/client through the follower: transaction commit, rollback, batch, executeMultiple", async () => {
      const client = createClient({ url: follower.url, intMode: "bigint" });
      try {
        const tx = await client.transaction("write");
        await tx.execute({ sql: `INSERT INTO ${t} (v) VALUES (?)`, args: ["c1"] });
        expect((await tx.execute(`SELECT count(*) AS n FROM ${t}`)).rows[0]!["n"]).toBe(1n);
        await tx.commit();

        const rb = await client.transaction("deferred");
        await rb.execute({ sql: `INSERT INTO ${t} (v) VALUES (?)`, args: ["gone"] });
        await rb.rollback();

        await client.batch([`INSERT INTO ${t} (v) VALUES ('b1')`, `INSERT INTO ${t} (v) VALUES ('b2')`], "write");
        await client.executeMultiple(`BEGIN; INSERT INTO ${t} (v) VALUES ('m1'); COMMIT;`);
        expect(leaderService.query(`SELECT v FROM ${t} ORDER BY id`)).toEqual([["c1"], ["b1"], ["b2"], ["m1"]]);
        expect(leaderService.openTransactions).toBe(0);
      } finally {
        client.close();
      }
    });

    test("with every request landing on the other node than the last", async () => {
      const log: string[] = [];
      const client = createClient({ url: follower.url, intMode: "bigint", fetch: roundRobin([follower, leader], log) });
      try {
        for (let i = 0; i < 3; i++) {
          const tx = await client.transaction("write");
          await tx.execute({ sql: `INSERT INTO ${t} (v) VALUES (?)`, args: [`t${i}`] });
          await tx.execute({ sql: `UPDATE ${t} SET v = v || '!' WHERE v = ?`, args: [`t${i}`] });
          await tx.commit();
        }
        const rs = await client.execute(`SELECT v FROM ${t} ORDER BY id`);
        expect(rs.rows.map((r) => r["v"])).toEqual(["t0!", "t1!", "t2!"]);
        expect(log.some((l) => l.startsWith("leader"))).toBe(true);
        expect(log.some((l) => l.startsWith("follower"))).toBe(true);
      } finally {
        client.close();
      }
    });

    test("a leader change aborts the transaction cleanly: nothing is applied and the client is told", async () => {
      const client = createClient({ url: follower.url });
      try {
        const tx = await client.transaction("write");
        await tx.execute(`INSERT INTO ${t} (v) VALUES ('doomed')`);
        leaderService.abortTransactions();
        const err = await tx.execute("SELECT 1").catch((e: unknown) => e);
        expect(err).toBeInstanceOf(Error);
        expect(String((err as Error).message)).toContain("no longer the leader");
        expect(leaderService.query(`SELECT count(*) FROM ${t}`)).toEqual([[0]]);
        // The cluster goes on serving.
        await client.execute(`INSERT INTO ${t} (v) VALUES ('after')`);
        expect(leaderService.query(`SELECT v FROM ${t}`)).toEqual([["after"]]);
      } finally {
        client.close();
      }
    });
  });
});
