/** Leader changes and refusals: re-discover, retry with the same request id, never apply twice. */
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { createClient, QuorumliteError } from "../../src/client/index.ts";
import { FakeCluster } from "./fake-cluster.ts";

let cluster: FakeCluster;
beforeEach(async () => {
  cluster = FakeCluster.start(["n1", "n2", "n3"], "n1");
  await createClient({ url: cluster.url("n1") }).execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)");
  for (const node of cluster.nodes) node.requests.length = 0;
});
afterEach(() => cluster.stop());

const requestIds = (id: string) => cluster.node(id).sqlRequests().map((r) => r.headers["x-quorumlite-request-id"]);

describe("retries", () => {
  test("a 503 during an election is retried with the same request id", async () => {
    const client = createClient({ nodes: [cluster.url("n2")] });
    cluster.node("n1").faults.push({ kind: "unavailable" });
    const rs = await client.execute({ sql: "INSERT INTO t (v) VALUES (?)", args: ["once"] });

    const ids = requestIds("n1");
    expect(ids).toHaveLength(2);
    expect(ids[0]).toBeString();
    expect(ids[1]).toBe(ids[0]);
    expect(rs.rowsAffected).toBe(1);
    expect(cluster.rows("SELECT v FROM t")).toEqual([{ v: "once" }]);
  });

  test("every logical write gets its own request id", async () => {
    const client = createClient({ url: cluster.url("n1") });
    await client.execute("INSERT INTO t (v) VALUES ('a')");
    await client.execute("INSERT INTO t (v) VALUES ('a')");
    const ids = requestIds("n1");
    expect(ids).toHaveLength(2);
    expect(ids[0]).not.toBe(ids[1]);
    expect(cluster.rows("SELECT count(*) AS n FROM t")).toEqual([{ n: 2n }]);
  });

  test("the leader dies after applying a write: the retry reaches the new leader and returns the first outcome", async () => {
    const client = createClient({ nodes: [cluster.url("n3")] });
    await client.execute("INSERT INTO t (v) VALUES ('before')");
    cluster.node("n1").faults.push({ kind: "crash-after-apply", successor: "n2" });

    const rs = await client.execute({ sql: "INSERT INTO t (v) VALUES (?)", args: ["during"] });

    const [, firstTry] = requestIds("n1");
    expect(requestIds("n2")).toEqual([firstTry]);
    expect(rs.lastInsertRowid).toBe(2);
    expect(cluster.leaderId).toBe("n2");
    expect(cluster.rows("SELECT v FROM t ORDER BY id")).toEqual([{ v: "before" }, { v: "during" }]);

    await client.execute("INSERT INTO t (v) VALUES ('after')");
    expect(requestIds("n2")).toHaveLength(2);
    expect(cluster.rows("SELECT count(*) AS n FROM t")).toEqual([{ n: 3n }]);
  });

  test("a node that answers not-leader makes the client re-discover and go to the new leader", async () => {
    const client = createClient({ nodes: [cluster.url("n3")] });
    await client.execute("INSERT INTO t (v) VALUES ('a')");
    cluster.elect("n2");
    cluster.node("n1").faults.push({ kind: "not-leader" });

    await client.execute("INSERT INTO t (v) VALUES ('b')");

    const [, stale] = requestIds("n1");
    expect(requestIds("n2")).toEqual([stale]);
    expect(cluster.rows("SELECT v FROM t ORDER BY id")).toEqual([{ v: "a" }, { v: "b" }]);
  });

  test("a refusal that names the leader is followed without asking /status", async () => {
    const client = createClient({ url: cluster.url("n1") });
    await client.execute("INSERT INTO t (v) VALUES ('a')");
    const statusCalls = () => cluster.nodes.flatMap((n) => n.requests).filter((r) => r.path === "/status").length;
    const before = statusCalls();
    cluster.elect("n2");
    cluster.node("n1").intercept = async (req, next) =>
      req.method === "POST"
        ? new Response(JSON.stringify({ success: false, error: { message: "not leader", code: "not-leader", leader: cluster.url("n2") } }), {
            status: 503,
            headers: { "content-type": "application/json", "retry-after": "0" },
          })
        : next();
    await client.execute("INSERT INTO t (v) VALUES ('b')");
    expect(statusCalls()).toBe(before);
    expect(requestIds("n2")).toHaveLength(1);
  });

  test("SQL errors are not retried and carry SQLite's code and the statement index", async () => {
    const client = createClient({ url: cluster.url("n1") });
    await client.execute("INSERT INTO t (id, v) VALUES (1, 'a')");
    const err = await client.execute("INSERT INTO t (id, v) VALUES (1, 'dup')").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(QuorumliteError);
    expect((err as QuorumliteError).code).toBe("SQLITE_CONSTRAINT_PRIMARYKEY");
    expect((err as QuorumliteError).statementIndex).toBe(0);
    expect((err as QuorumliteError).status).toBe(400);
    expect(requestIds("n1")).toHaveLength(2);
  });

  test("with every node down the client gives up with QUORUMLITE_UNAVAILABLE", async () => {
    const client = createClient({ nodes: cluster.nodes.map((n) => n.url), retries: 3 });
    for (const node of cluster.nodes) cluster.kill(node.id);
    const err = await client.execute("INSERT INTO t (v) VALUES ('x')").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(QuorumliteError);
    expect((err as QuorumliteError).code).toBe("QUORUMLITE_UNAVAILABLE");
  });

  test("a timed-out attempt is retried with the same request id", async () => {
    const client = createClient({ url: cluster.url("n1"), timeoutMs: 200 });
    let stalls = 1;
    cluster.node("n1").intercept = async (req, next) => {
      const response = await next();
      // The write is applied, but the answer comes too late for the first attempt.
      if (req.method === "POST" && stalls-- > 0) await Bun.sleep(1000);
      return response;
    };
    await client.execute("INSERT INTO t (v) VALUES ('slow')");
    // The retry may go through a follower (which forwards) while the slow leader is suspect.
    const ids = cluster.nodes.flatMap((n) => requestIds(n.id));
    expect(ids).toHaveLength(2);
    expect(ids[1]).toBe(ids[0]);
    expect(cluster.rows("SELECT v FROM t")).toEqual([{ v: "slow" }]);
  });
});
