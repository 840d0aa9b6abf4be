/** Batches (one request, one log entry) and interactive transactions (Hrana streams on the leader). */
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { createClient, QuorumliteError, type Client } from "../../src/client/index.ts";
import { FakeCluster } from "./fake-cluster.ts";
import { waitUntil } from "./wait-until.ts";

let cluster: FakeCluster;
let client: Client;
beforeEach(async () => {
  cluster = FakeCluster.start(["n1", "n2", "n3"], "n1");
  client = createClient({ nodes: [cluster.url("n2")], readLevel: "none" });
  await client.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)");
});
afterEach(() => cluster.stop());

const values = () => cluster.rows("SELECT v FROM t ORDER BY id").map((r) => (r as { v: string }).v);

describe("batch", () => {
  test("is one request with transaction: true by default, one result per statement", async () => {
    const before = cluster.node("n1").sqlRequests().length;
    const results = await client.batch([
      { sql: "INSERT INTO t (v) VALUES (?)", args: ["a"] },
      { sql: "INSERT INTO t (v) VALUES (?)", args: ["b"] },
      "SELECT count(*) AS n FROM t",
    ]);
    const requests = cluster.node("n1").sqlRequests().slice(before);
    expect(requests).toHaveLength(1);
    expect((requests[0]!.body as { transaction: boolean }).transaction).toBe(true);
    expect(results.map((r) => r.lastInsertRowid)).toEqual([1, 2, 0]);
    expect(results[2]!.rows).toEqual([{ n: 2 }]);
    expect(new Set(results.map((r) => r.bookmark)).size).toBe(1);
  });

  test("a failing statement rolls the whole transactional batch back and names its index", async () => {
    const err = await client
      .batch(["INSERT INTO t (id, v) VALUES (1, 'a')", "INSERT INTO t (id, v) VALUES (1, 'dup')"])
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(QuorumliteError);
    expect((err as QuorumliteError).code).toBe("SQLITE_CONSTRAINT_PRIMARYKEY");
    expect((err as QuorumliteError).statementIndex).toBe(1);
    expect(values()).toEqual([]);
  });

  test("without transaction, statements before the failure stay and the session still learns the bookmark", async () => {
    const err = await client
      .batch(["INSERT INTO t (id, v) VALUES (1, 'a')", "INSERT INTO t (id, v) VALUES (1, 'dup')", "INSERT INTO t (v) VALUES ('never')"], {
        transaction: false,
      })
      .catch((e: unknown) => e);
    expect((err as QuorumliteError).statementIndex).toBe(1);
    expect(values()).toEqual(["a"]);
    expect(client.bookmark).toBe(String(cluster.commitIndex));
  });

  test("an all-read batch goes to the nearest node", async () => {
    await client.batch(["SELECT 1", "SELECT count(*) FROM t"]);
    expect(cluster.node("n2").sqlRequests()).toHaveLength(1);
  });

  test("an empty batch sends nothing", async () => {
    const before = cluster.nodes.reduce((n, node) => n + node.sqlRequests().length, 0);
    expect(await client.batch([])).toEqual([]);
    expect(cluster.nodes.reduce((n, node) => n + node.sqlRequests().length, 0)).toBe(before);
  });
});

describe("interactive transactions", () => {
  test("reads inside see the transaction's own writes; commit makes them visible and moves the bookmark", async () => {
    const before = client.bookmark!;
    const tx = await client.transaction();
    await tx.execute({ sql: "INSERT INTO t (v) VALUES (?)", args: ["in-tx"] });
    const inside = await tx.execute("SELECT v FROM t");
    expect(inside.rows).toEqual([{ v: "in-tx" }]);
    await tx.commit();
    expect(tx.closed).toBe(true);
    expect(values()).toEqual(["in-tx"]);
    expect(BigInt(client.bookmark!)).toBeGreaterThan(BigInt(before));
    expect(tx.bookmark).toBe(client.bookmark);

    const pipelines = cluster.node("n1").requests.filter((r) => r.path === "/v2/pipeline");
    expect(pipelines.length).toBeGreaterThanOrEqual(3);
    expect((pipelines[0]!.body as { baton: unknown }).baton).toBeNull();
    expect((pipelines[1]!.body as { baton: unknown }).baton).toBeString();
    expect(cluster.streams.size).toBe(0);
  });

  test("a node that sends no bookmark with COMMIT: the session takes the leader's commit index instead", async () => {
    cluster.pipelineBookmarks = false;
    cluster.bookmarkWaitMs = 20;
    cluster.freeze("n2");
    const tx = await client.transaction();
    await tx.execute("INSERT INTO t (v) VALUES ('x')");
    await tx.commit();
    expect(client.bookmark).toBe(String(cluster.commitIndex));
    // Without a bookmark the frozen nearest node would answer [] at once.
    expect(await client.query("SELECT v FROM t")).toEqual([{ v: "x" }]);
  });

  test("rollback discards everything; the transaction refuses further statements", async () => {
    const tx = await client.transaction("write");
    await tx.execute("INSERT INTO t (v) VALUES ('gone')");
    await tx.rollback();
    expect(values()).toEqual([]);
    expect(() => tx.execute("SELECT 1")).toThrow(QuorumliteError);
    await tx.rollback();
  });

  test("a failed statement keeps the transaction usable, with SQLite's code", async () => {
    await client.execute("INSERT INTO t (id, v) VALUES (1, 'a')");
    const tx = await client.transaction();
    const err = await tx.execute("INSERT INTO t (id, v) VALUES (1, 'dup')").catch((e: unknown) => e);
    expect((err as QuorumliteError).code).toBe("SQLITE_CONSTRAINT_PRIMARYKEY");
    await tx.execute("INSERT INTO t (id, v) VALUES (2, 'b')");
    await tx.commit();
    expect(values()).toEqual(["a", "b"]);
  });

  test("batch inside a transaction stops at the first failure", async () => {
    const tx = await client.transaction();
    const err = await tx.batch(["INSERT INTO t (id, v) VALUES (5, 'x')", "INSERT INTO t (id, v) VALUES (5, 'y')", "INSERT INTO t (v) VALUES ('z')"]).catch((e: unknown) => e);
    expect((err as QuorumliteError).statementIndex).toBe(1);
    const ok = await tx.batch([{ sql: "INSERT INTO t (v) VALUES (?)", args: ["w"] }, "SELECT count(*) AS n FROM t"]);
    expect(ok[1]!.rows).toEqual([{ n: 2 }]);
    await tx.commit();
    expect(values()).toEqual(["x", "w"]);
  });

  test("a stream the server lost fails with QUORUMLITE_STREAM_LOST and commits nothing", async () => {
    const tx = await client.transaction();
    await tx.execute("INSERT INTO t (v) VALUES ('lost')");
    cluster.streams.clear();
    cluster.leader!.db.run("ROLLBACK");
    const err = await tx.execute("SELECT 1").catch((e: unknown) => e);
    expect((err as QuorumliteError).code).toBe("QUORUMLITE_STREAM_LOST");
    expect(tx.closed).toBe(true);
    await tx.rollback();
    expect(values()).toEqual([]);
  });

  test("opening a transaction waits out an election", async () => {
    cluster.elect(null);
    const opening = client.transaction();
    await waitUntil(() => cluster.node("n1").requests.some((r) => r.path === "/v2/pipeline"), "a refused attempt at the old leader");
    cluster.elect("n3");
    const tx = await opening;
    await tx.execute("INSERT INTO t (v) VALUES ('new leader')");
    await tx.commit();
    expect(cluster.node("n3").requests.some((r) => r.path === "/v2/pipeline")).toBe(true);
    expect(values()).toEqual(["new leader"]);
  });

  test("a read transaction runs on the nearest node as BEGIN TRANSACTION READONLY", async () => {
    await client.execute("INSERT INTO t (v) VALUES ('r')");
    cluster.elect("n2"); // the fake serves streams on its leader only; make the nearest node lead
    const tx = await client.transaction("read");
    expect(tx.mode).toBe("read");
    expect((await tx.execute("SELECT v FROM t")).rows).toEqual([{ v: "r" }]);
    await tx.commit();
    const first = cluster.node("n2").requests.find((r) => r.path === "/v2/pipeline")!;
    expect((first.body as { requests: { stmt: { sql: string } }[] }).requests[0]!.stmt.sql).toBe("BEGIN TRANSACTION READONLY");
  });
});
