/**
 * GET / — the operator's dashboard: every member's role, term, replication
 * progress and region, refreshed live, plus a SQL box. GET /dashboard/cluster
 * fans out to the members' /status so the page needs no cross-origin calls.
 */
import { Hono } from "hono";
import type { NodeView, StatusView } from "../node/node-view.ts";
import { DASHBOARD_HTML } from "./dashboard-page.ts";

export function dashboardRoutes(node: NodeView): Hono {
  const app = new Hono();
  app.get("/", (c) => c.html(DASHBOARD_HTML));
  app.get("/dashboard/cluster", async (c) => {
    const self = node.status();
    const views = await Promise.all(
      self.members.map(async (m): Promise<{ id: string; ok: boolean; status?: StatusView; error?: string }> => {
        if (m.id === self.id) return { id: m.id, ok: true, status: self };
        if (!m.http) return { id: m.id, ok: false, error: "address unknown" };
        try {
          const r = await fetch(new URL("/status", m.http), { signal: AbortSignal.timeout(1_000) });
          return { id: m.id, ok: r.ok, status: (await r.json()) as StatusView };
        } catch (e) {
          return { id: m.id, ok: false, error: (e as Error).message };
        }
      }),
    );
    return c.json({ self: self.id, nodes: views });
  });
  return app;
}
