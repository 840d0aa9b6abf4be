/**
 * Two regions (ams ×2, iad ×1), preferred region ams: leadership goes back to
 * ams after it moved away, and `sync=remote-region` writes are acknowledged
 * only once the iad voter holds them.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { TestCluster } from "../support/cluster.ts";

let cluster: TestCluster;
beforeAll(async () => {
  cluster = await TestCluster.start({ nodes: 3, regions: ["ams", "ams", "iad"], preferredRegion: "ams", latency: "ams-ams=1,ams-iad=15,iad-iad=1" });
  expect((await cluster.sql("n1", { sql: "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)" })).status).toBe(200);
}, 60_000);
afterAll(() => cluster?.stop());

test("the first leader is in the preferred region", async () => {
  const l = await cluster.leader();
  expect(cluster.spec(l).region).toBe("ams");
});

test("leadership moved to iad returns to ams once an ams voter is caught up", async () => {
  const l = await cluster.leader();
  const r = await fetch(`${cluster.url(l)}/admin/transfer`, { method: "POST", body: JSON.stringify({ to: "n3" }) });
  expect(r.status).toBe(200);
  // iad leads briefly …
  await cluster.waitFor(async () => (await cluster.status("n3"))?.role === "leader", 10_000, "n3 to lead");
  // … then hands leadership back to a caught-up ams voter.
  await cluster.waitFor(async () => {
    const s = await cluster.status("n3");
    return s?.role === "follower" && s.leader !== null && cluster.spec(s.leader.id).region === "ams";
  }, 15_000, "leadership to return to ams");
  const s = await cluster.status("n1");
  expect(s!.placement).toMatch(/preferred region ams/);
  expect((await cluster.sql("n2", { sql: "INSERT INTO t (v) VALUES ('after-return')" })).status).toBe(200);
}, 40_000);

test("a sync=remote-region write is acknowledged only once iad holds it; sync=majority does not wait for iad", async () => {
  await cluster.kill("n3");
  const leader = await cluster.leader(["n3"]);
  const majority = await cluster.sql(leader, { sql: "INSERT INTO t (v) VALUES ('majority-without-iad')" });
  expect(majority.status).toBe(200);

  // Without iad, remote-region cannot be satisfied: the write commits (majority) but is not acknowledged.
  const started = Date.now();
  const pending = cluster.sql(leader, { sql: "INSERT INTO t (v) VALUES ('needs-iad')" }, "?sync=remote-region");
  await Bun.sleep(1_500);
  cluster.spawn("n3");
  const r = await pending;
  expect(r.status).toBe(200);
  // It could only have been acknowledged after n3 came back.
  expect(Date.now() - started).toBeGreaterThan(1_500);
  const n3 = await cluster.sql("n3", { sql: "SELECT v FROM t WHERE v = 'needs-iad'" }, "?level=none");
  expect(n3.json.result.rows).toEqual([{ v: "needs-iad" }]);
}, 40_000);

test("sync=all waits for every voter; an unknown sync value is a 400", async () => {
  const leader = await cluster.leader();
  const r = await cluster.sql(leader, { sql: "INSERT INTO t (v) VALUES ('all')" }, "?sync=all");
  expect(r.status).toBe(200);
  const bad = await cluster.sql(leader, { sql: "INSERT INTO t (v) VALUES ('x')" }, "?sync=everyone");
  expect(bad.status).toBe(400);
  expect(bad.json.error.message).toMatch(/sync must be one of/);
});
