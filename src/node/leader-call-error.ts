/**
 * What a failed RPC to the leader means to the caller. When nothing reached
 * the leader (no connection, unknown peer, stopped transport) it is
 * "no-leader", which the write path retries once a leader is known. A
 * forwarded write whose stream timed out or broke after it went out may have
 * been proposed, and may still commit: retrying it could apply it twice, so
 * it is "timeout" (503, not retried here). A client that sends
 * x-quorumlite-request-id can retry it and have it applied exactly once
 * (Raft thesis §6.3).
 */
import { PeerRequestError } from "../transport/peer-request-error.ts";
import type { RpcPath } from "./peer-rpc.ts";
import { ServiceError } from "./sql-service.ts";

export function leaderCallError(leader: string, path: RpcPath, e: unknown): ServiceError {
  const reason = e instanceof Error ? e.message : String(e);
  const mayHaveArrived = !(e instanceof PeerRequestError) || e.kind === "timeout" || e.kind === "reset";
  if (mayHaveArrived && (path === "write" || path === "write-batch")) {
    return new ServiceError(
      "timeout",
      `leader ${leader} did not answer (${reason}); the write may still be applied: retry with the same x-quorumlite-request-id to apply it exactly once`,
    );
  }
  return new ServiceError("no-leader", `leader ${leader} unreachable: ${reason}`);
}
