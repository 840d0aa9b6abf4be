/** Turns the state machine's results into Hrana wire structures. */
import type { SqlError, SqlValue, StatementResult, StepOutcome } from "../../db/command.ts";
import type { HranaVersion, WireBatchResult, WireCol, WireError, WireStmtResult, WireValue } from "./protocol.ts";

/** Results carry INTEGER as bigint and REAL as number (src/db/command.ts), so the type is exact. */
export function encodeValue(v: SqlValue): WireValue {
  if (v === null) return { type: "null" };
  if (typeof v === "bigint") return { type: "integer", value: v.toString() };
  if (typeof v === "number") return { type: "float", value: v };
  if (typeof v === "string") return { type: "text", value: v };
  return { type: "blob", base64: Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString("base64") };
}

export interface ResultMetrics {
  readonly version: HranaVersion;
  readonly durationMs: number;
}

export function encodeCols(r: StatementResult): WireCol[] {
  return r.columns.map((c) => ({ name: c.name, decltype: c.decltype }));
}

export function encodeRow(row: readonly SqlValue[]): WireValue[] {
  return row.map(encodeValue);
}

export function encodeRowid(r: StatementResult): string | null {
  return r.lastInsertRowid === null ? null : String(r.lastInsertRowid);
}

export function encodeStmtResult(r: StatementResult, wantRows: boolean, m: ResultMetrics): WireStmtResult {
  const base = {
    cols: encodeCols(r),
    rows: wantRows ? r.rows.map(encodeRow) : [],
    affected_row_count: r.rowsAffected,
    last_insert_rowid: encodeRowid(r),
  };
  if (m.version < 3) return base;
  return { ...base, rows_read: r.rows.length, rows_written: r.rowsAffected, query_duration_ms: m.durationMs };
}

/** SQLite errors read as sqld words them ("SQLite error: …"); the code stays SQLite's extended code name. */
export function encodeSqlError(e: SqlError): WireError {
  const message = e.code.startsWith("SQLITE_") && !e.message.startsWith("SQLite error") ? `SQLite error: ${e.message}` : e.message;
  return { message, code: e.code };
}

export function encodeBatchResult(
  outcomes: readonly (StepOutcome | null)[],
  wantRows: readonly boolean[],
  m: ResultMetrics,
): WireBatchResult {
  return {
    step_results: outcomes.map((o, i) => (o !== null && o.ok ? encodeStmtResult(o.result, wantRows[i] ?? true, m) : null)),
    step_errors: outcomes.map((o) => (o !== null && !o.ok ? encodeSqlError(o.error) : null)),
  };
}

export const EMPTY_RESULT: StatementResult = { columns: [], rows: [], rowsAffected: 0, lastInsertRowid: null };
