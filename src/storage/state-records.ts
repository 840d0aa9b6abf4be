/**
 * The two non-log records of the Raft log database — hard state and snapshot
 * meta — as checksummed JSON rows, with strict parsing on the way back in.
 */
import type { Database } from "bun:sqlite";
import type { HardState, Member, Membership, SnapshotMeta } from "../raft/types.ts";
import { checksum } from "./log-database.ts";
import { StorageCorruptionError } from "./storage-errors.ts";

export type StateKey = "hardState" | "snapshot";

export const EMPTY_HARD_STATE: HardState = { term: 0, vote: null, commit: 0 };

function isUint(v: unknown): v is number {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
}

export function isHardState(v: unknown): v is HardState {
  if (typeof v !== "object" || v === null) return false;
  const h = v as Record<string, unknown>;
  return isUint(h.term) && isUint(h.commit) && (h.vote === null || typeof h.vote === "string");
}

function isMember(v: unknown): v is Member {
  if (typeof v !== "object" || v === null) return false;
  const m = v as Record<string, unknown>;
  return (
    typeof m.id === "string" &&
    (m.role === "voter" || m.role === "learner") &&
    typeof m.region === "string" &&
    (m.raftAddr === undefined || typeof m.raftAddr === "string") &&
    (m.httpAddr === undefined || typeof m.httpAddr === "string")
  );
}

export function isMembership(v: unknown): v is Membership {
  if (typeof v !== "object" || v === null) return false;
  const members = (v as Record<string, unknown>).members;
  return Array.isArray(members) && members.every(isMember);
}

export function isSnapshotMeta(v: unknown): v is SnapshotMeta {
  if (typeof v !== "object" || v === null) return false;
  const s = v as Record<string, unknown>;
  return isUint(s.index) && isUint(s.term) && isMembership(s.membership);
}

/** Stable field order, so equal states serialize to equal bytes. */
export function hardStateJson(h: HardState): string {
  return JSON.stringify({ term: h.term, vote: h.vote, commit: h.commit });
}

export function snapshotMetaJson(s: SnapshotMeta): string {
  return JSON.stringify({ index: s.index, term: s.term, membership: s.membership });
}

function readRecord(db: Database, key: StateKey): unknown | undefined {
  const row = db.query<{ value: string; crc: number }, [string]>("SELECT value, crc FROM state WHERE key = ?1").get(key);
  if (!row) return undefined;
  if (checksum(row.value) !== row.crc) throw new StorageCorruptionError(`raft log: ${key} record fails its checksum`);
  try {
    return JSON.parse(row.value);
  } catch {
    throw new StorageCorruptionError(`raft log: ${key} record is not JSON`);
  }
}

export function readHardState(db: Database): HardState {
  const v = readRecord(db, "hardState");
  if (v === undefined) return EMPTY_HARD_STATE;
  if (!isHardState(v)) throw new StorageCorruptionError("raft log: hardState record has the wrong shape");
  return v;
}

export function readSnapshotMeta(db: Database): SnapshotMeta | null {
  const v = readRecord(db, "snapshot");
  if (v === undefined) return null;
  if (!isSnapshotMeta(v)) throw new StorageCorruptionError("raft log: snapshot record has the wrong shape");
  return v;
}
