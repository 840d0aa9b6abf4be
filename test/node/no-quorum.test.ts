/**
 * Without a quorum there is no leader: writes and linearizable reads get a
 * 503 with Retry-After and a JSON body naming the problem, `level=none` reads
 * still answer (stale by choice), and service resumes when the quorum returns.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { TestCluster } from "../support/cluster.ts";

let cluster: TestCluster;
beforeAll(async () => {
  cluster = await TestCluster.start({ nodes: 3 });
  expect((await cluster.sql("n1", { sql: "CREATE TABLE t (v TEXT)" })).status).toBe(200);
  expect((await cluster.sql("n1", { sql: "INSERT INTO t VALUES ('before')" })).status).toBe(200);
}, 60_000);
afterAll(() => cluster?.stop());

test("a lone node answers 503 + Retry-After for writes and linearizable reads, serves level=none, and recovers", async () => {
  const survivor = "n3";
  // Make sure the survivor has the row before the others go.
  await cluster.waitFor(async () => (await cluster.sql(survivor, { sql: "SELECT count(*) AS n FROM t" }, "?level=none")).json?.result?.rows?.[0]?.n === 1, 10_000, "n3 to have the row");
  await cluster.kill("n1");
  await cluster.kill("n2");

  const w = await cluster.sql(survivor, { sql: "INSERT INTO t VALUES ('lost?')" });
  expect(w.status).toBe(503);
  expect(w.headers.get("retry-after")).toBe("1");
  expect(w.json.success).toBe(false);
  expect(w.json.error.code).toMatch(/no-leader|timeout|not-leader/);

  const lin = await cluster.sql(survivor, { sql: "SELECT * FROM t" });
  expect(lin.status).toBe(503);

  const stale = await cluster.sql(survivor, { sql: "SELECT v FROM t" }, "?level=none");
  expect(stale.json.result.rows).toEqual([{ v: "before" }]);
  const bounded = await cluster.sql(survivor, { sql: "SELECT v FROM t" }, "?level=none&freshness=200ms");
  expect(bounded.status).toBe(503);
  expect(bounded.json.error.code).toBe("stale");

  cluster.spawn("n1");
  cluster.spawn("n2");
  await cluster.waitForLeader();
  const after = await cluster.sql(survivor, { sql: "INSERT INTO t VALUES ('after')" });
  expect(after.status).toBe(200);
  const rows = (await cluster.sql(survivor, { sql: "SELECT v FROM t ORDER BY rowid" })).json.result.rows.map((r: { v: string }) => r.v);
  // The refused write was never acknowledged; whether it committed later is allowed either way, but nothing acknowledged is missing.
  expect(rows).toContain("before");
  expect(rows).toContain("after");
}, 60_000);
