import { SegmentFileWriter, type LogDurability, type SegmentWrite, type SegmentWriterOptions, type WriteReport } from "./segment-writer.ts";
import type { LogWriter } from "./log-writer.ts";

/** Writes on the event-loop thread; each batch stalls the loop for its fdatasync. */
export class InlineLogWriter implements LogWriter {
  readonly kind = "inline" as const;
  private readonly target: SegmentFileWriter;

  /**
   * `followerOnly`: this writer never serves a leader (the adaptive store
   * hands a leader's batches to the Worker), so nothing queued in this turn
   * needs to leave before the stall — a follower's acknowledgement waits on
   * this very fdatasync — and the batch is cut at the end of the current run.
   */
  constructor(
    dir: string,
    options: SegmentWriterOptions,
    private readonly followerOnly = false,
  ) {
    this.target = new SegmentFileWriter(dir, options);
  }

  schedule(flush: () => void): void {
    // Otherwise a macrotask, not a microtask: sends the runtime queued in this turn leave before the stall.
    if (this.followerOnly) queueMicrotask(flush);
    else setImmediate(flush);
  }

  write(batch: SegmentWrite): Promise<WriteReport> {
    try {
      return Promise.resolve(this.target.apply(batch));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  durability(): Promise<LogDurability> {
    return Promise.resolve(this.target.durability());
  }

  close(): Promise<void> {
    this.target.close();
    return Promise.resolve();
  }
}
