/**
 * Values on POST /sql: how SQL values become JSON (plain, the write-up's
 * shape, or `format=typed` for exact types) and how JSON arguments become
 * SQL values. See docs/http-api.md.
 */
import type { Column, SqlValue, StatementResult } from "../db/command.ts";
// format=typed uses Hrana's value encoding, so one codec serves both doors.
import { encodeValue } from "./hrana/encode.ts";

// A per-process random tag in the placeholder: a stored text value that spells the
// placeholder out cannot know it, so it can never be turned into a number.
const BIG_TAG = `big${crypto.randomUUID().replaceAll("-", "")}:`;
const BIG_OPEN = `\u0000${BIG_TAG}`;
const BIG_CLOSE = "\u0000";
const BIG_PLACEHOLDER = new RegExp(`"\\\\u0000${BIG_TAG}(-?\\d+)\\\\u0000"`, "g");

/** JSON.stringify that writes bigints as exact JSON number literals. */
export function stringifyExact(value: unknown): string {
  const text = JSON.stringify(value, (_k, v: unknown) => (typeof v === "bigint" ? `${BIG_OPEN}${v.toString()}${BIG_CLOSE}` : v));
  return text.includes(BIG_TAG) ? text.replace(BIG_PLACEHOLDER, "$1") : text;
}

export function plainValue(v: SqlValue): unknown {
  if (v instanceof Uint8Array) return { base64: Buffer.from(v).toString("base64") };
  return v;
}

function insertId(r: StatementResult): number | bigint {
  return r.lastInsertRowid ?? 0;
}

/** The write-up's result shape: rows as objects, `null` when the statement returns no columns. */
export function plainResult(r: StatementResult, isWrite: boolean): Record<string, unknown> {
  const rows = r.columns.length === 0 ? null : r.rows.map((row) => rowObject(r.columns, row));
  return {
    rows,
    rows_affected: isWrite ? r.rowsAffected : 0,
    last_insert_id: isWrite ? insertId(r) : 0,
  };
}

export function typedResult(r: StatementResult, isWrite: boolean): Record<string, unknown> {
  return {
    columns: r.columns.map((c) => c.name),
    decltypes: r.columns.map((c) => c.decltype),
    rows: r.rows.map((row) => row.map(encodeValue)),
    rows_affected: isWrite ? r.rowsAffected : 0,
    last_insert_id: String(isWrite ? insertId(r) : 0),
  };
}

/**
 * The JSON text of plainResult(r, isWrite), written directly: the same bytes
 * as stringifyExact(plainResult(r, isWrite)) at a fraction of the cost (no
 * row objects, no replacer callback per value). Column names that a JS object
 * would not keep as written (duplicates, array-index-like names, __proto__)
 * go the generic way, which defines the shape.
 */
export function plainResultJson(r: StatementResult, isWrite: boolean): string {
  const counts = isWrite ? `"rows_affected":${r.rowsAffected},"last_insert_id":${String(insertId(r))}}` : `"rows_affected":0,"last_insert_id":0}`;
  if (r.columns.length === 0) return `{"rows":null,${counts}`;
  const keys = keyPrefixes(r.columns);
  if (keys === null) return stringifyExact(plainResult(r, isWrite));
  let out = '{"rows":[';
  const rows = r.rows;
  for (let j = 0; j < rows.length; j++) {
    const row = rows[j]!;
    if (j > 0) out += ",";
    for (let i = 0; i < keys.length; i++) out += keys[i]! + valueJson(row[i] ?? null);
    out += "}";
  }
  return `${out}],${counts}`;
}

// Results read in one snapshot share their column list (src/db/sql-connection.ts), so this is mostly a hit.
const prefixCache = new WeakMap<readonly Column[], string[] | null>();

/** `{"a":` then `,"b":` …, or null when an object with these keys would not serialize in column order. */
function keyPrefixes(columns: readonly Column[]): string[] | null {
  let keys = prefixCache.get(columns);
  if (keys === undefined) prefixCache.set(columns, (keys = computeKeyPrefixes(columns)));
  return keys;
}

function computeKeyPrefixes(columns: readonly Column[]): string[] | null {
  const keys: string[] = [];
  for (let i = 0; i < columns.length; i++) {
    const name = columns[i]!.name;
    if (name === "__proto__" || ARRAY_INDEX_LIKE.test(name)) return null;
    for (let k = 0; k < i; k++) if (columns[k]!.name === name) return null;
    keys.push((i === 0 ? "{" : ",") + JSON.stringify(name) + ":");
  }
  return keys;
}

// JS objects list integer-like keys first, in numeric order.
const ARRAY_INDEX_LIKE = /^(?:0|[1-9][0-9]*)$/;

function valueJson(v: SqlValue): string {
  switch (typeof v) {
    case "bigint":
      return v.toString();
    case "string":
      return JSON.stringify(v);
    case "number":
      return Number.isFinite(v) ? String(v) : "null";
    default:
      return v === null ? "null" : stringifyExact(plainValue(v));
  }
}

function rowObject(columns: readonly Column[], row: readonly SqlValue[]): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  for (let i = 0; i < columns.length; i++) o[columns[i]!.name] = plainValue(row[i] ?? null);
  return o;
}
