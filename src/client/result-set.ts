/** Results as the app sees them, built from either wire shape (`/sql?format=typed` or Hrana). */
import { QuorumliteError } from "./errors.ts";
import { decodeInteger, decodeValue, type IntMode, type Value } from "./values.ts";

export type Row = Record<string, Value>;

export interface ResultSet<R extends object = Row> {
  readonly columns: readonly string[];
  /** Declared column types (`INTEGER`, `TEXT`, …); null for expressions. */
  readonly decltypes: readonly (string | null)[];
  /** Rows as objects keyed by column name (a later duplicate column name wins; see `rowsArray`). */
  readonly rows: R[];
  readonly rowsArray: Value[][];
  readonly rowsAffected: number;
  /** The server reports 0 when the statement inserted nothing. */
  readonly lastInsertRowid: number | bigint;
  /** The Raft index this result reflects (null if the server sent none). */
  readonly bookmark: string | null;
}

export interface RawResult {
  readonly columns: readonly string[];
  readonly decltypes: readonly (string | null)[];
  readonly rows: readonly (readonly unknown[])[];
  readonly rowsAffected: number;
  readonly lastInsertRowid: string | number | null;
}

export function buildResultSet<R extends object = Row>(raw: RawResult, bookmark: string | null, intMode: IntMode): ResultSet<R> {
  const rowsArray = raw.rows.map((row) => row.map((cell) => decodeValue(cell, intMode)));
  const rows = rowsArray.map((values) => Object.fromEntries(raw.columns.map((name, i) => [name, values[i] ?? null])) as R);
  const lastInsertRowid = decodeInteger(String(raw.lastInsertRowid ?? 0), intMode);
  return {
    columns: raw.columns,
    decltypes: raw.decltypes,
    rows,
    rowsArray,
    rowsAffected: raw.rowsAffected,
    lastInsertRowid,
    bookmark,
  };
}

/** One result of `POST /sql?format=typed`: `{columns, decltypes, rows, rows_affected, last_insert_id}`. */
export function parseTypedSqlResult(json: unknown): RawResult {
  const obj = asObject(json, "result");
  const columns = obj.columns ?? [];
  const rows = obj.rows ?? [];
  if (!isStringArray(columns) || !Array.isArray(rows) || !rows.every(Array.isArray)) protocolError("result", json);
  const decltypes = Array.isArray(obj.decltypes) ? obj.decltypes.map((d) => (typeof d === "string" ? d : null)) : columns.map(() => null);
  return {
    columns,
    decltypes,
    rows: rows as unknown[][],
    rowsAffected: numberField(obj.rows_affected, "rows_affected", json),
    lastInsertRowid: rowidField(obj.last_insert_id, json),
  };
}

/** Hrana's StmtResult: `{cols: [{name, decltype}], rows, affected_row_count, last_insert_rowid}`. */
export function parseHranaStmtResult(json: unknown): RawResult {
  const obj = asObject(json, "StmtResult");
  const cols = obj.cols;
  const rows = obj.rows;
  if (!Array.isArray(cols) || !Array.isArray(rows) || !rows.every(Array.isArray)) protocolError("StmtResult", json);
  const columnObjs = cols.map((c) => asObject(c, "column"));
  return {
    columns: columnObjs.map((c) => (typeof c.name === "string" ? c.name : "")),
    decltypes: columnObjs.map((c) => (typeof c.decltype === "string" ? c.decltype : null)),
    rows: rows as unknown[][],
    rowsAffected: numberField(obj.affected_row_count, "affected_row_count", json),
    lastInsertRowid: rowidField(obj.last_insert_rowid, json),
  };
}

export function asObject(json: unknown, what: string): Record<string, unknown> {
  if (typeof json !== "object" || json === null || Array.isArray(json)) protocolError(what, json);
  return json as Record<string, unknown>;
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((v) => typeof v === "string");
}

function numberField(value: unknown, name: string, json: unknown): number {
  if (value === undefined || value === null) return 0;
  if (typeof value === "number") return value;
  if (typeof value === "string" && /^\d+$/.test(value)) return Number(value);
  return protocolError(name, json);
}

function rowidField(value: unknown, json: unknown): string | number | null {
  if (value === undefined || value === null) return null;
  if (typeof value === "number" || (typeof value === "string" && /^-?\d+$/.test(value))) return value;
  return protocolError("last insert rowid", json);
}

function protocolError(what: string, json: unknown): never {
  throw new QuorumliteError(`malformed ${what} in response: ${JSON.stringify(json)?.slice(0, 200)}`, {
    code: "QUORUMLITE_PROTOCOL",
  });
}
