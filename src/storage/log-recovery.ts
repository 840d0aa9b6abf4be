/**
 * Startup verification of the Raft log: every entry's CRC, decodability,
 * index/term agreement with its row, contiguity after the compaction point and
 * non-decreasing terms. The log is cut back to the longest valid prefix.
 *
 * SQLite (WAL, synchronous=FULL) already discards a commit that was torn by a
 * crash, so a failing entry means the medium lost or flipped bytes that were
 * once durable. Above the commit index we cut the tail — like etcd's WAL
 * repair of a torn last record — and report it; at or below the commit index
 * we refuse to start (StorageCorruptionError) rather than forget committed
 * writes (a node that forgets them can vote a log without them into office).
 */
import type { Database } from "bun:sqlite";
import type { Entry, HardState, Index, SnapshotMeta, Term } from "../raft/types.ts";
import { checksum } from "./log-database.ts";
import { decodeEntry } from "./entry-codec.ts";
import { readHardState, readSnapshotMeta } from "./state-records.ts";
import { StorageCorruptionError } from "./storage-errors.ts";

export interface TruncatedTail {
  /** First index removed; the log now ends at fromIndex − 1. */
  readonly fromIndex: Index;
  /** Rows removed (the bad one and everything after it). */
  readonly dropped: number;
  readonly reason: string;
}

export interface RecoveryReport {
  readonly scannedEntries: number;
  readonly truncated: TruncatedTail | null;
  readonly loadMs: number;
}

export interface RecoveredLog {
  readonly hardState: HardState;
  /** Compaction point / installed snapshot; null for a log that was never compacted. */
  readonly snapshot: SnapshotMeta | null;
  /** Every entry after snapshot.index (or from index 1), contiguous. */
  readonly entries: Entry[];
  readonly recovery: RecoveryReport;
}

type Row = [idx: number, term: number, crc: number, body: Uint8Array];

function problemWith(row: Row, expectIndex: Index, minTerm: Term): { entry: Entry } | { problem: string } {
  const [idx, term, crc, body] = row;
  if (idx !== expectIndex) return { problem: `gap: expected index ${expectIndex}, found ${idx}` };
  if (!(body instanceof Uint8Array)) return { problem: `entry ${idx} has no body` };
  if (checksum(body) !== crc) return { problem: `entry ${idx} fails its checksum` };
  let entry: Entry;
  try {
    entry = decodeEntry(body);
  } catch (err) {
    return { problem: `entry ${idx} does not decode (${err instanceof Error ? err.message : String(err)})` };
  }
  if (entry.index !== idx || entry.term !== term) return { problem: `entry ${idx} disagrees with its row (index ${entry.index}, term ${entry.term})` };
  if (term < minTerm) return { problem: `entry ${idx} has term ${term} below its predecessor's ${minTerm}` };
  return { entry };
}

export function recoverLog(db: Database): RecoveredLog {
  const t0 = performance.now();
  const hardState = readHardState(db);
  const snapshot = readSnapshotMeta(db);
  const snapIndex = snapshot?.index ?? 0;
  const rows = db.query<Row, [number]>("SELECT idx, term, crc, body FROM entries WHERE idx > ?1 ORDER BY idx").values(snapIndex) as Row[];

  const entries: Entry[] = new Array(rows.length);
  let minTerm = snapshot?.term ?? 0;
  let valid = 0;
  let problem: string | null = null;
  for (; valid < rows.length; valid++) {
    const r = problemWith(rows[valid], snapIndex + valid + 1, minTerm);
    if ("problem" in r) {
      problem = r.problem;
      break;
    }
    entries[valid] = r.entry;
    minTerm = r.entry.term;
  }

  let truncated: TruncatedTail | null = null;
  if (problem !== null) {
    const fromIndex = snapIndex + valid + 1;
    if (fromIndex <= hardState.commit) {
      throw new StorageCorruptionError(
        `raft log: ${problem}, at or below the commit index ${hardState.commit}; refusing to start on a log that lost committed entries`,
      );
    }
    db.transaction(() => db.query("DELETE FROM entries WHERE idx >= ?1").run(fromIndex))();
    entries.length = valid;
    truncated = { fromIndex, dropped: rows.length - valid, reason: problem };
  }
  return {
    hardState,
    snapshot,
    entries,
    recovery: { scannedEntries: rows.length, truncated, loadMs: performance.now() - t0 },
  };
}
