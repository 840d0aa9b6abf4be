/**
 * On-disk format of the Raft log: segment files of framed records (see
 * README.md, "Format").
 *
 *   record = [u32 payload length][u32 CRC32(type byte + payload)][u8 type][payload]   (little endian)
 *
 * A segment starts with a header record, then the hard state and compaction
 * point current when it was created, so the newest segment alone knows the
 * state and older segments are needed only for their entries.
 */
import { join } from "node:path";

export const RECORD_HEADER_BYTES = 9;

export const RecordType = {
  header: 1,
  entry: 2,
  hardState: 3,
  snapshot: 4,
} as const;
export type RecordType = (typeof RecordType)[keyof typeof RecordType];

export function isRecordType(t: number): t is RecordType {
  return t >= RecordType.header && t <= RecordType.snapshot;
}

/** "QLRL" */
const MAGIC = 0x4c524c51;
export const FORMAT_VERSION = 1;
const HEADER_PAYLOAD_BYTES = 16;

/**
 * Segment size at which the next batch starts a new segment. The node
 * compacts every ~16 MiB of applied entries (src/node/log-bytes-budget.ts), so
 * a segment is deletable soon after it is full, and replay at startup reads
 * at most about two segments' worth; larger segments would only make that
 * replay longer, smaller ones add a file creation + directory fsync more often.
 */
export const DEFAULT_SEGMENT_BYTES = 16 * 1024 * 1024;

/** No record payload is larger (a batch entry is at most a few MiB); a longer length word is corruption. */
export const MAX_PAYLOAD_BYTES = 256 * 1024 * 1024;

const SEGMENT_NAME = /^(\d{16})\.seg$/;

export function segmentFileName(seq: number): string {
  return `${String(seq).padStart(16, "0")}.seg`;
}

export function segmentPath(dir: string, seq: number): string {
  return join(dir, segmentFileName(seq));
}

export function parseSegmentFileName(name: string): number | null {
  const m = SEGMENT_NAME.exec(name);
  return m ? Number(m[1]) : null;
}

export function recordCrc(buf: Uint8Array, typeAt: number, payloadLength: number): number {
  return Bun.hash.crc32(buf.subarray(typeAt, typeAt + 1 + payloadLength));
}

/** Writes a record's length and type at `at` (the CRC is left for sealRecords) and returns the payload offset. */
export function writeRecordHeader(view: DataView, at: number, type: RecordType, payloadLength: number): number {
  view.setUint32(at, payloadLength, true);
  view.setUint32(at + 4, 0, true);
  view.setUint8(at + 8, type);
  return at + RECORD_HEADER_BYTES;
}

/** Writes a whole record with `payload` at `at` (CRC left for sealRecords) and returns the offset after it. */
export function putRecord(out: Uint8Array, view: DataView, at: number, type: RecordType, payload: Uint8Array): number {
  const from = writeRecordHeader(view, at, type, payload.length);
  out.set(payload, from);
  return from + payload.length;
}

/**
 * Fills in the CRC of every record in `buf` (framed by writeRecordHeader). Runs
 * in the writer, so a leader's event loop does not pay for the checksums.
 * Returns the number of entry records.
 */
export function sealRecords(buf: Uint8Array): number {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let entries = 0;
  let at = 0;
  while (at < buf.length) {
    const len = view.getUint32(at, true);
    if (at + RECORD_HEADER_BYTES + len > buf.length) throw new Error(`raft log: malformed batch at byte ${at}`);
    view.setUint32(at + 4, recordCrc(buf, at + 8, len), true);
    if (buf[at + 8] === RecordType.entry) entries++;
    at += RECORD_HEADER_BYTES + len;
  }
  return entries;
}

export function headerPayload(seq: number): Uint8Array {
  const out = new Uint8Array(HEADER_PAYLOAD_BYTES);
  const view = new DataView(out.buffer);
  view.setUint32(0, MAGIC, true);
  view.setUint32(4, FORMAT_VERSION, true);
  view.setBigUint64(8, BigInt(seq), true);
  return out;
}

export function parseHeaderPayload(p: Uint8Array): { readonly version: number; readonly seq: number } | null {
  if (p.length !== HEADER_PAYLOAD_BYTES) return null;
  const view = new DataView(p.buffer, p.byteOffset, p.byteLength);
  if (view.getUint32(0, true) !== MAGIC) return null;
  return { version: view.getUint32(4, true), seq: Number(view.getBigUint64(8, true)) };
}

const utf8 = new TextEncoder();

/** Snapshot record payload: [u8 keepSuffix][snapshot meta JSON]. */
export function snapshotPayload(json: string, keepSuffix: boolean): Uint8Array {
  const body = utf8.encode(json);
  const out = new Uint8Array(1 + body.length);
  out[0] = keepSuffix ? 1 : 0;
  out.set(body, 1);
  return out;
}
