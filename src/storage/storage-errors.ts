/** Acknowledged state is damaged (a checksum failed at or below the commit index, or in the hard state / snapshot record). Repairing it silently could lose committed writes, so the node must not start on this log: restore it or rejoin as a fresh member. */
export class StorageCorruptionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "StorageCorruptionError";
  }
}

/** The caller broke the persist contract (a gap in the log, a snapshot older than the compaction point …). Nothing was written. */
export class LogContractError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "LogContractError";
  }
}

/** A batch failed to commit (disk full, I/O error, writer died). The store refuses all later writes: its durable state is uncertain, so the node should stop. */
export class LogWriteFailedError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "LogWriteFailedError";
  }
}
