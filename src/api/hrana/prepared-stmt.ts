/** A Hrana `Stmt` resolved against the stream (stored SQL) and checked the way sqld checks it. */
import type { SqlValue, Statement } from "../../db/command.ts";
import { requestError } from "./errors.ts";
import type { HranaStmt, SqlSource, WireError } from "./protocol.ts";
import { splitStatements, type Token } from "./sql-lexer.ts";
import { classifyTxControl, type TxControl } from "./tx-control.ts";

export interface PreparedStmt {
  /** What the SqlService runs. */
  readonly statement: Statement;
  readonly control: TxControl | null;
  readonly tokens: readonly Token[];
  readonly wantRows: boolean;
}

export function resolveSql(source: SqlSource, sqls: ReadonlyMap<number, string>): string | WireError {
  if (source.kind === "text") return source.sql;
  const sql = sqls.get(source.sqlId);
  return sql ?? requestError("SQL_NOT_FOUND", `SQL text ${source.sqlId} not found`);
}

/** Rewritten so the state machine only ever sees plain SQLite syntax (`BEGIN READONLY` is libSQL's). */
const READ_ONLY_BEGIN = "BEGIN DEFERRED";

export function prepareText(sql: string, tokens: readonly Token[], args: Statement["args"], wantRows: boolean): PreparedStmt {
  const control = classifyTxControl(tokens);
  const text = control?.kind === "begin" && control.readOnly ? READ_ONLY_BEGIN : sql;
  return { statement: args === undefined ? { sql: text } : { sql: text, args }, control, tokens, wantRows };
}

export function prepareStmt(stmt: HranaStmt, sqls: ReadonlyMap<number, string>): PreparedStmt | WireError {
  const sql = resolveSql(stmt.source, sqls);
  if (typeof sql !== "string") return sql;
  const parts = splitStatements(sql);
  if (parts.length === 0) return requestError("SQL_NO_STATEMENT", "SQL string does not contain any statement");
  if (parts.length > 1) return requestError("SQL_MANY_STATEMENTS", "SQL string contains more than one statement");
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
  return prepareText(sql, parts[0]!.tokens, args, stmt.wantRows);
}

export function isPrepared(v: PreparedStmt | WireError): v is PreparedStmt {
  return "statement" in v;
}
