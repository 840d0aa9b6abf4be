/**
 * Node-to-node requests that ride the HTTP/2 peer link next to Raft messages:
 * forwarded writes and reads, node info, admin operations that must run on the
 * leader. Bodies are tagged JSON so bigints and blobs survive exactly.
 */
import { z } from "zod";
import { ServiceError } from "./sql-service.ts";
import type { ServiceErrorCode } from "./sql-service.ts";
import { fromTaggedJson, toTaggedJson } from "./tagged-json.ts";

export type RpcPath = "write" | "read" | "info" | "admin";

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

export function replyOk(value: unknown): Uint8Array {
  return encodeRpc({ ok: true, value } satisfies RpcReply);
}

export function replyError(e: unknown): Uint8Array {
  if (e instanceof ServiceError) return encodeRpc({ ok: false, code: e.code, message: e.message, leaderHttp: e.leaderHttp } satisfies RpcReply);
  return encodeRpc({ ok: false, code: "bad-request", message: e instanceof Error ? e.message : String(e), leaderHttp: null } satisfies RpcReply);
}

/** Turns a peer's reply back into a value or the ServiceError it carried. */
export function unwrapReply(body: Uint8Array): unknown {
  const parsed = replySchema.safeParse(decodeRpc(body));
  if (!parsed.success) throw new ServiceError("no-leader", "malformed reply from peer");
  const r = parsed.data;
  if (r.ok) return r.value;
  throw new ServiceError(r.code as ServiceErrorCode, r.message, r.leaderHttp);
}
