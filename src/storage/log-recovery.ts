/**
 * Startup: replays the segment files (log-replay.ts), verifying every
 * record's CRC, every entry's decodability and index/term order, and cuts a
 * torn or corrupt tail back to the last valid record.
 *
 * A cut is reported (RecoveredLog.recovery.truncated) and made durable — the
 * segment is truncated there, later segments deleted, both synced — unless
 * the first entry it would remove is at or below the commit index: then
 * StorageCorruptionError, files untouched (a node that forgets committed
 * entries can vote a log without them into office). The commit index for that
 * rule is the newest one found anywhere: before the damage, or in intact
 * records after it (a flipped byte in an acknowledged entry is usually
 * followed by the hard state that committed it). A damaged hard state or
 * snapshot record that was written whole (not torn) also throws.
 */
import { existsSync, readdirSync, readFileSync, unlinkSync } from "node:fs";
import { fsyncPath, replaceFileDurably } from "./durable-files.ts";
import type { Entry, HardState, Index, SnapshotMeta } from "../raft/types.ts";
import { LogReplay, parseHardStateRecord } from "./log-replay.ts";
import {
  FORMAT_VERSION,
  RECORD_HEADER_BYTES,
  RecordType,
  headerPayload,
  parseHeaderPayload,
  parseSegmentFileName,
  putRecord,
  sealRecords,
  segmentPath,
} from "./segment-format.ts";
import { intactRecordsFrom, readRecordAt, typeName } from "./segment-reader.ts";
import { StorageCorruptionError } from "./storage-errors.ts";

export interface TruncatedTail {
  /** First index removed; the log now ends at fromIndex − 1. */
  readonly fromIndex: Index;
  /** Entry records removed (the bad one, if it was an entry, and every intact one after it). */
  readonly dropped: number;
  readonly reason: string;
}

export interface RecoveryReport {
  readonly scannedEntries: number;
  readonly truncated: TruncatedTail | null;
  readonly loadMs: number;
  /** Segment files the log is read from after recovery. */
  readonly segments: number;
  /** Set when this open converted an old raft.db (legacy-log-database.ts). */
  readonly migratedFromSqlite?: boolean;
}

export interface RecoveredLog {
  readonly hardState: HardState;
  /** Compaction point / installed snapshot; null for a log that was never compacted. */
  readonly snapshot: SnapshotMeta | null;
  /** Every entry after snapshot.index (or from index 1), contiguous. */
  readonly entries: Entry[];
  readonly recovery: RecoveryReport;
}

export interface SegmentInfo {
  readonly seq: number;
  /** Highest entry index any record in the segment holds (0: none). */
  maxIndex: Index;
}

/** What the store needs beyond RecoveredLog to continue writing. */
export interface LogLayout {
  /** Live segments, oldest first (empty for a new log). */
  readonly segments: SegmentInfo[];
  /** Where the next record of the newest segment goes. */
  readonly tailBytes: number;
}

interface Problem {
  readonly seq: number;
  readonly offset: number;
  readonly reason: string;
  readonly torn: boolean;
  readonly typeByte: number;
  /** Written whole but its bytes changed (CRC mismatch, no unwritten sector). */
  readonly rotted: boolean;
  /** Where intact records may resume in the same segment (null: framing lost or torn). */
  readonly resumeAt: number | null;
}

export interface LogScan {
  readonly replay: LogReplay;
  readonly segments: SegmentInfo[];
  readonly tailBytes: number;
  readonly scannedEntries: number;
  readonly problem: Problem | null;
  /** Segments before a gap in the numbering: leftovers of a deletion (all compacted). */
  readonly stale: number[];
}

export function listSegments(dir: string): number[] {
  if (!existsSync(dir)) return [];
  const seqs: number[] = [];
  for (const name of readdirSync(dir)) {
    const seq = parseSegmentFileName(name);
    if (seq !== null) seqs.push(seq);
  }
  return seqs.sort((a, b) => a - b);
}

/** Reads and verifies every segment; changes nothing on disk. */
export function scanLog(dir: string): LogScan {
  const all = listSegments(dir);
  // Deletion removes a prefix of segments; if unlinks became durable out of order, a gap shows which are left over.
  let firstLive = all.length - 1;
  while (firstLive > 0 && all[firstLive - 1] === all[firstLive] - 1) firstLive--;
  const seqs = all.slice(Math.max(firstLive, 0));
  const replay = new LogReplay();
  const segments: SegmentInfo[] = [];
  let scannedEntries = 0;
  let tailBytes = 0;
  let problem: Problem | null = null;

  scan: for (const seq of seqs) {
    const buf = new Uint8Array(readFileSync(segmentPath(dir, seq)));
    const info: SegmentInfo = { seq, maxIndex: 0 };
    segments.push(info);
    let at = 0;
    for (;;) {
      const r = readRecordAt(buf, at);
      if (r.kind === "end") {
        if (at === 0) {
          problem = { seq, offset: 0, reason: `segment ${seq} is empty`, torn: true, typeByte: 0, rotted: false, resumeAt: null };
          break scan;
        }
        tailBytes = at;
        break;
      }
      if (r.kind === "bad") {
        problem = {
          seq,
          offset: at,
          reason: `segment ${seq}: ${r.reason}`,
          torn: r.torn,
          typeByte: r.typeByte,
          rotted: !r.torn && r.next !== null,
          resumeAt: r.torn ? null : r.next,
        };
        break scan;
      }
      const misplaced = (at === 0) !== (r.type === RecordType.header);
      let why: string | null = misplaced ? `segment ${seq}: ${typeName(r.type)} record at byte ${at} where ${at === 0 ? "the header" : "none"} belongs` : null;
      if (!why) {
        switch (r.type) {
          case RecordType.header: {
            const h = parseHeaderPayload(r.payload);
            if (!h || h.seq !== seq) why = `segment ${seq}: header does not name this segment`;
            else if (h.version !== FORMAT_VERSION) throw new StorageCorruptionError(`raft log: segment ${seq} has unsupported format version ${h.version}`);
            break;
          }
          case RecordType.entry:
            scannedEntries++;
            why = replay.entry(r.payload);
            if (!why) info.maxIndex = Math.max(info.maxIndex, replay.lastIndex());
            break;
          case RecordType.hardState:
            replay.hardStateRecord(r.payload);
            break;
          case RecordType.snapshot:
            replay.snapshotRecord(r.payload);
            break;
        }
      }
      if (why) {
        problem = { seq, offset: at, reason: why, torn: false, typeByte: r.type, rotted: false, resumeAt: r.end };
        break scan;
      }
      at = r.end;
    }
  }
  return { replay, segments, tailBytes, scannedEntries, problem, stale: all.slice(0, Math.max(firstLive, 0)) };
}

interface AfterDamage {
  /** Newest commit index in an intact hard state record after the damage. */
  readonly commit: Index;
  /** Entry records the cut removes. */
  readonly entries: number;
  /**
   * The state records after the damage that a cut must not lose — every
   * snapshot record, in order, and the last hard state (a vote, a term): they
   * were durable, the entries around them are what is given up.
   */
  readonly state: readonly { readonly type: RecordType; readonly payload: Uint8Array }[];
}

/** The intact records after the damage (read-only). */
function afterDamage(dir: string, p: Problem, laterSegments: readonly number[]): AfterDamage {
  let commit = 0;
  let entries = p.typeByte === RecordType.entry ? 1 : 0;
  const snapshots: { type: RecordType; payload: Uint8Array }[] = [];
  let hardState: { type: RecordType; payload: Uint8Array } | null = null;
  const visit = (buf: Uint8Array, from: number) => {
    for (const r of intactRecordsFrom(buf, from)) {
      if (r.type === RecordType.entry) entries++;
      if (r.type === RecordType.snapshot) snapshots.push({ type: r.type, payload: r.payload });
      if (r.type !== RecordType.hardState) continue;
      hardState = { type: r.type, payload: r.payload };
      try {
        commit = Math.max(commit, parseHardStateRecord(r.payload).commit);
      } catch {
        // Replaying it below throws StorageCorruptionError.
      }
    }
  };
  if (p.resumeAt !== null) visit(new Uint8Array(readFileSync(segmentPath(dir, p.seq))), p.resumeAt);
  for (const seq of laterSegments) visit(new Uint8Array(readFileSync(segmentPath(dir, seq))), 0);
  return { commit, entries, state: hardState ? [...snapshots, hardState] : snapshots };
}

/** Framed, sealed records. */
function recordsOf(list: readonly { readonly type: RecordType; readonly payload: Uint8Array }[]): Uint8Array {
  let size = 0;
  for (const r of list) size += RECORD_HEADER_BYTES + r.payload.length;
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  let at = 0;
  for (const r of list) at = putRecord(out, view, at, r.type, r.payload);
  sealRecords(out);
  return out;
}

export function recoverLog(dir: string): { log: RecoveredLog; layout: LogLayout } {
  const t0 = performance.now();
  const scan = scanLog(dir);
  const { replay } = scan;
  let segments = scan.segments;
  let tailBytes = scan.tailBytes;
  let truncated: TruncatedTail | null = null;
  const p = scan.problem;
  if (p !== null) {
    const later = listSegments(dir).filter((s) => s > p.seq);
    const damage = afterDamage(dir, p, later);
    if (p.rotted && p.typeByte !== RecordType.entry) {
      throw new StorageCorruptionError(`raft log: ${p.reason}; refusing to start on a damaged ${typeName(p.typeByte)} record`);
    }
    const fromIndex = replay.lastIndex() + 1;
    const commit = Math.max(replay.hardState.commit, damage.commit);
    if (fromIndex <= commit) {
      throw new StorageCorruptionError(
        `raft log: ${p.reason} (entry ${fromIndex} on), at or below the commit index ${commit}; refusing to start on a log that lost committed entries`,
      );
    }
    for (const r of damage.state) {
      if (r.type === RecordType.snapshot) replay.snapshotRecord(r.payload);
      else replay.hardStateRecord(r.payload);
    }
    replay.finish();
    // Repair. The damaged segment first (keeping its valid prefix and, after it, the state records that
    // followed the damage), then the later segments newest first: a crash in between leaves a log
    // that the next open repairs the same way.
    if (damage.state.length === 0 && p.offset > 0) {
      fsyncPath(segmentPath(dir, p.seq), p.offset);
      tailBytes = p.offset;
    } else if (damage.state.length === 0 && segments.length > 1) {
      unlinkSync(segmentPath(dir, p.seq));
      segments = segments.filter((s) => s.seq !== p.seq);
      tailBytes = scan.tailBytes; // the previous segment's end (scanLog sets it at the end of each segment)
    } else {
      const prefix = p.offset > 0 ? new Uint8Array(readFileSync(segmentPath(dir, p.seq))).subarray(0, p.offset) : recordsOf([{ type: RecordType.header, payload: headerPayload(p.seq) }]);
      const extra = recordsOf(damage.state);
      const content = new Uint8Array(prefix.length + extra.length);
      content.set(prefix);
      content.set(extra, prefix.length);
      replaceFileDurably(dir, segmentPath(dir, p.seq), content);
      tailBytes = content.length;
    }
    for (const seq of later.reverse()) unlinkSync(segmentPath(dir, seq));
    fsyncPath(dir);
    truncated = { fromIndex, dropped: damage.entries, reason: p.reason };
  } else {
    replay.finish();
  }
  if (scan.stale.length > 0) {
    for (const seq of scan.stale) unlinkSync(segmentPath(dir, seq));
    fsyncPath(dir);
  }
  return {
    log: {
      hardState: replay.hardState,
      snapshot: replay.snapshot,
      entries: replay.entries,
      recovery: { scannedEntries: scan.scannedEntries, truncated, loadMs: performance.now() - t0, segments: segments.length },
    },
    layout: { segments, tailBytes },
  };
}
