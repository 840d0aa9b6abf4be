/**
 * Runs a command's statements on the writer connection, inside the
 * transaction that the state machine keeps open around many entries.
 *
 * Transaction statements cannot run as written there (SQLite would end the
 * outer transaction), so they are emulated with nested savepoints:
 *   BEGIN [DEFERRED|IMMEDIATE|EXCLUSIVE|TRANSACTION READONLY] → SAVEPOINT _quorumlite_tx
 *   COMMIT / END         → RELEASE _quorumlite_tx
 *   ROLLBACK             → ROLLBACK TO _quorumlite_tx; RELEASE _quorumlite_tx
 *   SAVEPOINT x outside a transaction opens one, and RELEASE of that outermost x commits it,
 *   as in SQLite; other SAVEPOINT/RELEASE/ROLLBACK TO run as written (user names cannot
 *   clash: the `_quorumlite_` prefix is refused).
 * The session tracks autocommit state for `is_autocommit`, enforces
 * read-only transactions, and rolls back a transaction a command leaves open.
 */
import type { SqlArgs, SqlError, Stamp, Statement, StatementResult, StepOutcome } from "./command.ts";
import type { CommandClock } from "./deterministic-functions.ts";
import type { SqlConnection } from "./sql-connection.ts";
import { parseSql, savepointKey, type ParsedStatement, type TxControl } from "./sql-statements.ts";
import { isMachineFault, SqlFailure, StateMachineFault, toSqlError } from "./sqlite-errors.ts";
import { physicalLayoutRefusal, readsPhysicalLayout, refusalOf } from "./statement-policy.ts";

const TX_SAVEPOINT = "_quorumlite_tx";
const WRITE_VERBS = new Set(["INSERT", "REPLACE", "UPDATE", "DELETE"]);
const SCHEMA_VERBS = new Set(["CREATE", "DROP", "ALTER"]);
const EMPTY_RESULT: StatementResult = { columns: [], rows: [], rowsAffected: 0, lastInsertRowid: null };

/**
 * SQLite ended the enclosing transaction itself (RAISE(ROLLBACK) in a
 * trigger, an ON CONFLICT ROLLBACK constraint): everything since the state
 * machine's BEGIN is gone. The apply loop recovers (see StateMachine).
 */
export class TransactionLost extends Error {
  constructor(readonly error: SqlError) {
    super(`transaction rolled back by SQLite: ${error.message}`);
    this.name = "TransactionLost";
  }
}

interface UserTransaction {
  readonly readonly: boolean;
  /** Open user savepoints, lower-cased (SQLite compares savepoint names case-insensitively), outermost first. */
  readonly savepoints: string[];
  /** Opened by SAVEPOINT in autocommit mode: releasing the outermost savepoint commits. */
  readonly startedBySavepoint: boolean;
}

const mentionsRowid = new WeakMap<ParsedStatement, boolean>();

/** Whether a statement calls last_insert_rowid() (remembered per parsed statement). */
function mentionsLastInsertRowid(ps: ParsedStatement): boolean {
  let m = mentionsRowid.get(ps);
  if (m === undefined) {
    m = ps.tokens.some((t) => t.type === "word" && t.value.toLowerCase() === "last_insert_rowid");
    mentionsRowid.set(ps, m);
  }
  return m;
}

function hasArgs(args: SqlArgs | undefined): boolean {
  if (args === undefined) return false;
  return Array.isArray(args) ? args.length > 0 : Object.keys(args).length > 0;
}

/** A parsed command's shape: whether it needs its own savepoint to be all-or-nothing. */
export function needsEntrySavepoint(statements: readonly Statement[]): boolean {
  if (statements.length !== 1) return statements.length > 1;
  const parsed = parseSql(statements[0]!.sql).statements;
  return parsed.length > 1 || parsed.some((s) => s.control !== null);
}

export class WriteSession {
  private tx: UserTransaction | null = null;
  /** last_insert_rowid() of the connection may be non-zero: reset it before the next command that can see it. */
  private rowidDirty = true;
  private schemaMentionsRowid: boolean | null = null;

  constructor(
    private readonly conn: SqlConnection,
    private readonly clock: CommandClock,
  ) {}

  /**
   * Starts a command: 'now' and the PRNG come from `stamp`, and connection
   * state that earlier commands left (last_insert_rowid(), changes()) is
   * reset, because a restarted replica would not have it. The rowid reset
   * costs a statement, so it runs only when the command or the schema
   * (trigger, view) mentions last_insert_rowid() — the same decision on
   * every replica, and a command that cannot see the value cannot diverge on it.
   */
  begin(stamp: Stamp, statements: readonly Statement[]): void {
    this.clock.reset(stamp);
    this.tx = null;
    if (this.rowidDirty && (statements.some((s) => parseSql(s.sql).statements.some(mentionsLastInsertRowid)) || this.schemaMentionsLastInsertRowid())) {
      // An insert with rowid 0 sets sqlite3_last_insert_rowid() to 0; the temp table is this connection's own.
      this.conn.run("REPLACE INTO temp._quorumlite_rowid(rowid) VALUES (0)");
      this.rowidDirty = false;
    }
  }

  /** Whether a trigger or view could call last_insert_rowid() (re-checked after DDL). */
  private schemaMentionsLastInsertRowid(): boolean {
    this.schemaMentionsRowid ??= this.conn.query("SELECT 1 FROM sqlite_schema WHERE instr(lower(sql), 'last_insert_rowid') > 0 LIMIT 1").length > 0;
    return this.schemaMentionsRowid;
  }

  isAutocommit(): boolean {
    return this.tx === null;
  }

  /** Marks last_insert_rowid() as changed by an internal statement. */
  touchedRowid(): void {
    this.rowidDirty = true;
  }

  /**
   * Runs one client statement (its SQL may hold several statements when it
   * has no arguments; the result is the last one's). Errors that belong to the
   * SQL are returned; TransactionLost and StateMachineFault are thrown.
   */
  execute(stmt: Statement): StepOutcome {
    const parsed = parseSql(stmt.sql).statements;
    if (parsed.length === 0) return { ok: false, error: { code: "SQL_NO_STATEMENT", message: "SQL string does not contain any statement" } };
    if (parsed.length > 1 && hasArgs(stmt.args)) {
      return { ok: false, error: { code: "SQL_MANY_STATEMENTS", message: "arguments cannot be bound to a SQL string that holds several statements" } };
    }
    let result = EMPTY_RESULT;
    for (const ps of parsed) {
      const refusal = refusalOf(ps);
      if (refusal) return { ok: false, error: refusal };
      try {
        result = ps.control ? this.control(ps.control, ps.sql) : this.run(ps, stmt.args);
      } catch (e) {
        return { ok: false, error: this.classify(e) };
      }
    }
    return { ok: true, result };
  }

  /** The caller rolled back past the client's transaction (the entry savepoint holds it): forget it. */
  forgetTransaction(): void {
    this.tx = null;
  }

  /** Ends a command: a transaction it left open is rolled back. */
  finish(): void {
    if (this.tx !== null) {
      this.tx = null;
      this.rollbackTxSavepoint();
    }
  }

  private classify(e: unknown): SqlError {
    if (e instanceof TransactionLost || e instanceof StateMachineFault) throw e;
    const error = toSqlError(e);
    if (isMachineFault(e)) throw new StateMachineFault(`SQLite failed on this machine: ${error.message}`, error);
    if (!this.conn.db.inTransaction) {
      this.tx = null;
      throw new TransactionLost(error);
    }
    return error;
  }

  private run(ps: ParsedStatement, args: SqlArgs | undefined): StatementResult {
    const st = this.conn.prepare(ps.sql);
    if (!st.readonly) {
      if (this.tx?.readonly) throw new SqlFailure("SQLITE_READONLY", "attempt to write a readonly database (inside BEGIN TRANSACTION READONLY)");
      if (readsPhysicalLayout(ps)) {
        const refusal = physicalLayoutRefusal();
        throw new SqlFailure(refusal.code, refusal.message);
      }
      this.rowidDirty = true;
      if (SCHEMA_VERBS.has(ps.verb)) this.schemaMentionsRowid = null;
    }
    const result = this.conn.execute(st, ps.mainVerb, args);
    if (!st.readonly && WRITE_VERBS.has(ps.mainVerb)) this.clock.recordChanges(result.rowsAffected);
    return result;
  }

  private rollbackTxSavepoint(): void {
    this.conn.run(`ROLLBACK TO ${TX_SAVEPOINT}`);
    this.conn.run(`RELEASE ${TX_SAVEPOINT}`);
  }

  private control(c: TxControl, sql: string): StatementResult {
    const tx = this.tx;
    switch (c.op) {
      case "malformed":
        throw new SqlFailure("SQLITE_ERROR", `near "${c.near}": syntax error`);
      case "begin":
        if (tx) throw new SqlFailure("SQLITE_ERROR", "cannot start a transaction within a transaction");
        this.conn.run(`SAVEPOINT ${TX_SAVEPOINT}`);
        this.tx = { readonly: c.readonly, savepoints: [], startedBySavepoint: false };
        break;
      case "commit":
        if (!tx) throw new SqlFailure("SQLITE_ERROR", "cannot commit - no transaction is active");
        this.conn.run(`RELEASE ${TX_SAVEPOINT}`);
        this.tx = null;
        break;
      case "rollback":
        if (!tx) throw new SqlFailure("SQLITE_ERROR", "cannot rollback - no transaction is active");
        this.tx = null;
        this.rollbackTxSavepoint();
        break;
      case "savepoint": {
        if (!tx) {
          this.conn.run(`SAVEPOINT ${TX_SAVEPOINT}`);
          this.tx = { readonly: false, savepoints: [], startedBySavepoint: true };
        }
        this.conn.run(sql);
        this.tx!.savepoints.push(savepointKey(c.name));
        break;
      }
      case "release": {
        const at = tx ? tx.savepoints.lastIndexOf(savepointKey(c.name)) : -1;
        if (!tx || at < 0) throw new SqlFailure("SQLITE_ERROR", `no such savepoint: ${c.name}`);
        if (at === 0 && tx.startedBySavepoint) {
          this.conn.run(`RELEASE ${TX_SAVEPOINT}`);
          this.tx = null;
        } else {
          this.conn.run(sql);
          tx.savepoints.length = at;
        }
        break;
      }
      case "rollback-to": {
        const at = tx ? tx.savepoints.lastIndexOf(savepointKey(c.name)) : -1;
        if (!tx || at < 0) throw new SqlFailure("SQLITE_ERROR", `no such savepoint: ${c.name}`);
        this.conn.run(sql);
        tx.savepoints.length = at + 1;
        break;
      }
    }
    return EMPTY_RESULT;
  }
}
