/**
 * The two non-entry records of the Raft log — hard state and snapshot meta —
 * as JSON, with strict shape checks on the way back in.
 */
import type { HardState, Member, Membership, SnapshotMeta } from "../raft/types.ts";

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
