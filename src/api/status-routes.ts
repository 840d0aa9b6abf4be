/** GET /status, /readyz, /nodes, /metrics: what operators and clients read about a node. */
import { Hono } from "hono";
import type { NodeView } from "../node/node-view.ts";

export function statusRoutes(node: NodeView): Hono {
  const app = new Hono();
  app.get("/status", (c) => c.json(node.status()));
  app.get("/readyz", (c) => {
    const r = node.isReady();
    return c.json(r, r.ready ? 200 : 503);
  });
  app.get("/nodes", (c) => {
    const s = node.status();
    return c.json({ leader: s.leader, members: s.members, transport: node.transportStats() });
  });
  app.get("/metrics", (c) => {
    const s = node.status();
    const mem = process.memoryUsage();
    const text = node.metrics.render(
      {
        quorumlite_raft_term: s.term,
        quorumlite_raft_commit_index: s.commit_index,
        quorumlite_raft_applied_index: s.applied_index,
        quorumlite_raft_last_index: s.last_index,
        quorumlite_raft_is_leader: s.role === "leader" ? 1 : 0,
        quorumlite_raft_members: s.members.length,
        quorumlite_process_resident_memory_bytes: mem.rss,
        quorumlite_process_heap_used_bytes: mem.heapUsed,
      },
      { node: s.id, region: s.region },
    );
    return c.text(text, 200, { "content-type": "text/plain; version=0.0.4" });
  });
  return app;
}
