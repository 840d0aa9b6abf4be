/**
 * Where group-commit batches are written. Two implementations, measured
 * against each other in bench/storage-fsync.ts:
 * - WorkerLogWriter: a Worker thread owns the write connection, so the fsync
 *   never blocks the event loop (peer sends, HTTP, timers).
 * - InlineLogWriter: the batch runs synchronously on the event loop, deferred
 *   with setImmediate so that I/O already queued goes first.
 * The store's default mode, "adaptive", holds both and lets the node pick per
 * role (RaftLogStore.useBackgroundWriter).
 */
import type { ConnectionPragmas } from "./log-database.ts";
import type { WriteOp, WriteReport } from "./log-write-batch.ts";

export type LogWriterKind = "worker" | "inline";
export type LogWriterMode = LogWriterKind | "adaptive";

export interface LogWriter {
  readonly kind: LogWriterKind;
  /** Calls `flush` when the next batch should be cut (coalescing everything queued until then). */
  schedule(flush: () => void): void;
  /** Resolves once the batch is committed (fsynced when fsync is on). At most one call in flight. */
  write(ops: readonly WriteOp[]): Promise<WriteReport>;
  /** The write connection's live settings (queried, not remembered). */
  pragmas(): Promise<ConnectionPragmas>;
  close(): Promise<void>;
}
