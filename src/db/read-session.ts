/**
 * Read-only work on the reader connection, which sees only committed data
 * (WAL: a reader never sees the writer's open transaction). Transaction
 * statements run for real here: BEGIN gives the steps one consistent view.
 */
import type { BatchStep, CommandOutcome, SqlError, Statement, StatementResult, StepOutcome } from "./command.ts";
import type { SqlConnection } from "./sql-connection.ts";
import { parseSql, type ParsedStatement } from "./sql-statements.ts";
import { toSqlError } from "./sqlite-errors.ts";
import { refusalOf } from "./statement-policy.ts";
import { conditionHolds } from "./step-condition.ts";

export class NotReadOnlyError extends Error {
  constructor(
    readonly stepIndex: number,
    readonly sql: string,
  ) {
    super(`step ${stepIndex} is not read-only: ${sql.length > 200 ? `${sql.slice(0, 200)}…` : sql}`);
    this.name = "NotReadOnlyError";
  }
}

const EMPTY_RESULT: StatementResult = { columns: [], rows: [], rowsAffected: 0, lastInsertRowid: null };

/**
 * True when every statement of `sql` leaves the database file alone, by
 * SQLite's sqlite3_stmt_readonly() on a prepared statement (bun exposes it
 * as Statement.readonly; BEGIN/COMMIT/SAVEPOINT count as read-only). When a
 * statement does not compile on this replica (say, its table does not exist
 * here yet) only SELECT and VALUES count as read-only, so a write that the
 * leader would accept is never answered locally.
 */
export function isReadOnlySql(conn: SqlConnection, sql: string): boolean {
  for (const ps of parseSql(sql).statements) {
    if (ps.control) continue;
    try {
      if (!conn.prepare(ps.sql).readonly) return false;
    } catch {
      if (ps.mainVerb !== "SELECT" && ps.mainVerb !== "VALUES") return false;
    }
  }
  return true;
}

/** An error a statement runner reports as it is, not through toSqlError. */
class StatementError extends Error {
  constructor(readonly error: SqlError) {
    super(error.message);
  }
}

/**
 * Runs every statement of `stmt.sql` in order with `runOne`, stopping at the
 * first refused or failing one; the step's result is the last statement's.
 */
function eachStatement(stmt: Statement, runOne: (ps: ParsedStatement) => StatementResult, onError?: () => void): StepOutcome {
  const parsed = parseSql(stmt.sql).statements;
  if (parsed.length === 0) return { ok: false, error: { code: "SQL_NO_STATEMENT", message: "SQL string does not contain any statement" } };
  let result = EMPTY_RESULT;
  for (const ps of parsed) {
    const refusal: SqlError | null = refusalOf(ps);
    if (refusal) return { ok: false, error: refusal };
    try {
      result = runOne(ps);
    } catch (e) {
      onError?.();
      return { ok: false, error: e instanceof StatementError ? e.error : toSqlError(e) };
    }
  }
  return { ok: true, result };
}

function executeRead(conn: SqlConnection, stmt: Statement): StepOutcome {
  return eachStatement(stmt, (ps) => {
    if (ps.control?.op === "malformed") throw new StatementError({ code: "SQLITE_ERROR", message: `near "${ps.control.near}": syntax error` });
    // Any BEGIN is a plain deferred one: IMMEDIATE/EXCLUSIVE would need a write lock this connection cannot take.
    const sql = ps.control?.op === "begin" ? "BEGIN" : ps.sql;
    return ps.control ? (conn.run(sql), EMPTY_RESULT) : conn.execute(conn.prepare(sql), ps.mainVerb, stmt.args);
  });
}

/**
 * Plain queries (SELECT/VALUES, no transaction statements, no step
 * conditions) read in the connection's held snapshot: what autocommit reads
 * would return at this moment, without a read lock per statement.
 */
function isPlainQuery(step: BatchStep): boolean {
  if (step.condition !== undefined) return false;
  for (const ps of parseSql(step.stmt.sql).statements) {
    if (ps.control !== null || (ps.mainVerb !== "SELECT" && ps.mainVerb !== "VALUES")) return false;
  }
  return true;
}

function queryInSnapshot(conn: SqlConnection, stmt: Statement): StepOutcome {
  return eachStatement(
    stmt,
    (ps) => {
      const st = conn.prepare(ps.sql);
      return st.readonly && st.reader ? conn.select(st, stmt.args) : conn.execute(st, ps.mainVerb, stmt.args);
    },
    // Whatever SQLite did to the transaction, the next read starts a fresh one.
    () => conn.releaseSnapshot(),
  );
}

/** Runs `steps` read-only; throws NotReadOnlyError (before running anything) if a step would write. */
export function readBatch(conn: SqlConnection, steps: readonly BatchStep[]): CommandOutcome & { kind: "batch" } {
  steps.forEach((step, i) => {
    if (!isReadOnlySql(conn, step.stmt.sql)) throw new NotReadOnlyError(i, step.stmt.sql);
  });
  if (steps.every(isPlainQuery) && conn.holdSnapshot()) {
    return { kind: "batch", steps: steps.map((step) => queryInSnapshot(conn, step.stmt)) };
  }
  conn.releaseSnapshot();
  const outcomes: (StepOutcome | null)[] = [];
  try {
    for (const { stmt, condition } of steps) {
      const autocommit = !conn.db.inTransaction;
      outcomes.push(condition === undefined || conditionHolds(condition, outcomes, autocommit) ? executeRead(conn, stmt) : null);
    }
  } finally {
    if (conn.db.inTransaction) conn.run("ROLLBACK");
  }
  return { kind: "batch", steps: outcomes };
}
