import type { Member, Membership, SnapshotMeta } from "../raft/types.ts";
import type { ByteReader } from "./byte-reader.ts";
import type { ByteWriter } from "./byte-writer.ts";
import { WireFormatError } from "./wire-format-error.ts";
import {
  MAX_ADDR_BYTES,
  MAX_MEMBERS,
  MAX_NODE_ID_BYTES,
  MAX_REGION_BYTES,
  checkNonEmpty,
  checkString,
  checkUint,
} from "./wire-limits.ts";

const HAS_RAFT_ADDR = 1;
const HAS_HTTP_ADDR = 2;

export type MemberIdentity = Omit<Member, "role">;

/** id, region and the optional addresses (everything of a Member but its role). */
export function writeMemberIdentity(w: ByteWriter, m: MemberIdentity): void {
  checkString("member.id", m.id, MAX_NODE_ID_BYTES);
  checkString("member.region", m.region, MAX_REGION_BYTES, true);
  w.string(m.id);
  w.string(m.region);
  const flags = (m.raftAddr !== undefined ? HAS_RAFT_ADDR : 0) | (m.httpAddr !== undefined ? HAS_HTTP_ADDR : 0);
  w.u8(flags);
  if (m.raftAddr !== undefined) {
    checkString("member.raftAddr", m.raftAddr, MAX_ADDR_BYTES, true);
    w.string(m.raftAddr);
  }
  if (m.httpAddr !== undefined) {
    checkString("member.httpAddr", m.httpAddr, MAX_ADDR_BYTES, true);
    w.string(m.httpAddr);
  }
}

export function readMemberIdentity(r: ByteReader): MemberIdentity {
  const id = checkNonEmpty("member.id", r.string(MAX_NODE_ID_BYTES));
  const region = r.string(MAX_REGION_BYTES);
  const flags = r.u8();
  if ((flags & ~(HAS_RAFT_ADDR | HAS_HTTP_ADDR)) !== 0) throw new WireFormatError(`invalid member flags ${flags}`);
  const raftAddr = flags & HAS_RAFT_ADDR ? r.string(MAX_ADDR_BYTES) : undefined;
  const httpAddr = flags & HAS_HTTP_ADDR ? r.string(MAX_ADDR_BYTES) : undefined;
  // Absent optional fields stay absent (not `undefined`) so decoded values deep-equal the originals.
  return {
    id,
    region,
    ...(raftAddr !== undefined ? { raftAddr } : {}),
    ...(httpAddr !== undefined ? { httpAddr } : {}),
  };
}

const ROLE_CODES = { voter: 0, learner: 1 } as const;
const ROLES = ["voter", "learner"] as const;

export function writeMember(w: ByteWriter, m: Member): void {
  const code = ROLE_CODES[m.role];
  if (code === undefined) throw new WireFormatError(`invalid member role ${String(m.role)}`);
  w.u8(code);
  writeMemberIdentity(w, m);
}

export function readMember(r: ByteReader): Member {
  const code = r.u8();
  const role = ROLES[code];
  if (role === undefined) throw new WireFormatError(`invalid member role code ${code}`);
  return { ...readMemberIdentity(r), role };
}

export function writeMembership(w: ByteWriter, m: Membership): void {
  if (m.members.length > MAX_MEMBERS) throw new WireFormatError(`more than ${MAX_MEMBERS} members`);
  w.uvarint(m.members.length);
  for (const member of m.members) writeMember(w, member);
}

export function readMembership(r: ByteReader): Membership {
  const n = r.uvarint();
  // Each member takes at least 4 bytes; a count the input cannot hold is garbage.
  if (n > MAX_MEMBERS || n * 4 > r.remaining) throw new WireFormatError(`invalid member count ${n}`);
  const members: Member[] = new Array(n);
  for (let i = 0; i < n; i++) members[i] = readMember(r);
  return { members };
}

export function writeSnapshotMeta(w: ByteWriter, meta: SnapshotMeta): void {
  checkUint("snapshot.index", meta.index);
  checkUint("snapshot.term", meta.term);
  w.uvarint(meta.index);
  w.uvarint(meta.term);
  writeMembership(w, meta.membership);
}

export function readSnapshotMeta(r: ByteReader): SnapshotMeta {
  const index = r.uvarint();
  const term = r.uvarint();
  const membership = readMembership(r);
  return { index, term, membership };
}
