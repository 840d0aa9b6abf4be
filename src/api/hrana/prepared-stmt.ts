/** A Hrana `Stmt` resolved against the stream (stored SQL) and checked the way sqld checks it. */
import type { SqlValue, Statement } from "../../db/command.ts";
import { parseSql, type ParsedStatement, type TxControl } from "../../db/sql-statements.ts";
import { requestError } from "./errors.ts";
import type { HranaStmt, SqlSource, WireError } from "./protocol.ts";

/**
 * The transaction statements a stream interprets itself. A malformed one
 * (`ROLLBACK TO` with no name) is not among them: it goes to SQLite as an
 * ordinary statement and fails there with SQLite's syntax error, as on sqld.
 */
export type StreamControl = Exclude<TxControl, { readonly op: "malformed" }>;

export interface PreparedStmt {
  /** What the SqlService runs. */
  readonly statement: Statement;
  readonly control: StreamControl | null;
  readonly parsed: ParsedStatement;
  readonly wantRows: boolean;
}

export function resolveSql(source: SqlSource, sqls: ReadonlyMap<number, string>): string | WireError {
  if (source.kind === "text") return source.sql;
  const sql = sqls.get(source.sqlId);
  return sql ?? requestError("SQL_NOT_FOUND", `SQL text ${source.sqlId} not found`);
}

/** Rewritten so the state machine only ever sees plain SQLite syntax (`BEGIN READONLY` is libSQL's). */
const READ_ONLY_BEGIN = "BEGIN DEFERRED";

/** `sql` is what runs: the statement's whole text as the client sent it, or one statement of a sequence. */
export function prepareText(sql: string, parsed: ParsedStatement, args: Statement["args"], wantRows: boolean): PreparedStmt {
  const c = parsed.control;
  const control = c === null || c.op === "malformed" ? null : c;
  const text = control?.op === "begin" && control.readonly ? READ_ONLY_BEGIN : sql;
  return { statement: args === undefined ? { sql: text } : { sql: text, args }, control, parsed, wantRows };
}

/** The one statement of `sql`, or sqld's error for none or several. */
export function singleStatement(sql: string): ParsedStatement | WireError {
  const parts = parseSql(sql).statements;
  if (parts.length === 0) return requestError("SQL_NO_STATEMENT", "SQL string does not contain any statement");
  if (parts.length > 1) return requestError("SQL_MANY_STATEMENTS", "SQL string contains more than one statement");
  return parts[0]!;
}

export function prepareStmt(stmt: HranaStmt, sqls: ReadonlyMap<number, string>): PreparedStmt | WireError {
  const sql = resolveSql(stmt.source, sqls);
  if (typeof sql !== "string") return sql;
  const parsed = singleStatement(sql);
  if (!("tokens" in parsed)) return parsed;
  if (stmt.args.length > 0 && stmt.namedArgs.length > 0) {
    return requestError("ARGS_BOTH_POSITIONAL_AND_NAMED", "Specifying both positional and named arguments is not supported");
  }
  let args: Statement["args"];
  if (stmt.namedArgs.length > 0) {
    // fromEntries defines properties, so a parameter called "__proto__" stays a parameter.
    args = Object.fromEntries(stmt.namedArgs.map((a): [string, SqlValue] => [a.name, a.value]));
  } else if (stmt.args.length > 0) {
    args = stmt.args;
  }
  return prepareText(sql, parsed, args, stmt.wantRows);
}

export function isPrepared(v: PreparedStmt | WireError): v is PreparedStmt {
  return "statement" in v;
}
