/** Tuning knobs of a PeerTransport; every one has a default suited to a LAN/WAN Raft cluster. */
export interface TransportLimits {
  /** Message POSTs in flight per peer, for peers without the stream route (HTTP/2 streams on its one session). */
  readonly maxInflightBatches: number;
  /**
   * RPC streams open at once per peer; more wait their turn. Together with maxInflightBatches
   * this must stay under the server's SETTINGS_MAX_CONCURRENT_STREAMS (Bun.serve: 256), because
   * Bun's node:http2 client does not queue streams beyond it: they are refused.
   */
  readonly maxConcurrentRequests: number;
  /** Due batches waiting for a drain or a free POST slot are merged into one frame/POST up to this size. */
  readonly maxBatchBytes: number;
  /** Per peer, messages waiting to be sent beyond these bounds are dropped (Raft retransmits). */
  readonly maxQueuedMessages: number;
  readonly maxQueuedBytes: number;
  /**
   * The peer is stalled, and the session torn down, when for this long: the message stream is not
   * accepted, a write does not drain, a write is not followed by an answered ping, or a message POST
   * is not answered. Server side: how long a POST batch may hold up later ones from its sender.
   */
  readonly messageTimeoutMs: number;
  /** An idle message stream gets an empty frame this often (Bun.serve drops requests idle for 10 s). */
  readonly streamKeepaliveMs: number;
  readonly connectTimeoutMs: number;
  /** Reconnect backoff: doubles from base up to max, with jitter. */
  readonly backoffBaseMs: number;
  readonly backoffMaxMs: number;
  /** A snapshot upload that makes no progress for this long is abandoned. */
  readonly snapshotIdleTimeoutMs: number;
  readonly snapshotChunkBytes: number;
  /** Server side: largest accepted /raft/messages and /raft/rpc bodies (413 beyond). */
  readonly maxMessageBodyBytes: number;
  readonly maxRpcBodyBytes: number;
}

export const DEFAULT_TRANSPORT_LIMITS: TransportLimits = {
  maxInflightBatches: 16,
  maxConcurrentRequests: 192,
  maxBatchBytes: 4 * 1024 * 1024,
  maxQueuedMessages: 20_000,
  maxQueuedBytes: 64 * 1024 * 1024,
  messageTimeoutMs: 5_000,
  streamKeepaliveMs: 2_000,
  connectTimeoutMs: 3_000,
  backoffBaseMs: 25,
  backoffMaxMs: 1_000,
  snapshotIdleTimeoutMs: 30_000,
  snapshotChunkBytes: 1024 * 1024,
  maxMessageBodyBytes: 256 * 1024 * 1024,
  maxRpcBodyBytes: 64 * 1024 * 1024,
};
