/**
 * Reader for the log format before segment files: one SQLite database,
 * dir/raft.db, with tables entries(idx, term, crc, body) and state(key, value,
 * crc) — kept only to convert such a directory on open (migrateLegacyLog).
 *
 * The conversion writes everything the old recovery would have accepted as a
 * first segment, syncs it, and only then renames raft.db* to
 * raft.db.migrated*: a crash in between finds the segment and ignores the
 * old files. Damage in the old log follows the old rule (cut above the commit
 * index, StorageCorruptionError at or below it, nothing changed).
 */
import { Database } from "bun:sqlite";
import { existsSync, renameSync } from "node:fs";
import { fsyncPath, replaceFileDurably } from "./durable-files.ts";
import { join } from "node:path";
import type { Entry, HardState, SnapshotMeta } from "../raft/types.ts";
import { decodeEntry } from "./entry-codec.ts";
import { encodedEntry, frameBatch, type BatchOp } from "./group-commit-batch.ts";
import { sealRecords, segmentPath } from "./segment-format.ts";
import { EMPTY_HARD_STATE, hardStateJson, isHardState, isSnapshotMeta, snapshotMetaJson } from "./state-records.ts";
import { StorageCorruptionError } from "./storage-errors.ts";
import type { TruncatedTail } from "./log-recovery.ts";

export const LEGACY_LOG_DB_FILE = "raft.db";

const checksum = (data: Uint8Array | string): number => Bun.hash.crc32(data);

function readState(db: Database, key: "hardState" | "snapshot"): unknown {
  const row = db.query<{ value: string; crc: number }, [string]>("SELECT value, crc FROM state WHERE key = ?1").get(key);
  if (!row) return undefined;
  if (checksum(row.value) !== row.crc) throw new StorageCorruptionError(`raft log: legacy ${key} record fails its checksum`);
  try {
    return JSON.parse(row.value);
  } catch {
    throw new StorageCorruptionError(`raft log: legacy ${key} record is not JSON`);
  }
}

interface LegacyLog {
  readonly hardState: HardState;
  readonly snapshot: SnapshotMeta | null;
  readonly entries: Entry[];
  readonly truncated: TruncatedTail | null;
}

function readLegacyLog(db: Database): LegacyLog {
  const format = db.query<{ value: string }, []>("SELECT value FROM state WHERE key = 'format'").get();
  if (format && format.value !== "1") throw new StorageCorruptionError(`raft log: unsupported legacy format ${format.value}`);
  const hs = readState(db, "hardState") ?? EMPTY_HARD_STATE;
  if (!isHardState(hs)) throw new StorageCorruptionError("raft log: legacy hardState record has the wrong shape");
  const snap = readState(db, "snapshot") ?? null;
  if (snap !== null && !isSnapshotMeta(snap)) throw new StorageCorruptionError("raft log: legacy snapshot record has the wrong shape");
  const snapIndex = snap?.index ?? 0;
  const rows = db
    .query<[number, number, number, Uint8Array], [number]>("SELECT idx, term, crc, body FROM entries WHERE idx > ?1 ORDER BY idx")
    .values(snapIndex) as [number, number, number, Uint8Array][];
  const entries: Entry[] = [];
  let minTerm = snap?.term ?? 0;
  let problem: string | null = null;
  for (const [idx, term, crc, body] of rows) {
    const expect = snapIndex + entries.length + 1;
    if (idx !== expect) problem = `gap: expected index ${expect}, found ${idx}`;
    else if (!(body instanceof Uint8Array) || checksum(body) !== crc) problem = `entry ${idx} fails its checksum`;
    else {
      try {
        const e = decodeEntry(body);
        if (e.index !== idx || e.term !== term) problem = `entry ${idx} disagrees with its row`;
        else if (term < minTerm) problem = `entry ${idx} has term ${term} below its predecessor's ${minTerm}`;
        else {
          entries.push(e);
          minTerm = term;
        }
      } catch {
        problem = `entry ${idx} does not decode`;
      }
    }
    if (problem) break;
  }
  let truncated: TruncatedTail | null = null;
  if (problem) {
    const fromIndex = snapIndex + entries.length + 1;
    if (fromIndex <= hs.commit) throw new StorageCorruptionError(`raft log: legacy ${problem}, at or below the commit index ${hs.commit}`);
    truncated = { fromIndex, dropped: rows.length - entries.length, reason: `legacy raft.db: ${problem}` };
  }
  return { hardState: hs, snapshot: snap, entries, truncated };
}

/**
 * Converts dir/raft.db into segment 1 if the directory has no segments yet.
 * Returns whether it did, and any tail the old checks cut.
 */
export function migrateLegacyLog(dir: string, hasSegments: boolean): { migrated: boolean; truncated: TruncatedTail | null } {
  const dbPath = join(dir, LEGACY_LOG_DB_FILE);
  if (hasSegments || !existsSync(dbPath)) return { migrated: false, truncated: null };
  // Read-write, so SQLite replays a WAL left by the old writer.
  const db = new Database(dbPath, { strict: true });
  let old: LegacyLog;
  try {
    old = readLegacyLog(db);
  } finally {
    db.close(true);
  }
  const ops: BatchOp[] = [];
  if (old.entries.length > 0) ops.push({ kind: "entries", entries: old.entries.map(encodedEntry) });
  const records = frameBatch(
    { seq: 1, hardStateJson: hardStateJson(old.hardState), snapshotJson: old.snapshot ? snapshotMetaJson(old.snapshot) : null },
    ops,
  );
  sealRecords(records);
  replaceFileDurably(dir, segmentPath(dir, 1), records);
  for (const suffix of ["", "-wal", "-shm"]) {
    if (existsSync(dbPath + suffix)) renameSync(dbPath + suffix, `${dbPath}.migrated${suffix}`);
  }
  fsyncPath(dir);
  return { migrated: true, truncated: old.truncated };
}
