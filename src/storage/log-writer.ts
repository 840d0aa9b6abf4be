/**
 * Where group-commit batches are written. Two implementations, measured
 * against each other in bench/storage-fsync.ts:
 * - WorkerLogWriter: a Worker thread writes and fdatasyncs, so the sync
 *   never blocks the event loop (peer sends, HTTP, timers).
 * - InlineLogWriter: the batch runs synchronously on the event loop, deferred
 *   with setImmediate so that I/O already queued goes first.
 * The store's default mode, "adaptive", holds both and lets the node pick per
 * role (RaftLogStore.useBackgroundWriter).
 */
import type { LogDurability, SegmentWrite, WriteReport } from "./segment-writer.ts";

export type LogWriterKind = "worker" | "inline";
export type LogWriterMode = LogWriterKind | "adaptive";

export interface LogWriter {
  readonly kind: LogWriterKind;
  /** Calls `flush` when the next batch should be cut (coalescing everything queued until then). */
  schedule(flush: () => void): void;
  /** Resolves once the batch is written and fdatasynced (when fsync is on). At most one call in flight across both writers. */
  write(batch: SegmentWrite): Promise<WriteReport>;
  /** How the writer syncs (asked of the writer itself, not remembered by the store). */
  durability(): Promise<LogDurability>;
  close(): Promise<void>;
}
