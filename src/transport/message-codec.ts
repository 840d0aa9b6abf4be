/**
 * Compact binary codec for batches of Raft messages (the body of
 * POST /raft/messages, and of each frame on POST /raft/stream). Decoding validates everything and throws
 * WireFormatError; the server answers that with 400.
 *
 *   batch   := "QM" version:u8(=1) nstr:uvarint string{nstr} nmsg:uvarint msg{nmsg}
 *   msg     := type:u8 from:uvarint to:uvarint term:uvarint body      (from/to index the string table)
 *   append          := prevIndex prevTerm commit nentries:uvarint (length:uvarint entry)*
 *                      (entry: src/storage/entry-codec.ts, the same bytes as in the durable log)
 *   append-resp     := index reject:u8 hintIndex hintTerm
 *   vote            := flags:u8(pre=1,transfer=2) lastIndex lastTerm
 *   vote-resp       := flags:u8(pre=1,granted=2)
 *   heartbeat       := commit ctx?            heartbeat-resp := ctx?
 *   snapshot        := index term nmembers:uvarint (role:u8 id region flags:u8 raftAddr? httpAddr?)*
 *   timeout-now     := (nothing)              read-index := ctx
 *   read-index-resp := ctx index+1            (index is -1 when refused)
 *   ctx? := present:u8 [string]; integers are uvarints; strings are uvarint length + UTF-8.
 */
import type { Entry, Message, MessageType } from "../raft/types.ts";
import { ByteReader } from "./byte-reader.ts";
import { ByteWriter } from "./byte-writer.ts";
import { decodeEntry, encodedEntrySize, writeEntry } from "../storage/entry-codec.ts";
import { readSnapshotMeta, writeSnapshotMeta } from "./member-wire.ts";
import { WireFormatError } from "./wire-format-error.ts";
import { MAX_CTX_BYTES, MAX_NODE_ID_BYTES, checkNonEmpty, checkString, checkUint } from "./wire-limits.ts";

const MAGIC_0 = 0x51; // 'Q'
const MAGIC_1 = 0x4d; // 'M'
const VERSION = 1;

const TYPE_CODES: { readonly [K in MessageType]: number } = {
  append: 0,
  "append-resp": 1,
  vote: 2,
  "vote-resp": 3,
  heartbeat: 4,
  "heartbeat-resp": 5,
  snapshot: 6,
  "timeout-now": 7,
  "read-index": 8,
  "read-index-resp": 9,
};
const TYPES_BY_CODE: readonly MessageType[] = Object.entries(TYPE_CODES)
  .sort((a, b) => a[1] - b[1])
  .map(([t]) => t as MessageType);

export function encodeMessages(msgs: readonly Message[]): Uint8Array {
  const w = new ByteWriter(64 + msgs.length * 16 + payloadBytes(msgs));
  writeMessages(w, msgs);
  return w.finish();
}

/** Appends the batch encoding of `msgs` to `w` (lets a framing layer write its header into the same buffer). */
export function writeMessages(w: ByteWriter, msgs: readonly Message[]): void {
  const strings = new Map<string, number>();
  for (const m of msgs) {
    internNodeId(strings, m.from);
    internNodeId(strings, m.to);
  }
  w.u8(MAGIC_0);
  w.u8(MAGIC_1);
  w.u8(VERSION);
  w.uvarint(strings.size);
  for (const s of strings.keys()) w.string(s);
  w.uvarint(msgs.length);
  for (const m of msgs) writeMessage(w, m, strings);
}

function internNodeId(strings: Map<string, number>, id: string): void {
  if (strings.has(id)) return;
  checkString("node id", id, MAX_NODE_ID_BYTES);
  strings.set(id, strings.size);
}

/**
 * Inverse of encodeMessages. Normal entries' `data` are views into `b`
 * (zero-copy): the caller must not reuse `b` for anything else.
 */
export function decodeMessages(b: Uint8Array): Message[] {
  const r = new ByteReader(b);
  if (r.u8() !== MAGIC_0 || r.u8() !== MAGIC_1) throw new WireFormatError("not a quorumlite message batch");
  const version = r.u8();
  if (version !== VERSION) throw new WireFormatError(`unsupported message batch version ${version}`);
  const nstr = r.uvarint();
  if (nstr > r.remaining) throw new WireFormatError(`invalid string table size ${nstr}`);
  const strings: string[] = new Array(nstr);
  for (let i = 0; i < nstr; i++) strings[i] = checkNonEmpty("node id", r.string(MAX_NODE_ID_BYTES));
  const n = r.uvarint();
  // The smallest message (timeout-now) takes 4 bytes.
  if (n * 4 > r.remaining) throw new WireFormatError(`invalid message count ${n}`);
  const out: Message[] = new Array(n);
  for (let i = 0; i < n; i++) out[i] = readMessage(r, strings);
  r.expectEnd();
  return out;
}

/** Rough wire size of a message; used for batching and queue bounds without encoding. */
export function estimateMessageBytes(m: Message): number {
  if (m.type !== "append") return m.type === "snapshot" ? 64 + 64 * m.meta.membership.members.length : 48;
  let n = 48;
  for (const e of m.entries) n += 24 + (e.type === "normal" ? e.data.length : e.type === "conf" ? 256 : 0);
  return n;
}

function payloadBytes(msgs: readonly Message[]): number {
  let n = 0;
  for (const m of msgs) n += estimateMessageBytes(m);
  return n;
}

function writeMessage(w: ByteWriter, m: Message, strings: ReadonlyMap<string, number>): void {
  const code = TYPE_CODES[m.type];
  if (code === undefined) throw new WireFormatError(`unknown message type ${String(m.type)}`);
  checkUint("term", m.term);
  w.u8(code);
  w.uvarint(strings.get(m.from)!);
  w.uvarint(strings.get(m.to)!);
  w.uvarint(m.term);
  switch (m.type) {
    case "append":
      checkUint("prevIndex", m.prevIndex);
      checkUint("prevTerm", m.prevTerm);
      checkUint("commit", m.commit);
      w.uvarint(m.prevIndex);
      w.uvarint(m.prevTerm);
      w.uvarint(m.commit);
      w.uvarint(m.entries.length);
      for (const e of m.entries) writeEntryChecked(w, e);
      return;
    case "append-resp":
      checkUint("index", m.index);
      checkUint("hintIndex", m.hintIndex);
      checkUint("hintTerm", m.hintTerm);
      w.uvarint(m.index);
      w.u8(m.reject ? 1 : 0);
      w.uvarint(m.hintIndex);
      w.uvarint(m.hintTerm);
      return;
    case "vote":
      checkUint("lastIndex", m.lastIndex);
      checkUint("lastTerm", m.lastTerm);
      w.u8((m.pre ? 1 : 0) | (m.transfer ? 2 : 0));
      w.uvarint(m.lastIndex);
      w.uvarint(m.lastTerm);
      return;
    case "vote-resp":
      w.u8((m.pre ? 1 : 0) | (m.granted ? 2 : 0));
      return;
    case "heartbeat":
      checkUint("commit", m.commit);
      w.uvarint(m.commit);
      writeOptionalCtx(w, m.ctx);
      return;
    case "heartbeat-resp":
      writeOptionalCtx(w, m.ctx);
      return;
    case "snapshot":
      writeSnapshotMeta(w, m.meta);
      return;
    case "timeout-now":
      return;
    case "read-index":
      checkString("ctx", m.ctx, MAX_CTX_BYTES, true);
      w.string(m.ctx);
      return;
    case "read-index-resp":
      checkString("ctx", m.ctx, MAX_CTX_BYTES, true);
      if (m.index !== -1) checkUint("index", m.index);
      w.string(m.ctx);
      w.uvarint(m.index + 1);
      return;
  }
}

function readMessage(r: ByteReader, strings: readonly string[]): Message {
  const code = r.u8();
  const type = TYPES_BY_CODE[code];
  if (type === undefined) throw new WireFormatError(`unknown message type code ${code}`);
  const from = stringRef(r, strings);
  const to = stringRef(r, strings);
  const term = r.uvarint();
  switch (type) {
    case "append": {
      const prevIndex = r.uvarint();
      const prevTerm = r.uvarint();
      const commit = r.uvarint();
      const n = r.uvarint();
      // The smallest entry (length + noop) takes 4 bytes.
      if (n * 4 > r.remaining) throw new WireFormatError(`invalid entry count ${n}`);
      const entries: Entry[] = new Array(n);
      let lastTerm = prevTerm;
      for (let i = 0; i < n; i++) {
        const e = decodeEntryChecked(r.bytesView());
        // AppendEntries carries a contiguous run of the leader's log (Raft paper §5.3), whose terms never
        // decrease and never exceed the leader's term (§5.1); anything else is corruption, not a message.
        if (e.index !== prevIndex + 1 + i) throw new WireFormatError(`entry ${i} has index ${e.index}, expected ${prevIndex + 1 + i}`);
        if (e.term < lastTerm || e.term > term) throw new WireFormatError(`entry ${e.index} has out-of-order term ${e.term}`);
        lastTerm = e.term;
        entries[i] = e;
      }
      return { type, from, to, term, prevIndex, prevTerm, entries, commit };
    }
    case "append-resp": {
      const index = r.uvarint();
      const reject = r.bool();
      const hintIndex = r.uvarint();
      const hintTerm = r.uvarint();
      return { type, from, to, term, index, reject, hintIndex, hintTerm };
    }
    case "vote": {
      const flags = readFlags(r, 3);
      const lastIndex = r.uvarint();
      const lastTerm = r.uvarint();
      return { type, from, to, term, pre: (flags & 1) !== 0, lastIndex, lastTerm, transfer: (flags & 2) !== 0 };
    }
    case "vote-resp": {
      const flags = readFlags(r, 3);
      return { type, from, to, term, pre: (flags & 1) !== 0, granted: (flags & 2) !== 0 };
    }
    case "heartbeat": {
      const commit = r.uvarint();
      return { type, from, to, term, commit, ctx: readOptionalCtx(r) };
    }
    case "heartbeat-resp":
      return { type, from, to, term, ctx: readOptionalCtx(r) };
    case "snapshot":
      return { type, from, to, term, meta: readSnapshotMeta(r) };
    case "timeout-now":
      return { type, from, to, term };
    case "read-index":
      return { type, from, to, term, ctx: r.string(MAX_CTX_BYTES) };
    case "read-index-resp": {
      const ctx = r.string(MAX_CTX_BYTES);
      return { type, from, to, term, ctx, index: r.uvarint() - 1 };
    }
  }
}

function stringRef(r: ByteReader, strings: readonly string[]): string {
  const i = r.uvarint();
  const s = strings[i];
  if (s === undefined) throw new WireFormatError(`string reference ${i} out of range`);
  return s;
}

function readFlags(r: ByteReader, mask: number): number {
  const flags = r.u8();
  if ((flags & ~mask) !== 0) throw new WireFormatError(`invalid flags ${flags}`);
  return flags;
}

function writeOptionalCtx(w: ByteWriter, ctx: string | null): void {
  if (ctx === null) {
    w.u8(0);
    return;
  }
  checkString("ctx", ctx, MAX_CTX_BYTES, true);
  w.u8(1);
  w.string(ctx);
}

function readOptionalCtx(r: ByteReader): string | null {
  return r.bool() ? r.string(MAX_CTX_BYTES) : null;
}

/** `length:uvarint entry`, the entry written straight into the batch (same bytes as encodeEntry). */
function writeEntryChecked(w: ByteWriter, e: Entry): void {
  let size: number;
  try {
    size = encodedEntrySize(e);
  } catch (err) {
    throw new WireFormatError(`entry ${String(e.index)}: ${(err as Error).message}`);
  }
  w.uvarint(size);
  const { buf, offset } = w.reserve(size);
  writeEntry(buf, offset, e);
}

function decodeEntryChecked(b: Uint8Array): Entry {
  try {
    return decodeEntry(b);
  } catch (err) {
    throw new WireFormatError(`entry: ${(err as Error).message}`);
  }
}
