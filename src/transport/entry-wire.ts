/**
 * Binary encoding of one Raft log entry. The message codec embeds it in
 * AppendEntries; storage may reuse it (encodeEntry/decodeEntry) so an entry
 * has one byte representation on disk and on the wire.
 *
 *   entry   := kind:u8 term:uvarint index:uvarint body
 *   normal  := data:bytes                      (raw payload, no base64)
 *   noop    := (nothing)
 *   conf    := op:u8 (member-identity | id:string)
 */
import type { ConfChange, Entry } from "../raft/types.ts";
import { ByteReader } from "./byte-reader.ts";
import { ByteWriter } from "./byte-writer.ts";
import { readMemberIdentity, writeMemberIdentity } from "./member-wire.ts";
import { WireFormatError } from "./wire-format-error.ts";
import { MAX_NODE_ID_BYTES, checkNonEmpty, checkString, checkUint } from "./wire-limits.ts";

const KIND_NORMAL = 0;
const KIND_NOOP = 1;
const KIND_CONF = 2;

const OP_ADD_VOTER = 0;
const OP_ADD_LEARNER = 1;
const OP_PROMOTE = 2;
const OP_REMOVE = 3;

export function writeEntry(w: ByteWriter, e: Entry): void {
  checkUint("entry.term", e.term);
  checkUint("entry.index", e.index);
  switch (e.type) {
    case "normal":
      if (!(e.data instanceof Uint8Array)) throw new WireFormatError("entry.data must be a Uint8Array");
      w.u8(KIND_NORMAL);
      w.uvarint(e.term);
      w.uvarint(e.index);
      w.bytes(e.data);
      return;
    case "noop":
      w.u8(KIND_NOOP);
      w.uvarint(e.term);
      w.uvarint(e.index);
      return;
    case "conf":
      w.u8(KIND_CONF);
      w.uvarint(e.term);
      w.uvarint(e.index);
      writeConfChange(w, e.change);
      return;
    default:
      throw new WireFormatError(`unknown entry type ${String((e as { type: unknown }).type)}`);
  }
}

export function readEntry(r: ByteReader): Entry {
  const kind = r.u8();
  const term = r.uvarint();
  const index = r.uvarint();
  switch (kind) {
    case KIND_NORMAL:
      return { type: "normal", term, index, data: r.bytes() };
    case KIND_NOOP:
      return { type: "noop", term, index };
    case KIND_CONF:
      return { type: "conf", term, index, change: readConfChange(r) };
    default:
      throw new WireFormatError(`unknown entry kind ${kind}`);
  }
}

function writeConfChange(w: ByteWriter, c: ConfChange): void {
  switch (c.op) {
    case "add-voter":
      w.u8(OP_ADD_VOTER);
      writeMemberIdentity(w, c.member);
      return;
    case "add-learner":
      w.u8(OP_ADD_LEARNER);
      writeMemberIdentity(w, c.member);
      return;
    case "promote":
      checkString("conf.id", c.id, MAX_NODE_ID_BYTES);
      w.u8(OP_PROMOTE);
      w.string(c.id);
      return;
    case "remove":
      checkString("conf.id", c.id, MAX_NODE_ID_BYTES);
      w.u8(OP_REMOVE);
      w.string(c.id);
      return;
    default:
      throw new WireFormatError(`unknown conf change op ${String((c as { op: unknown }).op)}`);
  }
}

function readConfChange(r: ByteReader): ConfChange {
  const op = r.u8();
  switch (op) {
    case OP_ADD_VOTER:
      return { op: "add-voter", member: readMemberIdentity(r) };
    case OP_ADD_LEARNER:
      return { op: "add-learner", member: readMemberIdentity(r) };
    case OP_PROMOTE:
      return { op: "promote", id: checkNonEmpty("conf.id", r.string(MAX_NODE_ID_BYTES)) };
    case OP_REMOVE:
      return { op: "remove", id: checkNonEmpty("conf.id", r.string(MAX_NODE_ID_BYTES)) };
    default:
      throw new WireFormatError(`unknown conf change op code ${op}`);
  }
}

/** One entry as a standalone byte string (e.g. a storage row). */
export function encodeEntry(e: Entry): Uint8Array {
  const w = new ByteWriter(e.type === "normal" ? e.data.length + 24 : 64);
  writeEntry(w, e);
  return w.finish();
}

/** Inverse of encodeEntry; throws WireFormatError on anything else. */
export function decodeEntry(b: Uint8Array): Entry {
  const r = new ByteReader(b);
  const e = readEntry(r);
  r.expectEnd();
  return e;
}
