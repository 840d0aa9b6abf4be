/**
 * Reading framed records (segment-format.ts) back from a segment's bytes,
 * telling a clean end, a torn write and corruption apart.
 */
import { MAX_PAYLOAD_BYTES, RECORD_HEADER_BYTES, isRecordType, recordCrc, type RecordType } from "./segment-format.ts";

export type RecordRead =
  | { readonly kind: "record"; readonly offset: number; readonly type: RecordType; readonly payload: Uint8Array; readonly end: number }
  /** End of the data: end of file, or a zero length word with only zeros after it (a preallocated tail). */
  | { readonly kind: "end"; readonly offset: number }
  | {
      readonly kind: "bad";
      readonly offset: number;
      readonly reason: string;
      /**
       * Looks like a write a crash interrupted (short, or a sector of it still
       * zero) rather than bytes that were written whole and then changed.
       */
      readonly torn: boolean;
      /** The type byte as read (not trustworthy: the record failed its checks). */
      readonly typeByte: number;
      /** Where the next record would start if the length word is right; null if it cannot be. */
      readonly next: number | null;
    };

/** Devices write whole sectors; a torn write leaves some sector of the record unwritten (zero). */
const SECTOR_BYTES = 512;

function allZero(buf: Uint8Array, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (buf[i] !== 0) return false;
  return true;
}

/** etcd's torn-entry test (wal/decoder.go): some sector-aligned piece of the record is all zeros. */
function hasZeroSector(buf: Uint8Array, from: number, to: number): boolean {
  let start = from;
  while (start < to) {
    const end = Math.min(to, (Math.floor(start / SECTOR_BYTES) + 1) * SECTOR_BYTES);
    if (allZero(buf, start, end)) return true;
    start = end;
  }
  return false;
}

export const typeName = (t: number): string => ["?", "header", "entry", "hardState", "snapshot"][t] ?? `type ${t}`;

export function readRecordAt(buf: Uint8Array, at: number): RecordRead {
  const remaining = buf.length - at;
  if (remaining === 0) return { kind: "end", offset: at };
  if (remaining < RECORD_HEADER_BYTES) {
    if (allZero(buf, at, buf.length)) return { kind: "end", offset: at };
    return { kind: "bad", offset: at, reason: `short record at byte ${at}`, torn: true, typeByte: 0, next: null };
  }
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const len = view.getUint32(at, true);
  const typeByte = buf[at + 8];
  if (len === 0) {
    if (allZero(buf, at, buf.length)) return { kind: "end", offset: at };
    return { kind: "bad", offset: at, reason: `zero length word at byte ${at} followed by data`, torn: true, typeByte, next: null };
  }
  if (len > MAX_PAYLOAD_BYTES || len > remaining - RECORD_HEADER_BYTES) {
    return { kind: "bad", offset: at, reason: `record at byte ${at} runs past the end of the file`, torn: true, typeByte, next: null };
  }
  const end = at + RECORD_HEADER_BYTES + len;
  if (recordCrc(buf, at + 8, len) !== view.getUint32(at + 4, true)) {
    return {
      kind: "bad",
      offset: at,
      reason: `${typeName(typeByte)} record at byte ${at} fails its checksum`,
      torn: hasZeroSector(buf, at, end),
      typeByte,
      next: end,
    };
  }
  if (!isRecordType(typeByte)) return { kind: "bad", offset: at, reason: `unknown record type ${typeByte} at byte ${at}`, torn: false, typeByte, next: end };
  return { kind: "record", offset: at, type: typeByte, payload: buf.subarray(at + RECORD_HEADER_BYTES, end), end };
}

/** Every intact record from `at` on, as long as the framing holds. */
export function* intactRecordsFrom(buf: Uint8Array, at: number): Generator<Extract<RecordRead, { kind: "record" }>> {
  while (at < buf.length) {
    const r = readRecordAt(buf, at);
    if (r.kind === "end") return;
    if (r.kind === "record") {
      yield r;
      at = r.end;
    } else if (r.next !== null) at = r.next;
    else return;
  }
}
