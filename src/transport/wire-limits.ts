import { WireFormatError } from "./wire-format-error.ts";

/** Upper bounds for strings on the wire: generous for real use, small enough to stop garbage early. */
export const MAX_NODE_ID_BYTES = 256;
export const MAX_REGION_BYTES = 64;
export const MAX_ADDR_BYTES = 1024;
export const MAX_CTX_BYTES = 1024;
export const MAX_MEMBERS = 10_000;

/** Encoders refuse values the decoder would refuse, so a bad message fails at its sender. */
export function checkUint(field: string, v: number): void {
  if (!Number.isSafeInteger(v) || v < 0) throw new WireFormatError(`${field} must be a non-negative safe integer, got ${v}`);
}

export function checkString(field: string, s: string, maxBytes: number, allowEmpty = false): void {
  if (typeof s !== "string") throw new WireFormatError(`${field} must be a string`);
  if (!allowEmpty && s.length === 0) throw new WireFormatError(`${field} must not be empty`);
  // UTF-8 length ≤ 3 × UTF-16 length; only measure exactly when that bound could exceed the limit.
  if (s.length * 3 > maxBytes && Buffer.byteLength(s, "utf8") > maxBytes) {
    throw new WireFormatError(`${field} exceeds ${maxBytes} bytes`);
  }
}

export function checkNonEmpty(field: string, s: string): string {
  if (s.length === 0) throw new WireFormatError(`${field} must not be empty`);
  return s;
}
