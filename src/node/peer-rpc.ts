/**
 * Node-to-node requests that ride the HTTP/2 peer link next to Raft messages:
 * forwarded writes and reads, node info, admin operations that must run on the
 * leader. Bodies are tagged JSON so bigints and blobs survive exactly.
 */
import { z } from "zod";
import { ServiceError } from "./sql-service.ts";
import type { ServiceErrorCode } from "./sql-service.ts";
import { fromTaggedJson, toTaggedJson } from "./tagged-json.ts";

export type RpcPath = "write" | "write-batch" | "read" | "info" | "admin";

export type RpcReply = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly code: ServiceErrorCode; readonly message: string; readonly leaderHttp: string | null };

const replySchema = z.union([
  z.object({ ok: z.literal(true), value: z.unknown() }),
  z.object({ ok: z.literal(false), code: z.string(), message: z.string(), leaderHttp: z.string().nullable() }),
]);

export function encodeRpc(value: unknown): Uint8Array {
  return new TextEncoder().encode(toTaggedJson(value));
}

export function decodeRpc(body: Uint8Array): unknown {
  return fromTaggedJson(new TextDecoder().decode(body));
}

/** The reply an error becomes: a ServiceError keeps its code, anything else is a bad request. */
export function errorReply(e: unknown): RpcReply {
  if (e instanceof ServiceError) return { ok: false, code: e.code, message: e.message, leaderHttp: e.leaderHttp };
  return { ok: false, code: "bad-request", message: e instanceof Error ? e.message : String(e), leaderHttp: null };
}

export function replyOk(value: unknown): Uint8Array {
  return encodeRpc({ ok: true, value } satisfies RpcReply);
}

export function replyError(e: unknown): Uint8Array {
  return encodeRpc(errorReply(e));
}

/** A decoded reply's value, or the ServiceError it carried. */
export function unwrapReplyValue(decoded: unknown): unknown {
  const parsed = replySchema.safeParse(decoded);
  if (!parsed.success) throw new ServiceError("no-leader", "malformed reply from peer");
  const r = parsed.data;
  if (r.ok) return r.value;
  throw new ServiceError(r.code as ServiceErrorCode, r.message, r.leaderHttp);
}

/** Turns a peer's reply back into a value or the ServiceError it carried. */
export function unwrapReply(body: Uint8Array): unknown {
  return unwrapReplyValue(decodeRpc(body));
}
