/** Leader discovery and routing: writes straight to the leader, reads to the preferred node. */
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { createClient } from "../../src/client/index.ts";
import { FakeCluster } from "./fake-cluster.ts";

let cluster: FakeCluster;
beforeEach(() => {
  cluster = FakeCluster.start(["n1", "n2", "n3"], "n1");
});
afterEach(() => cluster.stop());

describe("routing", () => {
  test("learns the leader from /status of a seed that is not the leader and writes straight to it", async () => {
    const client = createClient({ nodes: [cluster.url("n2"), cluster.url("n3")] });
    await client.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)");
    await client.execute({ sql: "INSERT INTO t (v) VALUES (?)", args: ["a"] });

    expect(cluster.node("n1").sqlRequests().map((r) => (r.body as { sql: string }).sql)).toEqual([
      "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)",
      "INSERT INTO t (v) VALUES (?)",
    ]);
    expect(cluster.node("n2").sqlRequests()).toHaveLength(0);
    expect(cluster.node("n2").requests.some((r) => r.path === "/status")).toBe(true);
    expect(client.nodes).toContain(cluster.url("n1"));
  });

  test("reads go to the first node, or to `preferred`, with the chosen level", async () => {
    const client = createClient({ nodes: [cluster.url("n2"), cluster.url("n3")], readLevel: "none" });
    await client.execute("CREATE TABLE t (id INTEGER PRIMARY KEY)");
    await client.execute("SELECT * FROM t");
    const reads = cluster.node("n2").sqlRequests();
    expect(reads).toHaveLength(1);
    expect(reads[0]!.headers["x-quorumlite-level"]).toBe("none");
    expect(cluster.node("n1").sqlRequests()).toHaveLength(1); // only the CREATE

    const other = createClient({ nodes: [cluster.url("n2"), cluster.url("n3")], preferred: cluster.url("n3") });
    await other.execute("SELECT * FROM t", { readLevel: "strong" });
    expect(cluster.node("n3").sqlRequests()).toHaveLength(1);
    expect(cluster.node("n3").sqlRequests()[0]!.headers["x-quorumlite-level"]).toBe("strong");
  });

  test("a statement that is not plainly a read goes to the leader", async () => {
    const client = createClient({ url: cluster.url("n2") });
    await client.execute("CREATE TABLE t (id INTEGER PRIMARY KEY)");
    await client.execute("INSERT INTO t (id) VALUES (1) RETURNING id");
    await client.batch(["SELECT 1", "INSERT INTO t (id) VALUES (2)"]);
    expect(cluster.node("n1").sqlRequests()).toHaveLength(3);
    expect(cluster.node("n2").sqlRequests()).toHaveLength(0);
  });

  test("reads move on to another node when the preferred one is down", async () => {
    const client = createClient({ nodes: [cluster.url("n2"), cluster.url("n3")], readLevel: "none" });
    await client.execute("CREATE TABLE t (id INTEGER PRIMARY KEY)");
    cluster.kill("n2");
    const rs = await client.execute("SELECT count(*) AS n FROM t");
    expect(rs.rows).toEqual([{ n: 0 }]);
    // The next member in order (n3) serves it; the leader only ever saw the CREATE.
    expect(cluster.node("n3").sqlRequests()).toHaveLength(1);
    expect(cluster.node("n1").sqlRequests()).toHaveLength(1);
  });

  test("sync and freshness options travel as headers", async () => {
    const client = createClient({ url: cluster.url("n1"), sync: "all", readLevel: "none", freshnessMs: 250 });
    await client.execute("CREATE TABLE t (id INTEGER PRIMARY KEY)");
    await client.execute("SELECT * FROM t");
    await client.execute("INSERT INTO t VALUES (1)", { sync: "remote-region" });
    const [create, read, insert] = cluster.node("n1").sqlRequests();
    expect(create!.headers["x-quorumlite-sync"]).toBe("all");
    expect(read!.headers["x-quorumlite-freshness"]).toBe("250ms");
    expect(insert!.headers["x-quorumlite-sync"]).toBe("remote-region");
  });

  test("authToken is sent as a bearer token to /status and /sql", async () => {
    const client = createClient({ url: cluster.url("n2"), authToken: "s3cret" });
    await client.execute("CREATE TABLE t (id INTEGER PRIMARY KEY)");
    const seen = [...cluster.node("n2").requests, ...cluster.node("n1").requests];
    expect(seen.length).toBeGreaterThan(1);
    for (const r of seen) expect(r.headers.authorization).toBe("Bearer s3cret");
  });

  test("createClient refuses a config without url or nodes", () => {
    expect(() => createClient({})).toThrow(TypeError);
  });
});
