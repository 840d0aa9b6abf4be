/**
 * SQL values on the client side and their exact wire form (Hrana's typed
 * values, which both `POST /sql?format=typed` and `/v2/pipeline` use).
 */
import { decodeBase64, encodeBase64 } from "./base64.ts";
import { QuorumliteError } from "./errors.ts";

/** A value read from the database. Integers beyond 2^53 are bigint (all integers with `intMode: "bigint"`). */
export type Value = null | number | bigint | string | Uint8Array;

/** What may be bound as an argument. booleans become 0/1, Dates their epoch milliseconds. */
export type InValue = Value | boolean | Date | ArrayBuffer | undefined;

export type InArgs = readonly InValue[] | Readonly<Record<string, InValue>>;

/** How integers come back: `auto` gives numbers and switches to bigint only beyond 2^53; `bigint` always. */
export type IntMode = "auto" | "bigint";

export type WireValue =
  | { readonly type: "null" }
  | { readonly type: "integer"; readonly value: string }
  | { readonly type: "float"; readonly value: number }
  | { readonly type: "text"; readonly value: string }
  | { readonly type: "blob"; readonly base64: string };

export function encodeValue(value: InValue): WireValue {
  if (value === null || value === undefined) return { type: "null" };
  switch (typeof value) {
    case "string":
      return { type: "text", value };
    case "bigint":
      return { type: "integer", value: value.toString() };
    case "boolean":
      return { type: "integer", value: value ? "1" : "0" };
    case "number":
      if (!Number.isFinite(value)) {
        throw new QuorumliteError(`cannot bind ${value}: only finite numbers can be stored`, {
          code: "QUORUMLITE_INVALID_ARGUMENT",
        });
      }
      // A JS number cannot say whether 2 meant 2 or 2.0; integral numbers are sent as
      // integers so they compare equal to INTEGER keys without relying on affinity.
      return Number.isSafeInteger(value) ? { type: "integer", value: value.toString() } : { type: "float", value };
  }
  if (value instanceof Uint8Array) return { type: "blob", base64: encodeBase64(value) };
  if (value instanceof ArrayBuffer) return { type: "blob", base64: encodeBase64(new Uint8Array(value)) };
  if (value instanceof Date) return { type: "integer", value: value.getTime().toString() };
  throw new QuorumliteError(`cannot bind a value of type ${describe(value)}`, { code: "QUORUMLITE_INVALID_ARGUMENT" });
}

function describe(value: unknown): string {
  return typeof value === "object" ? (value?.constructor?.name ?? "object") : typeof value;
}

export function decodeInteger(digits: string, intMode: IntMode): number | bigint {
  const big = BigInt(digits);
  if (intMode === "bigint") return big;
  return big >= BigInt(Number.MIN_SAFE_INTEGER) && big <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(big) : big;
}

/** Decodes a typed cell; also accepts the plain JSON form (numbers, strings, `{base64}`) for robustness. */
export function decodeValue(raw: unknown, intMode: IntMode): Value {
  if (raw === null || raw === undefined) return null;
  if (typeof raw === "string") return raw;
  if (typeof raw === "number") {
    return intMode === "bigint" && Number.isInteger(raw) ? BigInt(raw) : raw;
  }
  if (typeof raw === "object") {
    const cell = raw as Record<string, unknown>;
    switch (cell.type) {
      case "null":
        return null;
      case "integer":
        if (typeof cell.value === "string" || typeof cell.value === "number") {
          return decodeInteger(String(cell.value), intMode);
        }
        break;
      case "float":
        if (typeof cell.value === "number") return cell.value;
        break;
      case "text":
        if (typeof cell.value === "string") return cell.value;
        break;
      case "blob":
        if (typeof cell.base64 === "string") return decodeBase64(cell.base64);
        break;
      case undefined:
        if (typeof cell.base64 === "string") return decodeBase64(cell.base64);
        break;
    }
  }
  throw new QuorumliteError(`unexpected value in response: ${JSON.stringify(raw)}`, { code: "QUORUMLITE_PROTOCOL" });
}
