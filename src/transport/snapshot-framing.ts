/**
 * Body of POST /raft/snapshot:
 *
 *   "QS" version:u8(=1) preambleLength:u32be preamble file-bytes
 *   preamble := fileSize:uvarint message-batch        (exactly one `snapshot` message)
 *
 * The declared size lets the receiver tell a complete file from a stream cut
 * short (which it must never install).
 */
import type { SnapshotMsg } from "../raft/types.ts";
import { ByteReader } from "./byte-reader.ts";
import { ByteWriter } from "./byte-writer.ts";
import { decodeMessages, encodeMessages } from "./message-codec.ts";
import { WireFormatError } from "./wire-format-error.ts";
import { checkUint } from "./wire-limits.ts";

const HEADER_BYTES = 7;
const MAX_PREAMBLE_BYTES = 4 * 1024 * 1024;

export function encodeSnapshotPreamble(msg: SnapshotMsg, fileSize: number): Uint8Array {
  checkUint("snapshot file size", fileSize);
  const batch = encodeMessages([msg]);
  const w = new ByteWriter(HEADER_BYTES + 10 + batch.length);
  const inner = new ByteWriter(10 + batch.length);
  inner.uvarint(fileSize);
  inner.raw(batch);
  const preamble = inner.finish();
  w.u8(0x51); // 'Q'
  w.u8(0x53); // 'S'
  w.u8(1);
  w.u32be(preamble.length);
  w.raw(preamble);
  return w.finish();
}

export interface SnapshotUpload {
  readonly msg: SnapshotMsg;
  readonly fileSize: number;
  /** Exactly fileSize bytes; errors if the sender's stream ends early or runs long. */
  readonly data: ReadableStream<Uint8Array>;
  /** Bytes handed out through `data` so far. */
  delivered(): number;
}

/** Reads the preamble off an upload body and exposes the rest as a size-checked stream. */
export async function openSnapshotUpload(body: ReadableStream<Uint8Array>): Promise<SnapshotUpload> {
  const reader = body.getReader();
  let buffered: Uint8Array = new Uint8Array(0);
  const fill = async (n: number): Promise<void> => {
    while (buffered.length < n) {
      const { done, value } = await reader.read();
      if (done) throw new WireFormatError("snapshot upload ended inside its preamble");
      buffered = concat(buffered, value);
    }
  };
  let msg: SnapshotMsg;
  let fileSize: number;
  let preambleEnd: number;
  try {
    await fill(HEADER_BYTES);
    if (buffered[0] !== 0x51 || buffered[1] !== 0x53) throw new WireFormatError("not a quorumlite snapshot upload");
    if (buffered[2] !== 1) throw new WireFormatError(`unsupported snapshot upload version ${buffered[2]}`);
    const preambleLength = new ByteReader(buffered.subarray(3, HEADER_BYTES)).u32be();
    if (preambleLength > MAX_PREAMBLE_BYTES) throw new WireFormatError(`snapshot preamble of ${preambleLength} bytes is too large`);
    preambleEnd = HEADER_BYTES + preambleLength;
    await fill(preambleEnd);
    const r = new ByteReader(buffered.subarray(HEADER_BYTES, preambleEnd));
    fileSize = r.uvarint();
    const msgs = decodeMessages(buffered.subarray(HEADER_BYTES + r.position, preambleEnd));
    const first = msgs[0];
    if (msgs.length !== 1 || first === undefined || first.type !== "snapshot") {
      throw new WireFormatError("snapshot upload must carry exactly one snapshot message");
    }
    msg = first;
  } catch (e) {
    reader.cancel().catch(() => {});
    throw e;
  }

  let leftover: Uint8Array | null = buffered.subarray(preambleEnd);
  let delivered = 0;
  const data = new ReadableStream<Uint8Array>({
    async pull(controller) {
      let chunk: Uint8Array;
      if (leftover !== null && leftover.length > 0) {
        chunk = leftover;
        leftover = null;
      } else {
        leftover = null;
        const { done, value } = await reader.read();
        if (done) {
          if (delivered === fileSize) controller.close();
          else controller.error(new WireFormatError(`snapshot upload truncated: ${delivered} of ${fileSize} bytes`));
          return;
        }
        chunk = value;
      }
      if (delivered + chunk.length > fileSize) {
        reader.cancel().catch(() => {});
        controller.error(new WireFormatError(`snapshot upload longer than its declared ${fileSize} bytes`));
        return;
      }
      delivered += chunk.length;
      controller.enqueue(chunk);
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
    // Pull only when the consumer reads, so `delivered` counts what the handler actually took.
  }, { highWaterMark: 0 });
  return { msg, fileSize, data, delivered: () => delivered };
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b;
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
