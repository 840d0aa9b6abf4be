/**
 * A single-node SqlService on a real bun:sqlite file, for driving the Hrana
 * routes without the Raft runtime. It keeps the contract's semantics that the
 * Hrana layer relies on: commands apply atomically with BEGIN/COMMIT/ROLLBACK
 * inside them emulated by savepoints and `is_autocommit` tracked; reads run on
 * a separate WAL reader connection (they never see an open transaction);
 * interactive transactions hold the write lock, so other writers queue, and
 * expire when idle. Every write bumps a bookmark, as a log index would.
 */
import { Database, type SQLQueryBindings } from "bun:sqlite";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type {
  BatchStep,
  CommandOutcome,
  SqlArgs,
  SqlValue,
  Statement,
  StatementResult,
  StepOutcome,
} from "../../../src/db/command.ts";
import {
  ServiceError,
  type Applied,
  type CommandInput,
  type InteractiveTx,
  type ReadOptions,
  type SqlService,
  type WriteOptions,
} from "../../../src/node/sql-service.ts";
import { conditionHolds } from "../../../src/db/step-condition.ts";
import { parseSql, savepointKey, type TxControl } from "../../../src/db/sql-statements.ts";

const EMPTY: StatementResult = { columns: [], rows: [], rowsAffected: 0, lastInsertRowid: null };
const TX_SAVEPOINT = "_test_tx";

/**
 * A result value as src/db/command.ts defines it: with safeIntegers on, bun
 * gives every INTEGER as bigint and every REAL as number, which is the
 * contract as it is.
 */
function resultValue(v: unknown): SqlValue {
  if (v instanceof Uint8Array) return new Uint8Array(v);
  return v as SqlValue;
}

/** What the state machine's internal queries and lastInsertRowid give: numbers where they are safe. */
function safeNumber(v: unknown): SqlValue {
  if (typeof v === "bigint") return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  return resultValue(v);
}

function bindings(args: SqlArgs | undefined): SQLQueryBindings[] {
  if (args === undefined) return [];
  if (Array.isArray(args)) return args as SQLQueryBindings[];
  return [args as unknown as SQLQueryBindings];
}

function sqlError(e: unknown): StepOutcome {
  const err = e as { message?: string; code?: string };
  return { ok: false, error: { message: err.message ?? String(e), code: typeof err.code === "string" ? err.code : "SQLITE_ERROR" } };
}

/** Whether `sql` would write; SQL that does not compile writes nothing (runStatement reports its error). */
function writes(db: Database, sql: string): boolean {
  try {
    return !db.prepare(sql).readonly;
  } catch {
    return false;
  }
}

/** Runs one statement for real and reports it as the state machine would. */
function runStatement(db: Database, stmt: Statement): StepOutcome {
  try {
    const q = db.prepare(stmt.sql);
    const before = db.query("SELECT total_changes()").values()[0]![0] as bigint;
    const rows = q.values(...bindings(stmt.args)).map((r) => r.map(resultValue));
    const [after, rowid] = db.query("SELECT total_changes(), last_insert_rowid()").values()[0]! as [bigint, bigint];
    const changes = Number(after - before);
    const verb = stmt.sql.trim().split(/\s+/)[0]!.toUpperCase();
    const inserted = (verb === "INSERT" || verb === "REPLACE") && changes > 0;
    const columns = q.columnNames.map((name, i) => ({ name, decltype: q.declaredTypes[i] ?? null }));
    return { ok: true, result: { columns, rows, rowsAffected: changes, lastInsertRowid: inserted ? (safeNumber(rowid) as number | bigint) : null } };
  } catch (e) {
    return sqlError(e);
  }
}

/** A command's statements inside the outer transaction, with transaction control turned into savepoints. */
class CommandSession {
  private tx: { readOnly: boolean; savepoints: string[]; bySavepoint: boolean } | null = null;
  constructor(private readonly db: Database) {}

  get isAutocommit(): boolean {
    return this.tx === null;
  }

  execute(stmt: Statement): StepOutcome {
    const parts = parseSql(stmt.sql).statements;
    if (parts.length !== 1) return runStatement(this.db, stmt);
    const c = parts[0]!.control;
    // A malformed transaction statement runs for real: SQLite reports its syntax error.
    if (c === null || c.op === "malformed") {
      if (this.tx?.readOnly && !this.db.prepare(stmt.sql).readonly) {
        return { ok: false, error: { message: "attempt to write a readonly database", code: "SQLITE_READONLY" } };
      }
      return runStatement(this.db, stmt);
    }
    try {
      this.control(c, parts[0]!.sql);
      return { ok: true, result: EMPTY };
    } catch (e) {
      return sqlError(e);
    }
  }

  /** A transaction the command left open is rolled back. */
  finish(): void {
    if (this.tx !== null) this.rollbackTx();
  }

  private rollbackTx(): void {
    this.tx = null;
    this.db.run(`ROLLBACK TO ${TX_SAVEPOINT}`);
    this.db.run(`RELEASE ${TX_SAVEPOINT}`);
  }

  private control(c: Exclude<TxControl, { op: "malformed" }>, sql: string): void {
    const fail = (message: string) => Object.assign(new Error(message), { code: "SQLITE_ERROR" });
    const tx = this.tx;
    switch (c.op) {
      case "begin":
        if (tx) throw fail("cannot start a transaction within a transaction");
        this.db.run(`SAVEPOINT ${TX_SAVEPOINT}`);
        this.tx = { readOnly: c.readonly, savepoints: [], bySavepoint: false };
        return;
      case "commit":
        if (!tx) throw fail("cannot commit - no transaction is active");
        this.db.run(`RELEASE ${TX_SAVEPOINT}`);
        this.tx = null;
        return;
      case "rollback":
        if (!tx) throw fail("cannot rollback - no transaction is active");
        this.rollbackTx();
        return;
      case "savepoint":
        if (!tx) {
          this.db.run(`SAVEPOINT ${TX_SAVEPOINT}`);
          this.tx = { readOnly: false, savepoints: [], bySavepoint: true };
        }
        this.db.run(sql);
        this.tx!.savepoints.push(savepointKey(c.name));
        return;
      case "release":
      case "rollback-to": {
        const at = tx ? tx.savepoints.lastIndexOf(savepointKey(c.name)) : -1;
        if (!tx || at < 0) throw fail(`no such savepoint: ${c.name}`);
        if (c.op === "release" && at === 0 && tx.bySavepoint) {
          this.db.run(`RELEASE ${TX_SAVEPOINT}`);
          this.tx = null;
          return;
        }
        this.db.run(sql);
        tx.savepoints.length = c.op === "release" ? at : at + 1;
        return;
      }
    }
  }
}

function runCommand(db: Database, cmd: CommandInput): CommandOutcome {
  const session = new CommandSession(db);
  if (cmd.kind === "batch") {
    const steps: (StepOutcome | null)[] = [];
    for (const s of cmd.steps) {
      steps.push(s.condition === undefined || conditionHolds(s.condition, steps, session.isAutocommit) ? session.execute(s.stmt) : null);
    }
    session.finish();
    return { kind: "batch", steps };
  }
  const results: StatementResult[] = [];
  db.run("SAVEPOINT _test_cmd");
  for (let i = 0; i < cmd.statements.length; i++) {
    const o = session.execute(cmd.statements[i]!);
    if (!o.ok) {
      session.finish();
      if (cmd.transaction) db.run("ROLLBACK TO _test_cmd");
      db.run("RELEASE _test_cmd");
      return { kind: "statements", ok: false, results: cmd.transaction ? [] : results, error: { ...o.error, statementIndex: i } };
    }
    results.push(o.result);
  }
  session.finish();
  db.run("RELEASE _test_cmd");
  return { kind: "statements", ok: true, results };
}

/** FIFO write lock: plain writes and interactive transactions take turns. */
class WriteLock {
  private held = false;
  private readonly waiters: (() => void)[] = [];
  async acquire(): Promise<void> {
    while (this.held) await new Promise<void>((r) => this.waiters.push(r));
    this.held = true;
  }
  release(): void {
    this.held = false;
    this.waiters.shift()?.();
  }
}

export interface CallRecord {
  readonly op: "read" | "write" | "begin";
  readonly detail?: CommandInput | readonly BatchStep[];
  readonly options?: ReadOptions | WriteOptions;
}

export class SqliteSqlService implements SqlService {
  readonly dir = mkdtempSync(join(tmpdir(), "quorumlite-hrana-"));
  private readonly writer: Database;
  private readonly reader: Database;
  private readonly lock = new WriteLock();
  private index = 0;
  private readonly openTxs = new Set<TestTx>();
  /** Every service call, for tests that assert how the Hrana layer mapped a request. */
  readonly calls: CallRecord[] = [];

  constructor() {
    const path = join(this.dir, "db.sqlite");
    this.writer = new Database(path, { create: true, strict: true, safeIntegers: true });
    this.writer.run("PRAGMA journal_mode=WAL");
    this.writer.run("PRAGMA synchronous=FULL");
    this.writer.run("PRAGMA busy_timeout=5000");
    this.reader = new Database(path, { readonly: true, strict: true, safeIntegers: true });
    this.reader.run("PRAGMA busy_timeout=5000");
  }

  get lastIndex(): number {
    return this.index;
  }

  async write(cmd: CommandInput, options?: WriteOptions): Promise<Applied<CommandOutcome>> {
    this.calls.push({ op: "write", detail: cmd, ...(options ? { options } : {}) });
    await this.lock.acquire();
    try {
      this.writer.run("BEGIN IMMEDIATE");
      const outcome = runCommand(this.writer, cmd);
      this.writer.run("COMMIT");
      return { outcome, bookmark: ++this.index };
    } finally {
      this.lock.release();
    }
  }

  async read(steps: readonly BatchStep[], options: ReadOptions): Promise<Applied<CommandOutcome & { kind: "batch" }>> {
    this.calls.push({ op: "read", detail: steps, options });
    for (const s of steps) if (!this.isReadOnly(s.stmt.sql)) throw new ServiceError("not-read-only", `not read-only: ${s.stmt.sql}`);
    this.reader.run("BEGIN");
    try {
      const outcome = runCommand(this.reader, { kind: "batch", steps }) as CommandOutcome & { kind: "batch" };
      return { outcome, bookmark: this.index };
    } finally {
      this.reader.run("ROLLBACK");
    }
  }

  isReadOnly(sql: string): boolean {
    return parseSql(sql).statements.every((part) => {
      if (part.control !== null) return true;
      try {
        return this.reader.prepare(part.sql).readonly;
      } catch {
        return part.verb === "SELECT" || part.verb === "VALUES";
      }
    });
  }

  async beginInteractive(options: { readonly idleTimeoutMs: number }): Promise<InteractiveTx> {
    this.calls.push({ op: "begin" });
    await this.lock.acquire();
    this.writer.run("BEGIN IMMEDIATE");
    const tx = new TestTx(this.writer, options.idleTimeoutMs, (wrote) => {
      this.openTxs.delete(tx);
      this.lock.release();
      return wrote ? ++this.index : 0;
    });
    this.openTxs.add(tx);
    return tx;
  }

  /** Simulates losing leadership: open transactions can no longer commit. */
  abortTransactions(): void {
    for (const tx of [...this.openTxs]) tx.abort();
  }

  get openTransactions(): number {
    return this.openTxs.size;
  }

  /** Reads with a fresh connection, bypassing the Hrana layer; integers as numbers where safe, as StateMachineSqlService's peek gives them. */
  query(sql: string): SqlValue[][] {
    return this.reader.query(sql).values().map((r) => r.map(safeNumber));
  }

  close(): void {
    for (const tx of [...this.openTxs]) tx.abort();
    this.writer.close();
    this.reader.close();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

class TestTx implements InteractiveTx {
  readonly id = `tx-${Math.random().toString(36).slice(2)}`;
  private ended: "committed" | "rolled-back" | "expired" | "aborted" | null = null;
  private wrote = false;
  private timer: ReturnType<typeof setTimeout> | null = null;

  constructor(
    private readonly db: Database,
    private readonly idleTimeoutMs: number,
    private readonly onEnd: (wrote: boolean) => number,
  ) {
    this.arm();
  }

  async execute(stmt: Statement): Promise<StepOutcome> {
    this.ensureOpen();
    this.arm();
    const parts = parseSql(stmt.sql).statements;
    if (parts.some((p) => writes(this.db, p.sql))) this.wrote = true;
    return runStatement(this.db, stmt);
  }

  isAutocommit(): boolean {
    return this.ended !== null;
  }

  async commit(_options?: WriteOptions): Promise<Applied<CommandOutcome>> {
    this.ensureOpen();
    this.end("committed", "COMMIT");
    return { outcome: { kind: "batch", steps: [] }, bookmark: this.onEnd(this.wrote) };
  }

  async rollback(): Promise<void> {
    if (this.ended !== null) return;
    this.end("rolled-back", "ROLLBACK");
    this.onEnd(false);
  }

  abort(): void {
    if (this.ended !== null) return;
    this.end("aborted", "ROLLBACK");
    this.onEnd(false);
  }

  private end(how: NonNullable<TestTx["ended"]>, sql: string): void {
    this.ended = how;
    if (this.timer !== null) clearTimeout(this.timer);
    this.db.run(sql);
  }

  private ensureOpen(): void {
    if (this.ended === "expired") throw new ServiceError("tx-expired", "transaction timed out (idle too long) and was rolled back");
    if (this.ended === "aborted") throw new ServiceError("not-leader", "transaction aborted: this node is no longer the leader");
    if (this.ended !== null) throw new ServiceError("bad-request", `transaction already ${this.ended}`);
  }

  private arm(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      if (this.ended !== null) return;
      this.end("expired", "ROLLBACK");
      this.onEnd(false);
    }, this.idleTimeoutMs);
  }
}

/**
 * The same database seen from a follower: reads served "locally" (the shared
 * file stands in for a caught-up replica), writes forwarded, and interactive
 * transactions refused with the leader's address, as a follower must.
 */
export class FollowerSqlService implements SqlService {
  constructor(
    private readonly leader: SqlService,
    private readonly leaderHttp: () => string,
  ) {}
  write(cmd: CommandInput, options?: WriteOptions) {
    return this.leader.write(cmd, options);
  }
  read(steps: readonly BatchStep[], options: ReadOptions) {
    return this.leader.read(steps, options);
  }
  isReadOnly(sql: string): boolean {
    return this.leader.isReadOnly(sql);
  }
  async beginInteractive(): Promise<InteractiveTx> {
    throw new ServiceError("not-leader", "this node is a follower", this.leaderHttp());
  }
}
