/** Membership, leadership and backup routes (forwarded to the leader where needed). */
import { Hono } from "hono";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { NodeView } from "../node/node-view.ts";
import { adminRequestSchema } from "../node/admin-operations.ts";
import { jsonError, serviceErrorResponse } from "./error-response.ts";
import { readJsonBody } from "./json-body.ts";
import { describeZodError } from "./sql-request.ts";

export function adminRoutes(node: NodeView): Hono {
  const app = new Hono();
  const run = async (raw: unknown) => {
    const parsed = adminRequestSchema.safeParse(raw);
    if (!parsed.success) return jsonError(400, { message: describeZodError(parsed.error), code: "bad-request" });
    try {
      return Response.json({ success: true, result: await node.admin(parsed.data) });
    } catch (e) {
      return serviceErrorResponse(e);
    }
  };
  app.post("/admin/members", async (c) => {
    const body = await readJsonBody(c, 64 * 1024);
    if (!body.ok) return jsonError(body.status, { message: body.message, code: "bad-request" });
    return run({ op: "add", role: "voter", ...(body.value as object) });
  });
  app.delete("/admin/members/:id", (c) => run({ op: "remove", id: c.req.param("id") }));
  app.post("/admin/members/:id/promote", (c) => run({ op: "promote", id: c.req.param("id") }));
  app.post("/admin/transfer", async (c) => {
    const body = await readJsonBody(c, 64 * 1024);
    if (!body.ok) return jsonError(body.status, { message: body.message, code: "bad-request" });
    return run({ op: "transfer", ...(body.value as object) });
  });
  app.get("/admin/backup", async () => {
    const dir = mkdtempSync(join(tmpdir(), "quorumlite-backup-"));
    const file = join(dir, "backup.sqlite");
    try {
      const { appliedIndex } = await node.backupTo(file);
      const data = Bun.file(file);
      // Stream the file, then remove the temporary copy once it has been read.
      const stream = data.stream();
      const reader = stream.getReader();
      const body = new ReadableStream<Uint8Array>({
        async pull(ctrl) {
          const { done, value } = await reader.read();
          if (done) {
            ctrl.close();
            rmSync(dir, { recursive: true, force: true });
          } else ctrl.enqueue(value);
        },
        cancel() {
          rmSync(dir, { recursive: true, force: true });
        },
      });
      return new Response(body, {
        headers: { "content-type": "application/vnd.sqlite3", "x-quorumlite-applied-index": String(appliedIndex), "content-disposition": 'attachment; filename="quorumlite-backup.sqlite"' },
      });
    } catch (e) {
      rmSync(dir, { recursive: true, force: true });
      return serviceErrorResponse(e);
    }
  });
  return app;
}
