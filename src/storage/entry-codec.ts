/**
 * Compact binary codec for Raft log entries, shared by the durable log and the
 * peer transport.
 *
 * One entry:  [tag u8][term varint][index varint][payload …to the end]
 *   tag 1 normal → payload is the entry's data, verbatim
 *   tag 2 noop   → no payload
 *   tag 3 conf   → payload is the ConfChange as UTF-8 JSON
 * A sequence:  [count varint] then per entry [length varint][entry bytes].
 *
 * Varints are unsigned LEB128 up to 2^53 − 1 (terms and indexes are JS numbers).
 * Decoding never trusts its input: any malformed byte string raises
 * EntryDecodeError, which the log store treats as corruption.
 */
import type { ConfChange, Entry } from "../raft/types.ts";

const TAG_NORMAL = 1;
const TAG_NOOP = 2;
const TAG_CONF = 3;

export class EntryDecodeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "EntryDecodeError";
  }
}

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder("utf-8", { fatal: true });

function varintLength(value: number): number {
  let n = 1;
  while (value >= 0x80) {
    value = Math.floor(value / 128);
    n++;
  }
  return n;
}

function writeVarint(out: Uint8Array, offset: number, value: number): number {
  while (value >= 0x80) {
    out[offset++] = (value % 128) | 0x80;
    value = Math.floor(value / 128);
  }
  out[offset++] = value;
  return offset;
}

function assertUint(value: number, what: string): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`${what} must be a non-negative safe integer, got ${value}`);
  }
}

interface Cursor {
  offset: number;
}

function readVarint(bytes: Uint8Array, cur: Cursor, what: string): number {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < 8; i++) {
    if (cur.offset >= bytes.length) throw new EntryDecodeError(`truncated varint (${what})`);
    const b = bytes[cur.offset++];
    value += (b & 0x7f) * scale;
    if ((b & 0x80) === 0) {
      if (!Number.isSafeInteger(value)) throw new EntryDecodeError(`varint out of range (${what})`);
      return value;
    }
    scale *= 128;
  }
  throw new EntryDecodeError(`varint too long (${what})`);
}

function payloadOf(e: Entry): Uint8Array | null {
  switch (e.type) {
    case "normal":
      return e.data;
    case "noop":
      return null;
    case "conf":
      return utf8Encoder.encode(JSON.stringify(e.change));
  }
}

function tagOf(e: Entry): number {
  switch (e.type) {
    case "normal":
      return TAG_NORMAL;
    case "noop":
      return TAG_NOOP;
    case "conf":
      return TAG_CONF;
  }
}

/** Length of encodeEntry(e), without encoding it. */
export function encodedEntrySize(e: Entry): number {
  assertUint(e.term, "term");
  assertUint(e.index, "index");
  return 1 + varintLength(e.term) + varintLength(e.index) + (payloadOf(e)?.length ?? 0);
}

/**
 * Writes encodeEntry(e) into `out` at `offset` and returns the offset after
 * it: the peer wire and the log write entries straight into their buffers
 * instead of allocating each one first. Call encodedEntrySize(e) first: it
 * checks the entry and gives the room to leave, so this does not check again.
 */
export function writeEntry(out: Uint8Array, offset: number, e: Entry): number {
  out[offset] = tagOf(e);
  let off = writeVarint(out, offset + 1, e.term);
  off = writeVarint(out, off, e.index);
  const payload = payloadOf(e);
  if (payload) {
    out.set(payload, off);
    off += payload.length;
  }
  return off;
}

export function encodeEntry(e: Entry): Uint8Array {
  const out = new Uint8Array(encodedEntrySize(e));
  writeEntry(out, 0, e);
  return out;
}

function isMemberLike(v: unknown): boolean {
  if (typeof v !== "object" || v === null) return false;
  const m = v as Record<string, unknown>;
  return (
    typeof m.id === "string" &&
    typeof m.region === "string" &&
    (m.raftAddr === undefined || typeof m.raftAddr === "string") &&
    (m.httpAddr === undefined || typeof m.httpAddr === "string")
  );
}

function parseConfChange(json: string): ConfChange {
  let v: unknown;
  try {
    v = JSON.parse(json);
  } catch {
    throw new EntryDecodeError("conf payload is not JSON");
  }
  if (typeof v === "object" && v !== null) {
    const c = v as Record<string, unknown>;
    switch (c.op) {
      case "add-voter":
      case "add-learner":
        if (isMemberLike(c.member)) return v as ConfChange;
        break;
      case "promote":
      case "remove":
        if (typeof c.id === "string") return v as ConfChange;
        break;
    }
  }
  throw new EntryDecodeError("conf payload is not a ConfChange");
}

/**
 * Decodes one entry. For normal entries `data` is a view into `bytes`
 * (no copy): callers that reuse the buffer must copy it first.
 */
export function decodeEntry(bytes: Uint8Array): Entry {
  if (bytes.length < 3) throw new EntryDecodeError("entry too short");
  const cur: Cursor = { offset: 1 };
  const tag = bytes[0];
  const term = readVarint(bytes, cur, "term");
  const index = readVarint(bytes, cur, "index");
  const payload = bytes.subarray(cur.offset);
  switch (tag) {
    case TAG_NORMAL:
      return { type: "normal", term, index, data: payload };
    case TAG_NOOP:
      if (payload.length !== 0) throw new EntryDecodeError("noop entry with payload");
      return { type: "noop", term, index };
    case TAG_CONF: {
      let json: string;
      try {
        json = utf8Decoder.decode(payload);
      } catch {
        throw new EntryDecodeError("conf payload is not UTF-8");
      }
      return { type: "conf", term, index, change: parseConfChange(json) };
    }
    default:
      throw new EntryDecodeError(`unknown entry tag ${tag}`);
  }
}

/** Length-prefixed sequence of entries (for a message carrying many entries). */
export function encodeEntries(entries: readonly Entry[]): Uint8Array {
  const encoded = entries.map(encodeEntry);
  let size = varintLength(encoded.length);
  for (const b of encoded) size += varintLength(b.length) + b.length;
  const out = new Uint8Array(size);
  let off = writeVarint(out, 0, encoded.length);
  for (const b of encoded) {
    off = writeVarint(out, off, b.length);
    out.set(b, off);
    off += b.length;
  }
  return out;
}

/** Inverse of encodeEntries; normal entries' data are views into `bytes`. */
export function decodeEntries(bytes: Uint8Array): Entry[] {
  const cur: Cursor = { offset: 0 };
  const count = readVarint(bytes, cur, "count");
  // Each entry takes at least 4 bytes (length + 3-byte minimum body).
  if (count > (bytes.length - cur.offset) / 4) throw new EntryDecodeError("entry count exceeds input");
  const out: Entry[] = new Array(count);
  for (let i = 0; i < count; i++) {
    const len = readVarint(bytes, cur, "length");
    const end = cur.offset + len;
    if (end > bytes.length) throw new EntryDecodeError("truncated entry sequence");
    out[i] = decodeEntry(bytes.subarray(cur.offset, end));
    cur.offset = end;
  }
  if (cur.offset !== bytes.length) throw new EntryDecodeError("trailing bytes after entry sequence");
  return out;
}
