/**
 * Append-only binary buffer for the peer wire format. Integers are unsigned
 * LEB128 varints (Raft terms and indexes are small most of the time and never
 * exceed 2^53), strings and byte arrays are length-prefixed.
 */
const textEncoder = new TextEncoder();

export class ByteWriter {
  private buf: Uint8Array;
  private pos = 0;

  constructor(initialCapacity = 256) {
    this.buf = new Uint8Array(initialCapacity);
  }

  get length(): number {
    return this.pos;
  }

  private ensure(extra: number): void {
    const need = this.pos + extra;
    if (need <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < need) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
  }

  u8(v: number): void {
    this.ensure(1);
    this.buf[this.pos++] = v;
  }

  u32be(v: number): void {
    this.ensure(4);
    this.buf[this.pos++] = (v >>> 24) & 0xff;
    this.buf[this.pos++] = (v >>> 16) & 0xff;
    this.buf[this.pos++] = (v >>> 8) & 0xff;
    this.buf[this.pos++] = v & 0xff;
  }

  /** Overwrites 4 bytes already written at `at` (a length prefix reserved before its contents were known). */
  setU32be(at: number, v: number): void {
    this.buf[at] = (v >>> 24) & 0xff;
    this.buf[at + 1] = (v >>> 16) & 0xff;
    this.buf[at + 2] = (v >>> 8) & 0xff;
    this.buf[at + 3] = v & 0xff;
  }

  /** Unsigned varint; `v` must be a safe non-negative integer (checked by the caller's schema). */
  uvarint(v: number): void {
    this.ensure(8);
    while (v >= 0x80) {
      this.buf[this.pos++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.buf[this.pos++] = v;
  }

  /**
   * Reserves `n` bytes for a codec of its own to write in place (no temporary
   * array): returns the buffer and the offset; valid until the next write.
   */
  reserve(n: number): { readonly buf: Uint8Array; readonly offset: number } {
    this.ensure(n);
    const offset = this.pos;
    this.pos += n;
    return { buf: this.buf, offset };
  }

  bytes(b: Uint8Array): void {
    this.uvarint(b.length);
    this.raw(b);
  }

  raw(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  string(s: string): void {
    // Worst case 3 bytes per UTF-16 code unit; write the text first, then the exact length before it.
    const max = s.length * 3;
    const lenBytes = max < 0x80 ? 1 : max < 0x4000 ? 2 : max < 0x200000 ? 3 : 5;
    this.ensure(lenBytes + max);
    const start = this.pos + lenBytes;
    const { written } = textEncoder.encodeInto(s, this.buf.subarray(start));
    // Re-encode the length with exactly `lenBytes` bytes (padded varint) so no move is needed.
    let v = written;
    for (let i = 0; i < lenBytes - 1; i++) {
      this.buf[this.pos++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.buf[this.pos++] = v;
    this.pos = start + written;
  }

  /** The bytes written so far (a view; the writer must not be used afterwards). */
  finish(): Uint8Array {
    return this.buf.subarray(0, this.pos);
  }
}
