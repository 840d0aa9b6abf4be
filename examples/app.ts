/**
 * A small Hono app on the example schema, through both doors:
 *
 * - `quorumlite/drizzle` (quorumlite's own client): writes go straight to the
 *   leader, reads to the nearest node; each HTTP request runs in a session
 *   resumed from the caller's bookmark (header or cookie), so a browser sees
 *   its own writes on its next request even when it is served by a replica.
 * - `drizzle-orm/libsql` + `@libsql/client`, unchanged, pointed at any node
 *   (quorumlite speaks Hrana over HTTP). Pick it with `?door=libsql`.
 *
 * Run against a local cluster (`npm start`):
 *   bun examples/app.ts            # QUORUMLITE_NODES=http://127.0.0.1:8001,… PORT=3000
 *   curl -X POST localhost:3000/migrate
 *   curl -X POST localhost:3000/users -d '{"name":"Alice","email":"alice@example.com"}'
 *   curl localhost:3000/users?door=libsql
 */
import { createClient as createLibsqlClient } from "@libsql/client";
import { desc, eq } from "drizzle-orm";
import { drizzle as drizzleLibsql } from "drizzle-orm/libsql";
import type { BaseSQLiteDatabase } from "drizzle-orm/sqlite-core";
import { Hono, type Context } from "hono";
import { getCookie, setCookie } from "hono/cookie";
import { createClient, QuorumliteError } from "quorumlite/client";
import { drizzle, migrate } from "quorumlite/drizzle";
import * as schema from "./schema.ts";

const { users, posts } = schema;
const BOOKMARK = "x-quorumlite-bookmark";

/** What both doors have in common: an async SQLite Drizzle database over the example schema. */
type AppDb = BaseSQLiteDatabase<"async", unknown, typeof schema>;

export interface AppOptions {
  /** quorumlite nodes, nearest first. */
  readonly nodes: readonly string[];
  /** Any node, for @libsql/client (default: the first of `nodes`). */
  readonly libsqlUrl?: string;
  readonly authToken?: string;
  readonly migrationsFolder?: string;
}

export function createApp(options: AppOptions): Hono {
  const client = createClient({ nodes: options.nodes, authToken: options.authToken, readLevel: "none" });
  const libsql = drizzleLibsql(createLibsqlClient({ url: options.libsqlUrl ?? options.nodes[0]!, authToken: options.authToken }), { schema });
  const migrationsFolder = options.migrationsFolder ?? new URL("../drizzle", import.meta.url).pathname;

  /** The db for this request: the libSQL door, or a quorumlite session resumed from the caller's bookmark. */
  const dbFor = (c: Context): { db: AppDb; done: () => void } => {
    if (c.req.query("door") === "libsql") return { db: libsql, done: () => {} };
    const session = client.session(c.req.header(BOOKMARK) ?? getCookie(c, BOOKMARK) ?? null);
    return {
      db: drizzle(session, { schema }),
      done: () => {
        if (session.bookmark === null) return;
        c.header(BOOKMARK, session.bookmark);
        setCookie(c, BOOKMARK, session.bookmark, { httpOnly: true, sameSite: "Lax", path: "/" });
      },
    };
  };

  const app = new Hono();

  app.onError((err, c) => {
    const cause = err instanceof QuorumliteError ? err : err.cause instanceof QuorumliteError ? err.cause : null;
    if (cause?.code.startsWith("SQLITE_CONSTRAINT")) return c.json({ error: cause.message, code: cause.code }, 409);
    return c.json({ error: err.message }, 500);
  });

  app.post("/migrate", async (c) => {
    await migrate(client, { migrationsFolder });
    return c.json({ ok: true });
  });

  app.get("/users", async (c) => {
    const { db, done } = dbFor(c);
    const rows = await db.query.users.findMany({ with: { posts: { orderBy: desc(posts.id) } }, orderBy: users.id });
    done();
    return c.json(rows.map(({ avatar: _avatar, ...user }) => user));
  });

  app.post("/users", async (c) => {
    const body = await c.req.json<{ name: string; email: string; bio?: string }>();
    const { db, done } = dbFor(c);
    const [user] = await db.insert(users).values({ name: body.name, email: body.email, bio: body.bio }).returning({ id: users.id });
    done();
    return c.json(user, 201);
  });

  app.post("/users/:id/posts", async (c) => {
    const body = await c.req.json<{ title: string; body?: string }>();
    const authorId = Number(c.req.param("id"));
    const { db, done } = dbFor(c);
    // Author check and insert in one interactive transaction on the leader.
    const created = await db.transaction(async (tx) => {
      const author = await tx.select({ id: users.id }).from(users).where(eq(users.id, authorId)).get();
      if (author === undefined) return null;
      const [post] = await tx.insert(posts).values({ authorId, title: body.title, body: body.body ?? "" }).returning();
      return post!;
    });
    done();
    return created === null ? c.json({ error: "no such user" }, 404) : c.json(created, 201);
  });

  app.get("/users/:id/posts", async (c) => {
    const { db, done } = dbFor(c);
    const rows = await db.select().from(posts).where(eq(posts.authorId, Number(c.req.param("id")))).orderBy(desc(posts.id));
    done();
    return c.json(rows);
  });

  return app;
}

if (import.meta.main) {
  const nodes = (process.env.QUORUMLITE_NODES ?? "http://127.0.0.1:8001,http://127.0.0.1:8002,http://127.0.0.1:8003").split(",");
  const app = createApp({ nodes, authToken: process.env.QUORUMLITE_TOKEN });
  const server = Bun.serve({ port: Number(process.env.PORT ?? 3000), fetch: app.fetch });
  console.log(`example app on http://localhost:${server.port} (quorumlite nodes: ${nodes.join(", ")})`);
}
