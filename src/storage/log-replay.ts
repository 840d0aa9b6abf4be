/**
 * Rebuilds the log from its records in write order, like etcd's WAL: an entry
 * record with index i cuts the log at i and appends (a conflicting suffix is
 * replaced by appending, never by rewriting), the last hard state wins, and a
 * snapshot record moves the compaction point (Raft paper §7: keeping the
 * suffix after it only if the writer found the log matching it).
 *
 * Segments whose entries were all compacted away are deleted, so replay may
 * start in the middle of the log: the first segment's state records give the
 * compaction point as of its creation, and its first entries may continue
 * from a deleted segment. That gap (a "hole") is allowed until a later
 * snapshot record covers it; one still open at the end means a segment is
 * missing.
 */
import type { Entry, HardState, Index, SnapshotMeta, Term } from "../raft/types.ts";
import { decodeEntry } from "./entry-codec.ts";
import { EMPTY_HARD_STATE, isHardState, isSnapshotMeta } from "./state-records.ts";
import { StorageCorruptionError } from "./storage-errors.ts";

const utf8 = new TextDecoder("utf-8", { fatal: true });

function parseJson(what: string, bytes: Uint8Array): unknown {
  try {
    return JSON.parse(utf8.decode(bytes));
  } catch {
    throw new StorageCorruptionError(`raft log: ${what} record is not JSON`);
  }
}

/** A hard state record's payload, checked; throws StorageCorruptionError if it is not one. */
export function parseHardStateRecord(payload: Uint8Array): HardState {
  const v = parseJson("hardState", payload);
  if (!isHardState(v)) throw new StorageCorruptionError("raft log: hardState record has the wrong shape");
  return v;
}

export class LogReplay {
  hardState: HardState = EMPTY_HARD_STATE;
  snapshot: SnapshotMeta | null = null;
  /** Index just before entries[0]: the compaction point, or the end of a hole. */
  private base: Index = 0;
  /** Term at `base`; null inside a hole (the entry there is in a deleted segment). */
  private baseTerm: Term | null = 0;
  entries: Entry[] = [];
  private sawEntry = false;

  lastIndex(): Index {
    return this.base + this.entries.length;
  }

  /** Applies an entry record; returns why it does not fit the log (the caller treats it as corruption), or null. */
  entry(bytes: Uint8Array): string | null {
    let e: Entry;
    try {
      e = decodeEntry(bytes);
    } catch (err) {
      return `entry ${this.lastIndex() + 1} does not decode (${err instanceof Error ? err.message : String(err)})`;
    }
    const snapIndex = this.snapshot?.index ?? 0;
    if (e.index <= snapIndex) return `entry ${e.index} is at or below the compaction point ${snapIndex}`;
    if (!this.sawEntry && this.entries.length === 0 && e.index > this.base + 1) {
      this.base = e.index - 1;
      this.baseTerm = null;
    }
    this.sawEntry = true;
    if (e.index > this.lastIndex() + 1) return `gap: expected index ${this.lastIndex() + 1} or below, found ${e.index}`;
    const prevTerm = e.index - 1 === this.base ? this.baseTerm : this.entries[e.index - 2 - this.base].term;
    if (prevTerm !== null && e.term < prevTerm) return `entry ${e.index} has term ${e.term} below its predecessor's ${prevTerm}`;
    this.entries.length = e.index - 1 - this.base;
    this.entries.push(e);
    return null;
  }

  hardStateRecord(payload: Uint8Array): void {
    this.hardState = parseHardStateRecord(payload);
  }

  snapshotRecord(payload: Uint8Array): void {
    if (payload.length < 1 || payload[0] > 1) throw new StorageCorruptionError("raft log: snapshot record has the wrong shape");
    const s = parseJson("snapshot", payload.subarray(1));
    if (!isSnapshotMeta(s)) throw new StorageCorruptionError("raft log: snapshot record has the wrong shape");
    if (s.index < (this.snapshot?.index ?? 0)) {
      throw new StorageCorruptionError(`raft log: snapshot record ${s.index} is older than the compaction point ${this.snapshot?.index}`);
    }
    const keepSuffix = payload[0] === 1;
    if (!keepSuffix) {
      this.entries = [];
      this.base = s.index;
      this.baseTerm = s.term;
    } else if (s.index >= this.base) {
      this.entries = s.index >= this.lastIndex() ? [] : this.entries.slice(s.index - this.base);
      this.base = s.index;
      this.baseTerm = s.term;
    } // else: the compaction point is inside a hole, whose entries were compacted away already.
    this.snapshot = s;
  }

  /** Throws if a hole is still open (entries after the compaction point are missing). */
  finish(): void {
    const snapIndex = this.snapshot?.index ?? 0;
    if (this.base !== snapIndex) {
      throw new StorageCorruptionError(
        `raft log: entries ${snapIndex + 1}–${this.base} are missing (a segment was lost); refusing to start on an incomplete log`,
      );
    }
  }
}
