/** Tuning knobs of a PeerTransport; every one has a default suited to a LAN/WAN Raft cluster. */
export interface TransportLimits {
  /** Message POSTs in flight per peer (HTTP/2 streams on its one session). */
  readonly maxInflightBatches: number;
  /**
   * RPC streams open at once per peer; more wait their turn. Together with maxInflightBatches
   * this must stay under the server's SETTINGS_MAX_CONCURRENT_STREAMS (Bun.serve: 256), because
   * Bun's node:http2 client does not queue streams beyond it: they are refused.
   */
  readonly maxConcurrentRequests: number;
  /** Due batches waiting for a free slot are merged into one POST up to this size. */
  readonly maxBatchBytes: number;
  /** Per peer, messages waiting to be sent beyond these bounds are dropped (Raft retransmits). */
  readonly maxQueuedMessages: number;
  readonly maxQueuedBytes: number;
  /** A message POST that takes longer means the peer is stalled: its session is torn down. */
  readonly messageTimeoutMs: number;
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
  connectTimeoutMs: 3_000,
  backoffBaseMs: 25,
  backoffMaxMs: 1_000,
  snapshotIdleTimeoutMs: 30_000,
  snapshotChunkBytes: 1024 * 1024,
  maxMessageBodyBytes: 256 * 1024 * 1024,
  maxRpcBodyBytes: 64 * 1024 * 1024,
};
