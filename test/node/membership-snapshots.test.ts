/**
 * Membership and snapshots with real processes: a node that was down while
 * the log was compacted catches up from a streamed snapshot; a new node joins
 * as a learner (replicates, never votes), is promoted, and can be removed;
 * a backup is a consistent SQLite file.
 */
import { Database } from "bun:sqlite";
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TestCluster } from "../support/cluster.ts";

let cluster: TestCluster;
beforeAll(async () => {
  cluster = await TestCluster.start({ nodes: 3, extraArgs: ["--snapshot-threshold", "40", "--snapshot-keep", "5"] });
  expect((await cluster.sql("n1", { sql: "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)" })).status).toBe(200);
}, 60_000);
afterAll(() => cluster?.stop());

async function count(id: string): Promise<number | null> {
  const r = await cluster.sql(id, { sql: "SELECT count(*) AS n FROM t" }, "?level=none").catch(() => null);
  return r?.json?.result?.rows?.[0]?.n ?? null;
}

test("a follower that missed compacted entries catches up from a snapshot", async () => {
  const leader = await cluster.leader();
  const down = cluster.specs.find((s) => s.id !== leader)!.id;
  await cluster.kill(down);
  for (let i = 0; i < 60; i++) {
    const statements = Array.from({ length: 5 }, (_, j) => ({ sql: "INSERT INTO t (v) VALUES (?)", args: [`row-${i}-${j}`] }));
    expect((await cluster.sql(leader, { statements, transaction: true })).status).toBe(200);
  }
  const st = await cluster.status(leader);
  expect(st!.first_index).toBeGreaterThan(10); // the log really was compacted past what `down` has
  cluster.spawn(down);
  await cluster.waitFor(async () => (await count(down)) === 300, 20_000, `${down} to catch up`);
  expect(cluster.logs.get(leader)!.some((l) => l.includes(`sending snapshot`))).toBe(true);
}, 40_000);

test("a learner joins, replicates without voting, is promoted, then removed", async () => {
  await cluster.addNode("n4", "iad", "n2", ["--learner"]);
  await cluster.waitFor(async () => (await count("n4")) === 300, 20_000, "n4 to replicate as a learner");
  const leader = await cluster.leader();
  let st = await cluster.status(leader);
  expect(st!.members.find((m: { id: string }) => m.id === "n4").role).toBe("learner");

  const promote = await fetch(`${cluster.url("n2")}/admin/members/n4/promote`, { method: "POST" });
  expect(promote.status).toBe(200);
  st = await cluster.status(leader);
  expect(st!.members.find((m: { id: string }) => m.id === "n4").role).toBe("voter");
  expect((await cluster.sql("n4", { sql: "INSERT INTO t (v) VALUES ('via-n4')" })).status).toBe(200);

  const remove = await fetch(`${cluster.url("n1")}/admin/members/n4`, { method: "DELETE" });
  expect(remove.status).toBe(200);
  await cluster.waitFor(async () => {
    const s = await cluster.status(await cluster.leader());
    return !s!.members.some((m: { id: string }) => m.id === "n4");
  }, 10_000, "n4 to be removed");
  expect((await cluster.sql("n1", { sql: "INSERT INTO t (v) VALUES ('after-remove')" })).status).toBe(200);
}, 60_000);

test("admin input is validated", async () => {
  const r = await fetch(`${cluster.url("n1")}/admin/members`, { method: "POST", body: JSON.stringify({ id: "" }) });
  expect(r.status).toBe(400);
  expect(((await r.json()) as { error: { message: string } }).error.message).toMatch(/id|region|raftAddr/);
});

test("GET /admin/backup streams a consistent SQLite copy with its applied index, from any node", async () => {
  const follower = cluster.specs.find((s) => s.id !== "n4")!.id;
  const res = await fetch(`${cluster.url(follower)}/admin/backup`);
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toBe("application/vnd.sqlite3");
  const applied = Number(res.headers.get("x-quorumlite-applied-index"));
  expect(applied).toBeGreaterThan(0);
  const dir = mkdtempSync(join(tmpdir(), "ql-backup-test-"));
  const file = join(dir, "backup.sqlite");
  writeFileSync(file, new Uint8Array(await res.arrayBuffer()));
  const db = new Database(file, { readonly: true });
  try {
    expect(db.query("PRAGMA integrity_check").get()).toEqual({ integrity_check: "ok" });
    const n = (db.query("SELECT count(*) AS n FROM t").get() as { n: number }).n;
    expect(n).toBeGreaterThanOrEqual(300);
    expect(n).toBe((await count(follower))!);
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
