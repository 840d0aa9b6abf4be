/** One place that turns failures into HTTP responses with a JSON body naming the problem. */
import { ServiceError } from "../node/sql-service.ts";
import type { ServiceErrorCode } from "../node/sql-service.ts";

const UNAVAILABLE: ReadonlySet<ServiceErrorCode> = new Set(["not-leader", "no-leader", "timeout", "stale", "shutting-down"]);

export interface ErrorBody {
  readonly message: string;
  readonly code: string;
  readonly statement_index?: number;
  readonly leader?: string;
}

export function jsonError(status: number, error: ErrorBody, extraHeaders: Record<string, string> = {}): Response {
  return new Response(JSON.stringify({ success: false, error }), {
    status,
    headers: { "content-type": "application/json", ...extraHeaders },
  });
}

export function serviceErrorResponse(e: unknown): Response {
  if (e instanceof ServiceError) {
    if (UNAVAILABLE.has(e.code)) {
      const body: ErrorBody = e.leaderHttp ? { message: e.message, code: e.code, leader: e.leaderHttp } : { message: e.message, code: e.code };
      return jsonError(503, body, { "retry-after": "1" });
    }
    if (e.code === "tx-expired") return jsonError(400, { message: e.message, code: e.code });
    return jsonError(400, { message: e.message, code: e.code });
  }
  const message = e instanceof Error ? e.message : String(e);
  return jsonError(500, { message: `internal error: ${message}`, code: "internal" });
}
