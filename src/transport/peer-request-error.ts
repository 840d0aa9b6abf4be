import type { NodeId } from "../raft/types.ts";

/**
 * Why a request()/sendSnapshot() to a peer failed. A reply with a non-2xx
 * status is not an error for request() (the caller sees the status); it is
 * for sendSnapshot(), as kind "status".
 */
export type PeerRequestErrorKind =
  | "unknown-peer" // not in the current peer set
  | "unreachable" // nothing was sent: connection refused, reconnect backoff in progress, no stream opened
  | "timeout"
  | "reset" // the stream or session failed after the request went out (the peer may have acted on it)
  | "status" // the peer answered with an error status
  | "closed" // the transport was stopped
  | "invalid"; // bad arguments (path, file)

export class PeerRequestError extends Error {
  override readonly name = "PeerRequestError";
  constructor(
    readonly kind: PeerRequestErrorKind,
    readonly peer: NodeId,
    message: string,
    readonly status?: number,
  ) {
    super(`${peer}: ${message}`);
  }
}
