/**
 * quorumlite/client and quorumlite/drizzle against a real 3-node cluster
 * (child processes via test/support/cluster.ts), always connected through a
 * follower. Slower than the rest of test/client (QL_SKIP_CLUSTER_TESTS=1 skips it).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { resolve } from "node:path";
import { createClient as createLibsqlClient } from "@libsql/client";
import { eq, sql } from "drizzle-orm";
import { drizzle as drizzleLibsql } from "drizzle-orm/libsql";
import { createClient, QuorumliteError } from "../../src/client/index.ts";
import { drizzle, migrate } from "../../src/client/drizzle.ts";
import * as schema from "../../examples/schema.ts";
import { createApp } from "../../examples/app.ts";
import { TestCluster } from "../support/cluster.ts";

// Real processes: part of the default suite; QL_SKIP_CLUSTER_TESTS=1 leaves them out for a quick loop.
const enabled = process.env.QL_SKIP_CLUSTER_TESTS !== "1";
const migrationsFolder = resolve(import.meta.dir, "../../drizzle");
const { users, posts } = schema;

describe.skipIf(!enabled)("against a real cluster", () => {
  let cluster: TestCluster;
  let leader: string;
  let followers: string[];

  beforeAll(async () => {
    cluster = await TestCluster.start({ nodes: 3 });
    leader = await cluster.waitForLeader();
    followers = cluster.specs.map((s) => s.id).filter((id) => id !== leader);
  }, 60_000);
  afterAll(() => cluster?.stop());

  /** A client whose nearest node is a follower. */
  const viaFollower = (i = 0, options: Parameters<typeof createClient>[0] = {}) =>
    createClient({ nodes: [cluster.url(followers[i]!), ...cluster.specs.map((s) => cluster.url(s.id))], ...options });

  test("every value type round-trips exactly", async () => {
    const client = viaFollower();
    await client.execute("CREATE TABLE vals (i INTEGER, big INTEGER, f REAL, t TEXT, b BLOB, n ANY)");
    const blob = new Uint8Array([0, 1, 2, 253, 254, 255]);
    await client.execute({ sql: "INSERT INTO vals VALUES (?, ?, ?, ?, ?, ?)", args: [7, 2n ** 62n + 1n, 0.5, "héllo 🌍", blob, null] });
    const rs = await client.execute("SELECT * FROM vals");
    expect(rs.rowsArray[0]).toEqual([7, 2n ** 62n + 1n, 0.5, "héllo 🌍", blob, null]);
    const typed = await createClient({ url: cluster.url(followers[0]!), intMode: "bigint" }).execute("SELECT 1.0 AS f, 1 AS i");
    expect(typed.rows[0]).toEqual({ f: 1, i: 1n });
  });

  test("a write through one follower, then a read with its bookmark at the other follower, sees the write", async () => {
    const writer = viaFollower(0, { readLevel: "none" });
    await writer.execute("CREATE TABLE ryw (v TEXT)");
    await writer.execute({ sql: "INSERT INTO ryw VALUES (?)", args: ["seen"] });
    const reader = viaFollower(1, { readLevel: "none" }).session(writer.bookmark);
    expect(await reader.query("SELECT v FROM ryw")).toEqual([{ v: "seen" }]);
  });

  test("SQL errors carry SQLite's code and statement index; a failed transactional batch leaves nothing", async () => {
    const client = viaFollower();
    await client.execute("CREATE TABLE pk (id INTEGER PRIMARY KEY)");
    const err = await client.batch(["INSERT INTO pk VALUES (1)", "INSERT INTO pk VALUES (1)"]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(QuorumliteError);
    expect((err as QuorumliteError).code).toBe("SQLITE_CONSTRAINT_PRIMARYKEY");
    expect((err as QuorumliteError).statementIndex).toBe(1);
    expect(await client.query("SELECT * FROM pk", { readLevel: "linearizable" })).toEqual([]);
  });

  test("interactive transaction: reads its own writes, commits once, rollback discards", async () => {
    const client = viaFollower();
    await client.execute("CREATE TABLE itx (v TEXT)");
    const tx = await client.transaction();
    await tx.execute("INSERT INTO itx VALUES ('a')");
    expect((await tx.execute("SELECT count(*) AS n FROM itx")).rows).toEqual([{ n: 1 }]);
    await tx.commit();
    const rolled = await client.transaction();
    await rolled.execute("INSERT INTO itx VALUES ('b')");
    await rolled.rollback();
    expect(await client.query("SELECT v FROM itx")).toEqual([{ v: "a" }]);
  });

  test("quorumlite/drizzle: migrations once, CRUD with returning, db.batch", async () => {
    const client = viaFollower();
    const db = drizzle(client, { schema });
    await Promise.all([migrate(db, { migrationsFolder }), migrate(drizzle(viaFollower(1)), { migrationsFolder })]);
    await migrate(db, { migrationsFolder });
    expect(await client.query('SELECT count(*) AS n FROM "__drizzle_migrations"')).toEqual([{ n: 2 }]);

    const [alice] = await db.insert(users).values({ name: "Alice", email: "alice@example.com" }).returning();
    expect(alice!.id).toBeNumber();
    await db.update(users).set({ karma: 2.5 }).where(eq(users.id, alice!.id));
    const [inserted, counted] = await db.batch([
      db.insert(posts).values({ authorId: alice!.id, title: "one" }).returning({ id: posts.id }),
      db.select({ n: sql<number>`count(*)` }).from(posts),
    ]);
    expect(inserted).toHaveLength(1);
    expect(counted).toEqual([{ n: 1 }]);
    const [temp] = await db.insert(posts).values({ authorId: alice!.id, title: "temp" }).returning();
    const deleted = await db.delete(posts).where(eq(posts.id, temp!.id)).returning({ title: posts.title });
    expect(deleted).toEqual([{ title: "temp" }]);
    expect(await db.$count(posts)).toBe(1);
  });

  test("quorumlite/drizzle: db.transaction over a Hrana stream, with a nested rollback", async () => {
    const client = viaFollower();
    const db = drizzle(client, { schema });
    const alice = await db.query.users.findFirst({ where: eq(users.email, "alice@example.com") });
    const total = await db.transaction(async (tx) => {
      await tx.insert(posts).values({ authorId: alice!.id, title: "two" });
      await expect(
        tx.transaction(async (inner) => {
          await inner.insert(posts).values({ authorId: alice!.id, title: "never" });
          throw new Error("roll back the savepoint");
        }),
      ).rejects.toThrow("roll back the savepoint");
      return tx.$count(posts);
    });
    expect(total).toBe(2);
    const titles = (await db.select({ title: posts.title }).from(posts).orderBy(posts.id)).map((p) => p.title);
    expect(titles).toEqual(["one", "two"]);
    const found = await db.query.users.findFirst({ where: eq(users.id, alice!.id), with: { posts: true } });
    expect(found!.karma).toBe(2.5);
    expect(found!.posts).toHaveLength(2);
    await db.delete(posts).where(eq(posts.title, "one"));
    expect(await db.$count(posts)).toBe(1);
  });

  test("drizzle-orm/libsql sees what quorumlite/drizzle wrote (same schema, same migrations table)", async () => {
    const libsql = drizzleLibsql(createLibsqlClient({ url: cluster.url(followers[1]!) }), { schema });
    const rows = await libsql.select({ name: users.name }).from(users).where(eq(users.email, "alice@example.com"));
    expect(rows).toEqual([{ name: "Alice" }]);
  });

  test("the example app works through both doors", async () => {
    const app = createApp({ nodes: [cluster.url(followers[0]!)], libsqlUrl: cluster.url(followers[1]!) });
    expect((await app.request("/migrate", { method: "POST" })).status).toBe(200);
    const viaLibsql = await app.request("/users?door=libsql", { method: "POST", body: JSON.stringify({ name: "Lib", email: "lib@example.com" }) });
    expect(viaLibsql.status).toBe(201);
    const viaQuorumlite = await app.request("/users", { method: "POST", body: JSON.stringify({ name: "Ql", email: "ql@example.com" }) });
    expect(viaQuorumlite.status).toBe(201);
    const listed = (await (await app.request("/users", { headers: { "x-quorumlite-bookmark": viaQuorumlite.headers.get("x-quorumlite-bookmark")! } })).json()) as { name: string }[];
    expect(listed.map((u) => u.name)).toEqual(expect.arrayContaining(["Lib", "Ql"]));
  });

  // Last: it kills the leader.
  test("the leader is killed during a stream of writes: every acknowledged write is there exactly once", async () => {
    const client = viaFollower(0, { retries: 40 });
    await client.execute("CREATE TABLE stream (k INTEGER)");
    const acknowledged: number[] = [];
    const failed: number[] = [];
    let killed = false;
    for (let k = 0; k < 60; k++) {
      if (k === 20) {
        killed = true;
        void cluster.kill(leader);
      }
      try {
        await client.execute({ sql: "INSERT INTO stream (k) VALUES (?)", args: [k] });
        acknowledged.push(k);
      } catch (err) {
        failed.push(k);
      }
    }
    expect(killed).toBe(true);
    expect(failed).toEqual([]);
    const rows = await client.query<{ k: number; n: number }>("SELECT k, count(*) AS n FROM stream GROUP BY k ORDER BY k", { readLevel: "linearizable" });
    expect(rows.filter((r) => r.n !== 1)).toEqual([]);
    expect(rows.map((r) => r.k)).toEqual(acknowledged);
    expect(await client.discover()).not.toBe(cluster.url(leader));
  }, 60_000);
});
