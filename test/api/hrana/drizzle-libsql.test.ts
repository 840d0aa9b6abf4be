/**
 * The real drizzle-orm/libsql driver (through unchanged @libsql/client) on
 * the Hrana routes, connected through a follower whose write transactions
 * move to the leader: drizzle-kit migrations from drizzle/, CRUD,
 * `returning`, `db.batch`, `db.transaction` with a nested rollback.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createClient, type Client } from "@libsql/client";
import { eq, sql } from "drizzle-orm";
import { drizzle, type LibSQLDatabase } from "drizzle-orm/libsql";
import { migrate } from "drizzle-orm/libsql/migrator";
import { join } from "node:path";
import * as schema from "../../../examples/schema.ts";
import { startNodes, type TestNode } from "./harness.ts";
import { FollowerSqlService } from "./sqlite-sql-service.ts";
import { StateMachineSqlService } from "./state-machine-sql-service.ts";

const { users, posts } = schema;
const migrationsFolder = join(import.meta.dir, "../../../drizzle");

let service: StateMachineSqlService;
let leader: TestNode;
let follower: TestNode;
let client: Client;
let db: LibSQLDatabase<typeof schema>;

beforeAll(() => {
  service = new StateMachineSqlService();
  [leader, follower] = startNodes([
    { id: "leader", service },
    { id: "follower", service: new FollowerSqlService(service, () => leader.url) },
  ]) as [TestNode, TestNode];
  client = createClient({ url: follower.url });
  db = drizzle(client, { schema });
});

afterAll(() => {
  client.close();
  leader.stop();
  follower.stop();
  service.close();
});

describe("drizzle-orm/libsql through a follower", () => {
  test("drizzle-kit migrations apply once", async () => {
    await migrate(db, { migrationsFolder });
    await migrate(db, { migrationsFolder });
    expect(service.query("SELECT count(*) FROM __drizzle_migrations")).toEqual([[2]]);
    expect(service.query("SELECT name FROM pragma_table_info('users') WHERE name = 'bio'")).toEqual([["bio"]]);
  });

  test("insert … returning, select, update, delete", async () => {
    const [alice] = await db.insert(users).values({ name: "Alice", email: "alice@example.com", karma: 1.5, avatar: Buffer.from([1, 2, 3]) }).returning();
    expect(alice!.id).toBe(1);
    expect(alice!.karma).toBe(1.5);
    expect(alice!.createdAt).toBeInstanceOf(Date);
    await db.insert(posts).values([
      { authorId: alice!.id, title: "one" },
      { authorId: alice!.id, title: "two", published: true },
    ]);
    const published = await db.select().from(posts).where(eq(posts.published, true));
    expect(published.map((p) => p.title)).toEqual(["two"]);
    const updated = await db.update(users).set({ karma: sql`${users.karma} + 1` }).where(eq(users.id, alice!.id)).returning({ karma: users.karma });
    expect(updated).toEqual([{ karma: 2.5 }]);
    const withPosts = await db.query.users.findFirst({ with: { posts: true } });
    expect(withPosts!.posts).toHaveLength(2);
    expect(Buffer.from(withPosts!.avatar!)).toEqual(Buffer.from([1, 2, 3]));
    await db.delete(posts).where(eq(posts.title, "one"));
    expect(service.query("SELECT title FROM posts")).toEqual([["two"]]);
  });

  test("db.batch applies atomically", async () => {
    const [a, b] = await db.batch([
      db.insert(users).values({ name: "Bob", email: "bob@example.com" }).returning({ id: users.id }),
      db.insert(users).values({ name: "Carol", email: "carol@example.com" }).returning({ id: users.id }),
    ]);
    expect(a[0]!.id + 1).toBe(b[0]!.id);
    const failed = await db
      .batch([db.insert(users).values({ name: "Dave", email: "dave@example.com" }), db.insert(users).values({ name: "Bob again", email: "bob@example.com" })])
      .catch((e: unknown) => e);
    expect(failed).toBeInstanceOf(Error);
    expect(service.query("SELECT count(*) FROM users WHERE name = 'Dave'")).toEqual([[0]]);
  });

  test("db.transaction commits; a nested transaction rolls back alone", async () => {
    await db.transaction(async (tx) => {
      await tx.insert(users).values({ name: "Erin", email: "erin@example.com" });
      await tx
        .transaction(async (inner) => {
          await inner.insert(users).values({ name: "Frank", email: "frank@example.com" });
          inner.rollback();
        })
        .catch(() => undefined);
      const seen = await tx.select({ name: users.name }).from(users).where(eq(users.name, "Frank"));
      expect(seen).toEqual([]);
    });
    expect(service.query("SELECT name FROM users WHERE name IN ('Erin', 'Frank')")).toEqual([["Erin"]]);
  });

  test("a failing db.transaction leaves nothing behind", async () => {
    const err = await db
      .transaction(async (tx) => {
        await tx.insert(users).values({ name: "Gina", email: "gina@example.com" });
        await tx.insert(users).values({ name: "Gina again", email: "gina@example.com" });
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect(service.query("SELECT count(*) FROM users WHERE email = 'gina@example.com'")).toEqual([[0]]);
    expect(service.openTransactions).toBe(0);
  });
});
