/**
 * One bun:sqlite connection with a prepared-statement cache, and the
 * translation between bun's results and the state machine's StatementResult
 * (rows as arrays). User results keep SQLite's storage class exactly: every
 * INTEGER as bigint, every REAL as number, so 2 and 2.0 stay apart on the
 * wire. Internal queries and lastInsertRowid get numbers where they are safe
 * (see StatementResult in command.ts).
 */
import type { Database, Statement as BunStatement } from "bun:sqlite";
import type { Column, SqlArgs, SqlValue, StatementResult } from "./command.ts";
import { LruCache } from "./lru-cache.ts";

type Binding = Exclude<SqlValue, null> | null;

/** A number where it is safe, else the bigint: for internal queries and lastInsertRowid, never for user rows. */
function toSqlValue(v: unknown): SqlValue {
  if (typeof v === "bigint") {
    return v >= -9007199254740991n && v <= 9007199254740991n ? Number(v) : v;
  }
  return v as SqlValue;
}

function normalizeRows(rows: unknown[][]): SqlValue[][] {
  for (const row of rows) {
    for (let i = 0; i < row.length; i++) {
      if (typeof row[i] === "bigint") row[i] = toSqlValue(row[i]);
    }
  }
  return rows as SqlValue[][];
}

/**
 * Bun keeps a statement's previous bindings when called without arguments,
 * which would leak one command's values into the next; an empty object clears
 * them (every parameter becomes NULL).
 */
function bindingsOf(args: SqlArgs | undefined): Binding[] | [Record<string, SqlValue>] {
  if (args === undefined) return [{}];
  if (Array.isArray(args)) return args.length === 0 ? [{}] : (args as Binding[]);
  return [args as Record<string, SqlValue>];
}

/**
 * The connections of one database file that hold a read snapshot (see
 * holdSnapshot). Everything that changes a file goes through run(), query()
 * or execute() of a SqlConnection (the state machine commits with
 * run("COMMIT")), and each of those first ends every snapshot held on the
 * file: a held snapshot is therefore never older than the last commit, and
 * no statement of this thread ever waits on one (a checkpoint that must
 * reset the WAL would otherwise wait out busy_timeout on its own reader).
 */
type SnapshotHolders = Set<SqlConnection>;
const holdersByFile = new Map<string, SnapshotHolders>();

function holdersOf(filename: string): SnapshotHolders | null {
  if (filename === "" || filename === ":memory:") return null;
  let h = holdersByFile.get(filename);
  if (h === undefined) holdersByFile.set(filename, (h = new Set()));
  return h;
}

function columnsOf(st: BunStatement): Column[] {
  const names = st.columnNames;
  const types = st.declaredTypes;
  return names.map((name, i) => ({ name, decltype: types[i] ?? null }));
}

const INSERT_VERBS = new Set(["INSERT", "REPLACE"]);
const WRITE_VERBS = new Set(["INSERT", "REPLACE", "UPDATE", "DELETE"]);

export class SqlConnection {
  private readonly statements: LruCache<string, BunStatement>;
  private lastRowidProbe: BunStatement | null = null;
  private readonly holders: SnapshotHolders | null;
  private holding = false;
  /** Column lists of statements read in the held snapshot: the schema cannot change while it is held. */
  private snapshotColumns = new Map<BunStatement, Column[]>();
  private snapshotStatements: { begin: BunStatement; rollback: BunStatement } | null = null;

  constructor(
    readonly db: Database,
    cacheSize: number,
  ) {
    this.statements = new LruCache(cacheSize, (st) => st.finalize());
    this.holders = holdersOf(db.filename);
  }

  /**
   * Makes the connection sit in a read transaction that sees everything
   * committed to the file so far, keeping the one it holds while no
   * statement runs on the file (see SnapshotHolders): in WAL mode each
   * autocommit read takes and drops a read lock (two fcntl calls), which a
   * run of reads shares this way. The snapshot ends when anything else runs
   * on the file, or at the latest on the next turn of the event loop, so it
   * never keeps a checkpoint from resetting the WAL for long. False when it
   * cannot (in-memory database, or a transaction of someone else is open):
   * then read in autocommit as usual.
   */
  holdSnapshot(): boolean {
    if (this.holders === null) return false;
    if (this.holding) {
      if (this.db.inTransaction) return true;
      this.releaseSnapshot();
    }
    if (this.db.inTransaction) return false;
    this.snapshotStatements ??= { begin: this.db.prepare("BEGIN"), rollback: this.db.prepare("ROLLBACK") };
    // Deferred: SQLite fixes the snapshot at the first read, which follows synchronously.
    this.snapshotStatements.begin.run();
    this.holding = true;
    this.holders.add(this);
    if (!this.releaseScheduled) {
      this.releaseScheduled = true;
      setImmediate(this.releaseHeld);
    }
    return true;
  }

  /** Ends the held read transaction, if any. */
  releaseSnapshot(): void {
    if (!this.holding) return;
    this.holding = false;
    if (this.snapshotColumns.size > 0) this.snapshotColumns = new Map();
    this.holders!.delete(this);
    if (this.db.inTransaction) this.snapshotStatements!.rollback.run();
  }

  private releaseScheduled = false;
  private readonly releaseHeld = (): void => {
    this.releaseScheduled = false;
    this.releaseSnapshot();
  };

  /**
   * Runs a read-only statement that returns rows (st.readonly && st.reader),
   * without ending the file's held snapshots: the same result execute()
   * gives for it. For reads inside holdSnapshot().
   */
  select(st: BunStatement, args: SqlArgs | undefined): StatementResult {
    const rows = st.values(...(bindingsOf(args) as Binding[])) as SqlValue[][];
    let columns = this.holding ? this.snapshotColumns.get(st) : undefined;
    if (columns === undefined) {
      columns = columnsOf(st);
      if (this.holding) this.snapshotColumns.set(st, columns);
    }
    return { columns, rows, rowsAffected: 0, lastInsertRowid: null };
  }

  /** Before anything that is not a snapshot read: it may commit, so every snapshot held on the file ends. */
  private touch(): void {
    if (this.holders !== null && this.holders.size > 0) for (const c of this.holders) c.releaseSnapshot();
  }

  /** A cached prepared statement for `sql` (one statement). Throws SQLite's error if it does not compile. */
  prepare(sql: string): BunStatement {
    let st = this.statements.get(sql);
    if (st === undefined) {
      st = this.db.prepare(sql);
      st.safeIntegers(true);
      this.statements.set(sql, st);
    }
    return st;
  }

  /** Runs an internal statement (cached); returns its rows. */
  query(sql: string, ...args: Binding[]): SqlValue[][] {
    this.touch();
    const st = this.prepare(sql);
    return normalizeRows(args.length === 0 ? st.values({}) : st.values(...args));
  }

  /** Runs an internal statement (cached) for its effect. */
  run(sql: string, ...args: Binding[]): void {
    this.touch();
    const st = this.prepare(sql);
    if (args.length === 0) st.run({});
    else st.run(...args);
  }

  /**
   * Runs a user statement. `mainVerb` decides whether a changed row count
   * means an insert: lastInsertRowid is reported only for INSERT/REPLACE
   * statements that changed rows (Hrana's `last_insert_rowid: null` otherwise).
   */
  execute(st: BunStatement, mainVerb: string, args: SqlArgs | undefined): StatementResult {
    this.touch();
    const bindings = bindingsOf(args) as Binding[];
    if (!st.reader) {
      const r = st.run(...bindings);
      const inserted = r.changes > 0 && INSERT_VERBS.has(mainVerb);
      return {
        columns: [],
        rows: [],
        rowsAffected: r.changes,
        lastInsertRowid: inserted ? (toSqlValue(r.lastInsertRowid) as number | bigint) : null,
      };
    }
    // prepare() turned safeIntegers on: bun gives every INTEGER as bigint and every REAL as number, the contract as is.
    const rows = st.values(...bindings) as SqlValue[][];
    const columns = columnsOf(st);
    // A writing statement that returns rows is INSERT/UPDATE/DELETE … RETURNING: one row per changed row.
    const changes = !st.readonly && WRITE_VERBS.has(mainVerb) ? rows.length : 0;
    const inserted = changes > 0 && INSERT_VERBS.has(mainVerb);
    return {
      columns,
      rows,
      rowsAffected: changes,
      lastInsertRowid: inserted ? this.lastInsertRowid() : null,
    };
  }

  /** sqlite3_last_insert_rowid(), read through bun's run() of a statement that changes nothing. */
  lastInsertRowid(): number | bigint {
    this.lastRowidProbe ??= this.db.prepare("SELECT 1");
    this.lastRowidProbe.safeIntegers(true);
    return toSqlValue(this.lastRowidProbe.run().lastInsertRowid) as number | bigint;
  }

  clearCache(): void {
    this.statements.clear();
  }

  close(): void {
    this.releaseSnapshot();
    this.snapshotStatements?.begin.finalize();
    this.snapshotStatements?.rollback.finalize();
    this.snapshotStatements = null;
    this.statements.clear();
    this.lastRowidProbe?.finalize();
    this.lastRowidProbe = null;
    this.db.close();
  }
}
