/**
 * One group-commit batch: the ops of every persist() that arrived while the
 * previous batch was being written, applied in call order inside a single
 * SQLite transaction — so a single fsync (the COMMIT) covers all of them.
 *
 * Ops are plain structured-clone-friendly data: the same batch runs either on
 * the event-loop thread (InlineLogWriter) or in the writer Worker.
 */
import type { Database, Statement } from "bun:sqlite";
import { checksum } from "./log-database.ts";

export type WriteOp =
  /**
   * New compaction point / installed snapshot. `keepSuffix`: the entry at
   * meta.index matched meta.term, so entries after it stay (Raft paper §7:
   * otherwise the whole log is discarded).
   */
  | { readonly kind: "snapshot"; readonly index: number; readonly json: string; readonly keepSuffix: boolean }
  /**
   * Entries first, first+1, … replacing whatever the log held from `first` on.
   * Packed (one buffer, entry i = bytes[ends[i-1] ?? 0, ends[i])) because a
   * postMessage of one buffer costs a fraction of one object per entry.
   */
  | {
      readonly kind: "entries";
      readonly first: number;
      readonly terms: Float64Array;
      readonly ends: Uint32Array;
      readonly bytes: Uint8Array;
    }
  | { readonly kind: "hardState"; readonly json: string };

export interface WriteReport {
  /** Wall time of the transaction, COMMIT (fsync) included. */
  readonly txMs: number;
  readonly entries: number;
  readonly bytes: number;
}

export class LogWriteTarget {
  private readonly deleteUpTo: Statement;
  private readonly deleteAll: Statement;
  private readonly deleteFrom: Statement;
  private readonly insertEntry: Statement;
  private readonly upsertState: Statement;
  private readonly begin: Statement;
  private readonly commit: Statement;
  private readonly rollback: Statement;

  constructor(private readonly db: Database) {
    this.deleteUpTo = db.prepare("DELETE FROM entries WHERE idx <= ?1");
    this.deleteAll = db.prepare("DELETE FROM entries");
    this.deleteFrom = db.prepare("DELETE FROM entries WHERE idx >= ?1");
    this.insertEntry = db.prepare("INSERT INTO entries (idx, term, crc, body) VALUES (?1, ?2, ?3, ?4)");
    this.upsertState = db.prepare(
      "INSERT INTO state (key, value, crc) VALUES (?1, ?2, ?3) ON CONFLICT (key) DO UPDATE SET value = excluded.value, crc = excluded.crc",
    );
    this.begin = db.prepare("BEGIN IMMEDIATE");
    this.commit = db.prepare("COMMIT");
    this.rollback = db.prepare("ROLLBACK");
  }

  apply(ops: readonly WriteOp[]): WriteReport {
    const t0 = performance.now();
    let entries = 0;
    let bytes = 0;
    this.begin.run();
    try {
      for (const op of ops) {
        switch (op.kind) {
          case "snapshot":
            if (op.keepSuffix) this.deleteUpTo.run(op.index);
            else this.deleteAll.run();
            this.upsertState.run("snapshot", op.json, checksum(op.json));
            break;
          case "entries": {
            this.deleteFrom.run(op.first);
            let start = 0;
            for (let i = 0; i < op.terms.length; i++) {
              const body = op.bytes.subarray(start, op.ends[i]);
              this.insertEntry.run(op.first + i, op.terms[i], checksum(body), body);
              start = op.ends[i];
            }
            entries += op.terms.length;
            bytes += op.bytes.length;
            break;
          }
          case "hardState":
            this.upsertState.run("hardState", op.json, checksum(op.json));
            break;
        }
      }
      this.commit.run();
    } catch (err) {
      if (this.db.inTransaction) this.rollback.run();
      throw err;
    }
    return { txMs: performance.now() - t0, entries, bytes };
  }
}
