/** The HTTP API of one node: every route a client, an operator or a browser uses. */
import { Hono } from "hono";
import type { NodeView } from "../node/node-view.ts";
import type { ReadLevel, SqlService } from "../node/sql-service.ts";
import { adminRoutes } from "./admin-routes.ts";
import { jsonError } from "./error-response.ts";
import { sqlRoutes } from "./sql-route.ts";
import { statusRoutes } from "./status-routes.ts";

export interface ApiOptions {
  readonly defaultReadLevel: ReadLevel;
  /** Extra route groups (Hrana, dashboard) mounted by the caller. */
  readonly extra?: readonly Hono[];
}

export function createApi(service: SqlService, node: NodeView, opts: ApiOptions): Hono {
  const app = new Hono();
  app.route("/", sqlRoutes(service, { defaultLevel: opts.defaultReadLevel, onRequest: (k, ok) => node.metrics.request(k, ok) }));
  app.route("/", statusRoutes(node));
  app.route("/", adminRoutes(node));
  for (const extra of opts.extra ?? []) app.route("/", extra);
  app.notFound((c) => jsonError(404, { message: `no route for ${c.req.method} ${new URL(c.req.url).pathname}`, code: "not-found" }));
  app.onError((e) => jsonError(500, { message: `internal error: ${e.message}`, code: "internal" }));
  return app;
}
