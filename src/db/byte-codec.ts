/**
 * A small binary writer/reader for the command and outcome codecs: varints
 * for lengths, UTF-8 strings, and SqlValues with their exact type (number,
 * bigint of any size, text, blob, null).
 */
import type { SqlValue } from "./command.ts";

const decoder = new TextDecoder("utf-8", { fatal: true });

const enum ValueTag {
  Null = 0,
  /** An integer below 2^52 in magnitude as a zigzag varint: 1–3 bytes for typical ids. */
  SmallInt = 1,
  Float = 2,
  /** A bigint as its decimal digits (any size: binding decides what fits). */
  BigInt = 3,
  Text = 4,
  Blob = 5,
}

export class DecodeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DecodeError";
  }
}

/**
 * Floats go through this scratch pair instead of a DataView on the input:
 * touching `.buffer` of a small typed array makes JavaScriptCore give it an
 * ArrayBuffer of its own, which costs microseconds per decoded entry.
 */
const f64Scratch = new Float64Array(1);
const f64Bytes = new Uint8Array(f64Scratch.buffer);
const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Node's Buffer writes a string's UTF-8 straight into its memory at an offset
 * (no subarray view per string, as TextEncoder.encodeInto needs), and decodes
 * a byte range of any Uint8Array the same way: several times faster for the
 * short strings commands are made of. Lone surrogates become U+FFFD, as with
 * TextEncoder.
 */
const utf8Slice = (Buffer.prototype as unknown as { utf8Slice?: (this: Uint8Array, start: number, end: number) => string }).utf8Slice;

/** Grows in place; `scratch` is one buffer shared by the writers of ByteWriter.encode (synchronous, never nested). */
let scratch: Buffer | null = null;
const SCRATCH_KEEP_BYTES = 1 << 20;

function keepScratch(buf: Buffer): void {
  if (buf.length <= SCRATCH_KEEP_BYTES && (scratch === null || scratch.length < buf.length)) scratch = buf;
}

export class ByteWriter {
  private buf: Buffer;
  private pos = 0;

  constructor(initialBytes = 256) {
    this.buf = Buffer.allocUnsafe(initialBytes);
  }

  /**
   * Runs `write` on a writer over a reused scratch buffer and returns a copy
   * of what it wrote: no allocation and regrowth per encoded value.
   */
  static encode(write: (w: ByteWriter) => void): Uint8Array {
    const borrowed = scratch;
    scratch = null;
    const w = new ByteWriter(borrowed === null ? 4096 : 0);
    if (borrowed !== null) w.buf = borrowed;
    try {
      write(w);
      return w.finish();
    } finally {
      keepScratch(w.buf);
    }
  }

  private ensure(extra: number): void {
    if (this.pos + extra <= this.buf.length) return;
    let size = Math.max(256, this.buf.length * 2);
    while (size < this.pos + extra) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  u8(v: number): void {
    this.ensure(1);
    this.buf[this.pos++] = v;
  }

  /** Unsigned integer up to 2^53 as LEB128. */
  varuint(v: number): void {
    if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`varuint out of range: ${v}`);
    this.ensure(8);
    const buf = this.buf;
    let pos = this.pos;
    if (v < 0x80000000) {
      while (v >= 0x80) {
        buf[pos++] = (v & 0x7f) | 0x80;
        v >>>= 7;
      }
    } else {
      while (v >= 0x80) {
        buf[pos++] = (v % 0x80) | 0x80;
        v = Math.floor(v / 0x80);
      }
    }
    buf[pos++] = v;
    this.pos = pos;
  }

  f64(v: number): void {
    this.ensure(8);
    f64Scratch[0] = v;
    for (let i = 0; i < 8; i++) this.buf[this.pos + i] = f64Bytes[littleEndian ? i : 7 - i]!;
    this.pos += 8;
  }

  string(s: string): void {
    // UTF-8 needs at most 3 bytes per UTF-16 unit.
    const maxLen = s.length * 3;
    this.ensure(10 + maxLen);
    const lenPos = this.pos;
    const lenBytes = maxLen < 0x80 ? 1 : maxLen < 0x4000 ? 2 : maxLen < 0x200000 ? 3 : maxLen < 0x10000000 ? 4 : 8;
    const written = s.length === 0 ? 0 : this.buf.write(s, lenPos + lenBytes);
    // Write the length in a fixed-width varint so the text need not move.
    let v = written;
    for (let i = 0; i < lenBytes; i++) {
      const last = i === lenBytes - 1;
      this.buf[lenPos + i] = (v % 0x80) | (last ? 0 : 0x80);
      v = Math.floor(v / 0x80);
    }
    this.pos = lenPos + lenBytes + written;
  }

  bytes(b: Uint8Array): void {
    this.varuint(b.length);
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  value(v: SqlValue): void {
    if (v === null) this.u8(ValueTag.Null);
    else if (typeof v === "number") {
      if (Number.isInteger(v) && Math.abs(v) < 2 ** 52 && !(v === 0 && Object.is(v, -0))) {
        this.u8(ValueTag.SmallInt);
        // Zigzag in float arithmetic: safe integers stay exact.
        this.varuint(v >= 0 ? v * 2 : -v * 2 - 1);
      } else {
        this.u8(ValueTag.Float);
        this.f64(v);
      }
    } else if (typeof v === "bigint") {
      this.u8(ValueTag.BigInt);
      this.string(v.toString());
    } else if (typeof v === "string") {
      this.u8(ValueTag.Text);
      this.string(v);
    } else if (v instanceof Uint8Array) {
      this.u8(ValueTag.Blob);
      this.bytes(v);
    } else {
      throw new TypeError(`not a SqlValue: ${typeof v}`);
    }
  }

  /** A copy of what was written, exactly sized (a plain Uint8Array, not a Buffer). */
  finish(): Uint8Array {
    const out = new Uint8Array(this.pos);
    this.buf.copy(out, 0, 0, this.pos);
    return out;
  }
}


export class ByteReader {
  private pos = 0;

  constructor(private readonly buf: Uint8Array) {}

  private need(n: number): void {
    if (this.pos + n > this.buf.length) throw new DecodeError(`truncated input at byte ${this.pos}`);
  }

  u8(): number {
    this.need(1);
    return this.buf[this.pos++]!;
  }

  varuint(): number {
    const first = this.buf[this.pos];
    if (first !== undefined && first < 0x80) {
      this.pos++;
      return first;
    }
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 8; i++) {
      const b = this.u8();
      result += (b & 0x7f) * scale;
      if ((b & 0x80) === 0) {
        if (!Number.isSafeInteger(result)) break;
        return result;
      }
      scale *= 0x80;
    }
    throw new DecodeError(`bad varint at byte ${this.pos}`);
  }

  /** A count of items that each take at least one byte: bounded by what is left, so garbage cannot allocate gigabytes. */
  count(): number {
    const n = this.varuint();
    if (n > this.buf.length - this.pos) throw new DecodeError(`count ${n} exceeds remaining input`);
    return n;
  }

  f64(): number {
    this.need(8);
    for (let i = 0; i < 8; i++) f64Bytes[littleEndian ? i : 7 - i] = this.buf[this.pos + i]!;
    this.pos += 8;
    return f64Scratch[0]!;
  }

  string(): string {
    const n = this.varuint();
    this.need(n);
    const start = this.pos;
    this.pos += n;
    if (n === 0) return "";
    if (utf8Slice !== undefined) {
      // The lenient decoder turns invalid UTF-8 into U+FFFD: only then can the input be bad.
      const s = utf8Slice.call(this.buf, start, this.pos);
      if (!s.includes("\uFFFD")) return s;
    }
    try {
      return decoder.decode(this.buf.subarray(start, this.pos));
    } catch {
      throw new DecodeError("invalid UTF-8");
    }
  }

  bytes(): Uint8Array {
    const n = this.varuint();
    this.need(n);
    return this.buf.slice(this.pos, (this.pos += n));
  }

  value(): SqlValue {
    const tag = this.u8();
    switch (tag) {
      case ValueTag.Null:
        return null;
      case ValueTag.SmallInt: {
        const z = this.varuint();
        return z % 2 === 0 ? z / 2 : -(z + 1) / 2;
      }
      case ValueTag.Float:
        return this.f64();
      case ValueTag.BigInt: {
        const s = this.string();
        if (!/^-?\d+$/.test(s)) throw new DecodeError("bad bigint");
        return BigInt(s);
      }
      case ValueTag.Text:
        return this.string();
      case ValueTag.Blob:
        return this.bytes();
    }
    throw new DecodeError(`unknown value tag ${tag}`);
  }

  done(): void {
    if (this.pos !== this.buf.length) throw new DecodeError(`${this.buf.length - this.pos} trailing bytes`);
  }
}
