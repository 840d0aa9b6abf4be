/**
 * Batons: the Hrana-over-HTTP stream handle the client echoes back. Ours say
 * which node owns the stream (so any node can route a request to its owner),
 * which stream, and which sequence number the owner expects next (so a baton
 * works once). They are HMAC-SHA256-signed with a key the whole cluster
 * shares: unforgeable, and verifiable by every node before it forwards.
 *
 * Layout (base64url, no padding):
 *   version u8 = 1 | nodeIdLen u8 | nodeId utf-8 | streamId 16 bytes | seq u64 BE | HMAC-SHA256 over all before (32 bytes)
 */
import { createHmac, timingSafeEqual } from "node:crypto";

const VERSION = 1;
const STREAM_ID_BYTES = 16;
const MAC_BYTES = 32;

export interface BatonFields {
  readonly nodeId: string;
  /** 32 hex digits. */
  readonly streamId: string;
  readonly seq: bigint;
}

export class BatonCodec {
  constructor(private readonly key: Uint8Array) {
    if (key.length < 16) throw new Error("baton key must be at least 16 bytes");
  }

  encode(f: BatonFields): string {
    const node = Buffer.from(f.nodeId, "utf8");
    if (node.length > 255) throw new Error("node id too long for a baton");
    const payload = Buffer.alloc(2 + node.length + STREAM_ID_BYTES + 8);
    payload[0] = VERSION;
    payload[1] = node.length;
    node.copy(payload, 2);
    Buffer.from(f.streamId, "hex").copy(payload, 2 + node.length);
    payload.writeBigUInt64BE(f.seq, 2 + node.length + STREAM_ID_BYTES);
    return Buffer.concat([payload, this.mac(payload)]).toString("base64url");
  }

  /** null when the baton is malformed or not signed with this cluster's key. */
  decode(baton: string): BatonFields | null {
    if (!/^[A-Za-z0-9_-]+$/.test(baton)) return null;
    const data = Buffer.from(baton, "base64url");
    if (data.length < 2 + STREAM_ID_BYTES + 8 + MAC_BYTES || data[0] !== VERSION) return null;
    const nodeLen = data[1]!;
    const payloadLen = 2 + nodeLen + STREAM_ID_BYTES + 8;
    if (data.length !== payloadLen + MAC_BYTES) return null;
    const payload = data.subarray(0, payloadLen);
    if (!timingSafeEqual(this.mac(payload), data.subarray(payloadLen))) return null;
    return {
      nodeId: payload.subarray(2, 2 + nodeLen).toString("utf8"),
      streamId: payload.subarray(2 + nodeLen, 2 + nodeLen + STREAM_ID_BYTES).toString("hex"),
      seq: payload.readBigUInt64BE(2 + nodeLen + STREAM_ID_BYTES),
    };
  }

  private mac(payload: Uint8Array): Buffer {
    return createHmac("sha256", this.key).update(payload).digest();
  }
}
