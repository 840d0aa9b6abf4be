/** The HTTP API of one node: every route a client, an operator or a browser uses. */
import { Hono } from "hono";
import type { NodeView } from "../node/node-view.ts";
import type { ReadLevel, SqlService } from "../node/sql-service.ts";
import { adminRoutes } from "./admin-routes.ts";
import { jsonError } from "./error-response.ts";
import { sqlHandler } from "./sql-route.ts";
import { statusRoutes } from "./status-routes.ts";
import type { Authenticator } from "./auth/bearer-auth.ts";

export interface ApiOptions {
  readonly defaultReadLevel: ReadLevel;
  /** Bearer-token auth for /sql, Hrana and admin routes; none = open. */
  readonly auth?: Authenticator;
  /** Extra route groups (Hrana, dashboard) mounted by the caller. */
  readonly extra?: readonly Hono[];
}

export function createApi(service: SqlService, node: NodeView, opts: ApiOptions): Hono {
  const app = new Hono();
  const auth = opts.auth;
  const internalError = (e: Error) => jsonError(500, { message: `internal error: ${e.message}`, code: "internal" });
  const sql = sqlHandler(service, { defaultLevel: opts.defaultReadLevel, onRequest: (k, ok) => node.metrics.request(k, ok), onInternalError: internalError, ...(auth ? { auth } : {}) });
  app.post("/sql", (c) => sql(c.req.raw));
  app.route("/", statusRoutes(node));
  if (auth) {
    // Membership changes and backups need a read-write token.
    app.use("/admin/*", async (c, next) => {
      const r = await auth.authenticate(c.req.header("authorization") ?? null);
      if (!r.ok) return jsonError(401, { message: r.message, code: r.code });
      if (r.access !== "rw") return jsonError(403, { message: "admin routes need a read-write token", code: "AUTH_READ_ONLY" });
      await next();
    });
  }
  app.route("/", adminRoutes(node));
  for (const extra of opts.extra ?? []) app.route("/", extra);
  app.notFound((c) => jsonError(404, { message: `no route for ${c.req.method} ${new URL(c.req.url).pathname}`, code: "not-found" }));
  app.onError(internalError);
  // POST /sql is nearly every request a node serves: it skips generic routing
  // (no middleware applies to it) and answers a thrown Error with the same 500.
  const routed = app.fetch;
  app.fetch = (req, env, ctx) => (req.method === "POST" && isSqlPath(req.url) ? sql(req) : routed(req, env, ctx));
  return app;
}

/** True when the URL's path is exactly /sql, as Hono's router would see it (a path with % escapes goes the generic way). */
function isSqlPath(url: string): boolean {
  const start = url.indexOf("/", url.indexOf(":") + 4);
  if (start < 0 || !url.startsWith("/sql", start)) return false;
  const next = url.charCodeAt(start + 4);
  return Number.isNaN(next) || next === 63 /* ? */ || next === 35 /* # */;
}
