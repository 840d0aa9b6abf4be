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

const INSERT_VERBS = new Set(["INSERT", "REPLACE"]);
const WRITE_VERBS = new Set(["INSERT", "REPLACE", "UPDATE", "DELETE"]);

export class SqlConnection {
  private readonly statements: LruCache<string, BunStatement>;
  private lastRowidProbe: BunStatement | null = null;

  constructor(
    readonly db: Database,
    cacheSize: number,
  ) {
    this.statements = new LruCache(cacheSize, (st) => st.finalize());
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
    const st = this.prepare(sql);
    return normalizeRows(args.length === 0 ? st.values({}) : st.values(...args));
  }

  /** Runs an internal statement (cached) for its effect. */
  run(sql: string, ...args: Binding[]): void {
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
    const names = st.columnNames;
    const types = st.declaredTypes;
    const columns: Column[] = names.map((name, i) => ({ name, decltype: types[i] ?? null }));
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
    this.statements.clear();
    this.lastRowidProbe?.finalize();
    this.lastRowidProbe = null;
    this.db.close();
  }
}
