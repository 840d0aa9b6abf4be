/** quorumlite/drizzle against the fake cluster, with the example schema and its drizzle-kit migrations. */
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { resolve } from "node:path";
import { eq, sql } from "drizzle-orm";
import { TransactionRollbackError } from "drizzle-orm";
import { createClient, QuorumliteError, type Client } from "../../src/client/index.ts";
import { drizzle, migrate, type QuorumliteDatabase } from "../../src/client/drizzle.ts";
import * as schema from "../../examples/schema.ts";
import { FakeCluster } from "./fake-cluster.ts";
import { waitUntil } from "./wait-until.ts";

const { users, posts } = schema;
const migrationsFolder = resolve(import.meta.dir, "../../drizzle");

let cluster: FakeCluster;
let client: Client;
let db: QuorumliteDatabase<typeof schema>;

beforeEach(() => {
  cluster = FakeCluster.start(["n1", "n2", "n3"], "n1");
  client = createClient({ nodes: [cluster.url("n2")], readLevel: "none" });
  db = drizzle(client, { schema });
});
afterEach(() => cluster.stop());

const writesToLeader = () => cluster.node("n1").sqlRequests().filter((r) => !/^\s*SELECT/i.test(String((r.body as { sql?: string }).sql ?? "")));

describe("migrate", () => {
  test("applies every drizzle-kit migration in one atomic request through the leader, and only once", async () => {
    await migrate(db, { migrationsFolder });
    const applied = cluster.rows('SELECT hash, created_at FROM "__drizzle_migrations" ORDER BY created_at');
    expect(applied).toHaveLength(2);
    const batches = writesToLeader();
    expect(batches).toHaveLength(1);
    expect((batches[0]!.body as { transaction: boolean }).transaction).toBe(true);
    expect(cluster.rows("SELECT name FROM pragma_table_info('users') WHERE name = 'bio'")).toEqual([{ name: "bio" }]);

    await migrate(db, { migrationsFolder });
    expect(writesToLeader()).toHaveLength(1);
    expect(cluster.rows('SELECT count(*) AS n FROM "__drizzle_migrations"')).toEqual([{ n: 2n }]);
  });

  test("concurrent migrators: exactly one applies, the others find nothing left to do", async () => {
    const others = [0, 1, 2].map(() => drizzle(createClient({ nodes: [cluster.url("n3")] })));
    // Hold every migration batch at the leader until all four migrators have sent theirs,
    // so all of them decided from the same empty history and the guard must settle it.
    let held = 0;
    const release = Promise.withResolvers<void>();
    cluster.node("n1").intercept = async (req, next) => {
      if (req.method === "POST" && new URL(req.url).pathname === "/sql" && (await req.clone().text()).includes('"statements"')) {
        if (++held === 4) release.resolve();
        await release.promise;
      }
      return next();
    };
    await Promise.all([migrate(db, { migrationsFolder }), ...others.map((d) => migrate(d, { migrationsFolder }))]);
    expect(held).toBe(4);
    expect(cluster.rows('SELECT count(*) AS n FROM "__drizzle_migrations"')).toEqual([{ n: 2n }]);
    expect(cluster.rows("SELECT count(*) AS n FROM sqlite_master WHERE name IN ('users', 'posts')")).toEqual([{ n: 2n }]);
  });

  test("a database with the first migration applies only the second", async () => {
    const { readMigrationFiles } = await import("drizzle-orm/migrator");
    const [first] = readMigrationFiles({ migrationsFolder });
    await client.batch([
      'CREATE TABLE "__drizzle_migrations" (id SERIAL PRIMARY KEY, hash text NOT NULL, created_at numeric)',
      ...first!.sql,
      { sql: 'INSERT INTO "__drizzle_migrations" (hash, created_at) VALUES (?, ?)', args: [first!.hash, first!.folderMillis] },
    ]);
    await migrate(client, { migrationsFolder });
    expect(cluster.rows('SELECT count(*) AS n FROM "__drizzle_migrations"')).toEqual([{ n: 2n }]);
    expect(cluster.rows("SELECT name FROM pragma_table_info('users') WHERE name = 'bio'")).toEqual([{ name: "bio" }]);
  });

  test("a failing migration leaves nothing behind", async () => {
    await client.execute("CREATE TABLE posts (x)"); // collides with the first migration
    const err = await migrate(db, { migrationsFolder }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(QuorumliteError);
    expect(cluster.rows("SELECT name FROM sqlite_master WHERE name IN ('users', '__drizzle_migrations')")).toEqual([]);
  });
});

describe("queries", () => {
  beforeEach(() => migrate(db, { migrationsFolder }));

  test("insert … returning, select, update, delete, relational queries", async () => {
    const [alice] = await db.insert(users).values({ name: "Alice", email: "alice@example.com", karma: 1.5, avatar: Buffer.from([1, 2, 3]) }).returning();
    expect(alice!.id).toBe(1);
    expect(alice!.karma).toBe(1.5);
    expect(alice!.createdAt).toBeInstanceOf(Date);
    await db.insert(posts).values([
      { authorId: alice!.id, title: "first", published: true },
      { authorId: alice!.id, title: "draft" },
    ]);

    const found = await db.select().from(users).where(eq(users.email, "alice@example.com"));
    expect(found).toHaveLength(1);
    expect(new Uint8Array(found[0]!.avatar!)).toEqual(new Uint8Array([1, 2, 3]));

    const updated = await db.update(posts).set({ views: sql`${posts.views} + 1` }).where(eq(posts.published, true)).returning({ id: posts.id, views: posts.views });
    expect(updated).toEqual([{ id: 1, views: 1 }]);

    const withPosts = await db.query.users.findFirst({ with: { posts: { orderBy: posts.id } } });
    expect(withPosts!.posts.map((p) => [p.title, p.published])).toEqual([
      ["first", true],
      ["draft", false],
    ]);

    await db.delete(posts).where(eq(posts.title, "draft"));
    expect(await db.$count(posts)).toBe(1);
    expect(await db.select().from(users).where(eq(users.id, 99)).get()).toBeUndefined();
  });

  test("reads inside the db use the session: a read right after a write sees it at a lagging follower", async () => {
    cluster.freeze("n2");
    await db.insert(users).values({ name: "Bob", email: "bob@example.com" });
    const readsAtN2 = cluster.node("n2").sqlRequests().length;
    const reading = db.select({ name: users.name }).from(users).all();
    await waitUntil(() => cluster.node("n2").sqlRequests().length > readsAtN2, "the read to reach n2");
    cluster.catchUp("n2");
    expect(await reading).toEqual([{ name: "Bob" }]);
    const read = cluster.node("n2").sqlRequests().at(-1)!;
    expect(read.headers["x-quorumlite-bookmark"]).toBe(client.bookmark!);
  });

  test("constraint errors surface with their SQLite code", async () => {
    await db.insert(users).values({ name: "A", email: "same@example.com" });
    const err = await db.insert(users).values({ name: "B", email: "same@example.com" }).catch((e: unknown) => e);
    const cause = (err as Error).cause;
    expect(cause).toBeInstanceOf(QuorumliteError);
    expect((cause as QuorumliteError).code).toBe("SQLITE_CONSTRAINT_UNIQUE");
  });

  test("db.batch is ONE /sql request with transaction: true, and all-or-nothing", async () => {
    const before = writesToLeader().length;
    const [inserted, count] = await db.batch([
      db.insert(users).values({ name: "C", email: "c@example.com" }).returning({ id: users.id }),
      db.select({ n: sql<number>`count(*)` }).from(users),
    ]);
    expect(inserted).toEqual([{ id: 1 }]);
    expect(count).toEqual([{ n: 1 }]);
    const requests = writesToLeader().slice(before);
    expect(requests).toHaveLength(1);
    expect((requests[0]!.body as { transaction: boolean; statements: unknown[] }).transaction).toBe(true);
    expect((requests[0]!.body as { statements: unknown[] }).statements).toHaveLength(2);

    const err = await db
      .batch([db.insert(users).values({ name: "D", email: "d@example.com" }), db.insert(users).values({ name: "C again", email: "c@example.com" })])
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(QuorumliteError);
    expect((err as QuorumliteError).statementIndex).toBe(1);
    expect(cluster.rows("SELECT name FROM users ORDER BY id")).toEqual([{ name: "C" }]);
  });

  test("db.transaction runs on one stream on the leader; a nested rollback undoes only its savepoint", async () => {
    const result = await db.transaction(async (tx) => {
      await tx.insert(users).values({ name: "Outer", email: "outer@example.com" });
      const seen = await tx.select({ name: users.name }).from(users);
      expect(seen).toEqual([{ name: "Outer" }]);
      const nested = tx.transaction(async (inner) => {
        await inner.insert(users).values({ name: "Inner", email: "inner@example.com" });
        expect(await inner.$count(users)).toBe(2);
        throw new Error("undo inner");
      });
      await expect(nested).rejects.toThrow("undo inner");
      return tx.$count(users);
    });
    expect(result).toBe(1);
    expect(cluster.rows("SELECT name FROM users")).toEqual([{ name: "Outer" }]);
    const sqls = cluster
      .node("n1")
      .requests.filter((r) => r.path === "/v2/pipeline")
      .flatMap((r) => (r.body as { requests: { stmt?: { sql: string } }[] }).requests.map((q) => q.stmt?.sql ?? "<close>"));
    expect(sqls[0]).toBe("begin");
    expect(sqls).toContain("savepoint sp0");
    expect(sqls).toContain("rollback to savepoint sp0");
    expect(sqls.at(-2)).toBe("commit");
    expect(sqls.at(-1)).toBe("<close>");
    expect(cluster.streams.size).toBe(0);
    expect(client.bookmark).toBe(String(cluster.commitIndex));
  });

  test("tx.rollback() and thrown errors roll the whole transaction back", async () => {
    await expect(
      db.transaction(async (tx) => {
        await tx.insert(users).values({ name: "Nope", email: "nope@example.com" });
        tx.rollback();
      }),
    ).rejects.toBeInstanceOf(TransactionRollbackError);
    await expect(
      db.transaction(async (tx) => {
        await tx.insert(users).values({ name: "Nope", email: "nope@example.com" });
        await tx.insert(users).values({ name: "Dup", email: "nope@example.com" });
      }),
    ).rejects.toThrow();
    expect(cluster.rows("SELECT count(*) AS n FROM users")).toEqual([{ n: 0n }]);
    expect(cluster.streams.size).toBe(0);
  });

  test("a transaction whose stream is lost fails with the loss, not with the rollback's error", async () => {
    const err = await db
      .transaction(async (tx) => {
        await tx.insert(users).values({ name: "Lost", email: "lost@example.com" });
        cluster.streams.clear();
        cluster.leader!.db.run("ROLLBACK");
        await tx.select().from(users);
      })
      .catch((e: unknown) => e);
    expect(((err as Error).cause as QuorumliteError).code).toBe("QUORUMLITE_STREAM_LOST");
    expect(cluster.rows("SELECT count(*) AS n FROM users")).toEqual([{ n: 0n }]);
  });

  test("$client is the session the db was built on", () => {
    expect(db.$client).toBe(client);
    const session = client.session();
    expect(drizzle(session).$client).toBe(session);
  });
});
