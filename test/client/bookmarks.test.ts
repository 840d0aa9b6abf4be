/** Sessions and bookmarks: read-your-writes from the nearest replica. */
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { createClient } from "../../src/client/index.ts";
import { FakeCluster } from "./fake-cluster.ts";
import { waitUntil } from "./wait-until.ts";

let cluster: FakeCluster;
beforeEach(async () => {
  cluster = FakeCluster.start(["n1", "n2", "n3"], "n1");
  await createClient({ url: cluster.url("n1") }).execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)");
});
afterEach(() => cluster.stop());

/** A client whose nearest node is the follower n2, reading at level none (local, possibly stale). */
const nearN2 = () => createClient({ nodes: [cluster.url("n2"), cluster.url("n1"), cluster.url("n3")], readLevel: "none" });
const n2Reads = () => cluster.node("n2").sqlRequests().filter((r) => /^SELECT/.test((r.body as { sql: string }).sql));

describe("bookmarks", () => {
  test("a write's bookmark is kept and the next read waits for it at the nearest replica", async () => {
    const client = nearN2();
    cluster.freeze("n2");
    const write = await client.execute("INSERT INTO t (v) VALUES ('mine')");
    expect(write.bookmark).toBe(String(cluster.commitIndex));
    expect(client.bookmark).toBe(write.bookmark);

    // Without the bookmark the lagging replica answers at once, without the write.
    expect(await client.session().query("SELECT v FROM t")).toEqual([]);

    const read = client.query("SELECT v FROM t");
    await waitUntil(() => n2Reads().length === 2, "the bookmarked read to reach n2");
    cluster.catchUp("n2");
    expect(await read).toEqual([{ v: "mine" }]);
    expect(n2Reads()[1]!.headers["x-quorumlite-bookmark"]).toBe(write.bookmark!);
    expect(cluster.node("n1").sqlRequests().filter((r) => /^SELECT/.test((r.body as { sql: string }).sql))).toHaveLength(0);
  });

  test("sessions are independent; a saved bookmark resumes one, also in another client", async () => {
    const client = nearN2();
    const a = client.session();
    const b = client.session();
    await a.execute("INSERT INTO t (v) VALUES ('a')");
    expect(a.bookmark).not.toBeNull();
    expect(b.bookmark).toBeNull();
    expect(client.bookmark).toBeNull();

    await b.execute("SELECT v FROM t");
    const bRead = n2Reads().at(-1)!;
    expect(bRead.headers["x-quorumlite-bookmark"]).toBeUndefined();

    cluster.freeze("n2");
    await a.execute("INSERT INTO t (v) VALUES ('a2')");
    const saved = a.bookmark!;
    const resumed = nearN2().session(saved);
    expect(resumed.bookmark).toBe(saved);
    const read = resumed.query("SELECT v FROM t ORDER BY id");
    await waitUntil(() => n2Reads().at(-1)?.headers["x-quorumlite-bookmark"] === saved, "the resumed read");
    cluster.catchUp("n2");
    expect(await read).toEqual([{ v: "a" }, { v: "a2" }]);

    const configured = createClient({ url: cluster.url("n2"), readLevel: "none", bookmark: saved });
    await configured.execute("SELECT 1");
    expect(n2Reads().at(-1)!.headers["x-quorumlite-bookmark"]).toBe(saved);
  });

  test("the bookmark only moves forward, and reads advance it (monotonic reads)", async () => {
    const client = nearN2();
    await client.execute("INSERT INTO t (v) VALUES ('x')");
    const afterWrite = client.bookmark!;
    await client.execute("INSERT INTO t (v) VALUES ('y')", {});
    const later = client.bookmark!;
    expect(BigInt(later)).toBeGreaterThan(BigInt(afterWrite));

    const old = client.session(afterWrite);
    await old.execute("SELECT * FROM t"); // n2 is caught up: it read at the newer index
    expect(old.bookmark).toBe(later);
  });

  test("a read that cannot reach its bookmark in time moves to another node", async () => {
    const client = nearN2();
    cluster.bookmarkWaitMs = 20;
    cluster.freeze("n2");
    await client.execute("INSERT INTO t (v) VALUES ('z')");
    expect(await client.query("SELECT v FROM t")).toEqual([{ v: "z" }]);
    expect(n2Reads()).toHaveLength(1);
  });

  test("writes do not carry the bookmark; reads do", async () => {
    const client = nearN2();
    await client.execute("INSERT INTO t (v) VALUES ('1')");
    await client.execute("INSERT INTO t (v) VALUES ('2')");
    const writes = cluster.node("n1").sqlRequests().filter((r) => /^INSERT/.test((r.body as { sql: string }).sql));
    expect(writes).toHaveLength(2);
    for (const w of writes) expect(w.headers["x-quorumlite-bookmark"]).toBeUndefined();
  });
});
