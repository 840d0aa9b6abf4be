/**
 * Framing of the long-lived message stream (POST /raft/stream): the request
 * body is a sequence of
 *
 *   frame := length:u32be  batch{length}        -- batch: message-codec.ts; length 0 = keepalive
 *
 * so one HTTP/2 stream carries every batch a node sends to a peer, in order,
 * without a request per batch.
 */
import type { Message } from "../raft/types.ts";
import { ByteWriter } from "./byte-writer.ts";
import { writeMessages } from "./message-codec.ts";
import { WireFormatError } from "./wire-format-error.ts";

export const FRAME_HEADER_BYTES = 4;

/** An empty frame: keeps an idle stream from hitting the server's idle timeout, and gives pings something to confirm. */
export const KEEPALIVE_FRAME: Uint8Array = new Uint8Array(FRAME_HEADER_BYTES);

/** One frame (header and batch in a single buffer). `sizeHint` is the estimated batch size, to allocate once. */
export function encodeMessageFrame(msgs: readonly Message[], sizeHint: number): Uint8Array {
  const w = new ByteWriter(FRAME_HEADER_BYTES + 64 + msgs.length * 16 + sizeHint);
  w.u32be(0);
  writeMessages(w, msgs);
  w.setU32be(0, w.length - FRAME_HEADER_BYTES);
  return w.finish();
}

/**
 * Splits a byte stream (chunks as the network delivers them) back into frame
 * bodies. A frame that lies within one chunk is handed out as a view of that
 * chunk (no copy); only frames split across chunks are assembled in a buffer
 * of their own. Keepalive frames are skipped.
 */
export class FrameReader {
  private readonly header = new Uint8Array(FRAME_HEADER_BYTES);
  private headerFill = 0;
  private partial: Uint8Array | null = null;
  private partialFill = 0;

  constructor(private readonly maxFrameBytes: number) {}

  /** True when the bytes so far end inside a frame (a stream that ends now was cut short). */
  get midFrame(): boolean {
    return this.headerFill > 0 || this.partial !== null;
  }

  /** Calls `onFrame` for every frame completed by `chunk`, in order. Throws WireFormatError on an oversized frame. */
  push(chunk: Uint8Array, onFrame: (frame: Uint8Array) => void): void {
    const n = chunk.length;
    let pos = 0;
    while (pos < n) {
      const partial = this.partial;
      if (partial !== null) {
        const take = Math.min(partial.length - this.partialFill, n - pos);
        partial.set(chunk.subarray(pos, pos + take), this.partialFill);
        this.partialFill += take;
        pos += take;
        if (this.partialFill === partial.length) {
          this.partial = null;
          onFrame(partial);
        }
        continue;
      }
      let length: number;
      if (this.headerFill === 0 && n - pos >= FRAME_HEADER_BYTES) {
        length = ((chunk[pos]! << 24) >>> 0) + (chunk[pos + 1]! << 16) + (chunk[pos + 2]! << 8) + chunk[pos + 3]!;
        pos += FRAME_HEADER_BYTES;
      } else {
        const take = Math.min(FRAME_HEADER_BYTES - this.headerFill, n - pos);
        this.header.set(chunk.subarray(pos, pos + take), this.headerFill);
        this.headerFill += take;
        pos += take;
        if (this.headerFill < FRAME_HEADER_BYTES) return;
        this.headerFill = 0;
        const h = this.header;
        length = ((h[0]! << 24) >>> 0) + (h[1]! << 16) + (h[2]! << 8) + h[3]!;
      }
      if (length > this.maxFrameBytes) throw new WireFormatError(`frame of ${length} bytes exceeds ${this.maxFrameBytes}`);
      if (length === 0) continue;
      if (n - pos >= length) {
        onFrame(chunk.subarray(pos, pos + length));
        pos += length;
      } else {
        // Not zero-filled (every byte is written before the frame is handed out): large batch
        // frames span many chunks, and zeroing them showed in followers' profiles.
        const buf = Buffer.allocUnsafeSlow(length);
        this.partial = new Uint8Array(buf.buffer, buf.byteOffset, length);
        this.partialFill = 0;
      }
    }
  }
}
