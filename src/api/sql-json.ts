/**
 * Values on POST /sql: how SQL values become JSON (plain, the write-up's
 * shape, or `format=typed` for exact types) and how JSON arguments become
 * SQL values. See docs/http-api.md.
 */
import type { Column, SqlValue, StatementResult } from "../db/command.ts";
// format=typed uses Hrana's value encoding, so one codec serves both doors.
import { encodeValue } from "./hrana/encode.ts";

const BIG_OPEN = "\u0000big:";
const BIG_CLOSE = "\u0000";

/** JSON.stringify that writes bigints as exact JSON number literals. */
export function stringifyExact(value: unknown): string {
  const text = JSON.stringify(value, (_k, v: unknown) => (typeof v === "bigint" ? `${BIG_OPEN}${v.toString()}${BIG_CLOSE}` : v));
  return text.includes("\\u0000big:") ? text.replace(/"\\u0000big:(-?\d+)\\u0000"/g, "$1") : text;
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

function rowObject(columns: readonly Column[], row: readonly SqlValue[]): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  for (let i = 0; i < columns.length; i++) o[columns[i]!.name] = plainValue(row[i] ?? null);
  return o;
}
