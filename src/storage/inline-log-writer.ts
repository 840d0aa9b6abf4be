import type { Database } from "bun:sqlite";
import { openLogDatabase, readPragmas, type ConnectionPragmas, type LogDatabaseOptions } from "./log-database.ts";
import { LogWriteTarget, type WriteOp, type WriteReport } from "./log-write-batch.ts";
import type { LogWriter } from "./log-writer.ts";

/** Writes on the event-loop thread; each COMMIT stalls the loop for the fsync. */
export class InlineLogWriter implements LogWriter {
  readonly kind = "inline" as const;
  private readonly db: Database;
  private readonly target: LogWriteTarget;

  /**
   * `followerOnly`: this writer never serves a leader (the adaptive store
   * hands a leader's batches to the Worker), so nothing queued in this turn
   * needs to leave before the stall — a follower's acknowledgement waits on
   * this very fsync — and the batch is cut at the end of the current run.
   */
  constructor(
    dir: string,
    options: LogDatabaseOptions,
    private readonly followerOnly = false,
  ) {
    this.db = openLogDatabase(dir, options);
    this.target = new LogWriteTarget(this.db);
  }

  schedule(flush: () => void): void {
    // Otherwise a macrotask, not a microtask: sends the runtime queued in this turn leave before the stall.
    if (this.followerOnly) queueMicrotask(flush);
    else setImmediate(flush);
  }

  write(ops: readonly WriteOp[]): Promise<WriteReport> {
    try {
      return Promise.resolve(this.target.apply(ops));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  pragmas(): Promise<ConnectionPragmas> {
    return Promise.resolve(readPragmas(this.db));
  }

  close(): Promise<void> {
    this.db.close(true);
    return Promise.resolve();
  }
}
