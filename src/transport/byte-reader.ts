import { WireFormatError } from "./wire-format-error.ts";

const textDecoder = new TextDecoder("utf-8", { fatal: true });

/** Bounds-checked reader for the format ByteWriter produces. Every failure is a WireFormatError. */
export class ByteReader {
  private pos = 0;

  constructor(private readonly buf: Uint8Array) {}

  get position(): number {
    return this.pos;
  }

  get remaining(): number {
    return this.buf.length - this.pos;
  }

  u8(): number {
    if (this.pos >= this.buf.length) throw new WireFormatError("truncated input");
    return this.buf[this.pos++]!;
  }

  u32be(): number {
    if (this.remaining < 4) throw new WireFormatError("truncated input");
    const b = this.buf;
    const p = this.pos;
    this.pos += 4;
    return ((b[p]! << 24) >>> 0) + (b[p + 1]! << 16) + (b[p + 2]! << 8) + b[p + 3]!;
  }

  /** Unsigned varint of at most 8 bytes whose value is a safe integer. */
  uvarint(): number {
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 8; i++) {
      if (this.pos >= this.buf.length) throw new WireFormatError("truncated varint");
      const byte = this.buf[this.pos++]!;
      result += (byte & 0x7f) * scale;
      if ((byte & 0x80) === 0) {
        if (result > Number.MAX_SAFE_INTEGER) throw new WireFormatError("varint exceeds 2^53");
        return result;
      }
      scale *= 0x80;
    }
    throw new WireFormatError("varint too long");
  }

  bool(): boolean {
    const v = this.u8();
    if (v > 1) throw new WireFormatError(`invalid boolean ${v}`);
    return v === 1;
  }

  /** A length-prefixed byte string as a view into the input (no copy). */
  bytesView(): Uint8Array {
    const n = this.uvarint();
    if (n > this.remaining) throw new WireFormatError("truncated byte string");
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  string(maxBytes: number): string {
    const n = this.uvarint();
    if (n > maxBytes) throw new WireFormatError(`string of ${n} bytes exceeds ${maxBytes}`);
    if (n > this.remaining) throw new WireFormatError("truncated string");
    let s: string;
    try {
      s = textDecoder.decode(this.buf.subarray(this.pos, this.pos + n));
    } catch {
      throw new WireFormatError("invalid UTF-8");
    }
    this.pos += n;
    return s;
  }

  expectEnd(): void {
    if (this.pos !== this.buf.length) throw new WireFormatError(`${this.remaining} trailing bytes`);
  }
}
