/**
 * quorumlite/drizzle: Drizzle ORM over quorumlite's own client, built on
 * `drizzle-orm/sqlite-proxy`.
 *
 * - Queries go through the client: reads to the nearest node with the
 *   session's bookmark, writes straight to the leader.
 * - `db.batch([...])` is one `POST /sql` with `transaction: true`: one log
 *   entry, all or nothing.
 * - `db.transaction(fn)`: sqlite-proxy sends `begin`, the statements and
 *   `commit`/`rollback` as separate calls on one shared callback, which cannot
 *   tell a transaction's statements from concurrent ones and must hand back
 *   real results for reads inside. So each transaction gets its own Hrana
 *   stream on the leader and its own sqlite-proxy instance bound to it; nested
 *   `tx.transaction` savepoints run on the same stream.
 * - `migrate(db, { migrationsFolder })` applies pending drizzle-kit migrations
 *   as one atomic request through the leader, exactly once.
 */
import type { DrizzleConfig } from "drizzle-orm";
import type { MigrationConfig, MigrationMeta } from "drizzle-orm/migrator";
import { drizzle as drizzleProxy, type AsyncBatchRemoteCallback, type AsyncRemoteCallback, type SqliteRemoteDatabase } from "drizzle-orm/sqlite-proxy";
import { QuorumliteError } from "./errors.ts";
import type { ResultSet } from "./result-set.ts";
import { Session } from "./session.ts";
import type { SqlStream } from "./sql-stream.ts";
import type { InStatement } from "./statement.ts";
import type { InValue } from "./values.ts";

export type QuorumliteDatabase<TSchema extends Record<string, unknown> = Record<string, never>> = SqliteRemoteDatabase<TSchema> & {
  readonly $client: Session;
};

type ProxyMethod = Parameters<AsyncRemoteCallback>[2];
type ProxyRows = Awaited<ReturnType<AsyncRemoteCallback>>;

/** `client` may be the client itself or one of its sessions (the db then shares that session's bookmark). */
export function drizzle<TSchema extends Record<string, unknown> = Record<string, never>>(
  client: Session,
  config: DrizzleConfig<TSchema> = {},
): QuorumliteDatabase<TSchema> {
  const db = drizzleProxy<TSchema>(sessionCallback(client), sessionBatchCallback(client), config);
  const transaction: SqliteRemoteDatabase<TSchema>["transaction"] = async (fn, txConfig) => {
    const stream = client.stream("leader");
    const bound = drizzleProxy<TSchema>(streamCallback(stream), streamBatchCallback(stream), config);
    try {
      return await bound.transaction(fn, txConfig);
    } finally {
      await stream.close();
    }
  };
  return Object.assign(db, { $client: client, transaction });
}

function sessionCallback(session: Session): AsyncRemoteCallback {
  return async (sql, params, method) => toProxyRows(await session.execute(statement(sql, params)), method);
}

function sessionBatchCallback(session: Session): AsyncBatchRemoteCallback {
  return async (queries) => {
    const results = await session.batch(
      queries.map((q) => statement(q.sql, q.params)),
      { transaction: true },
    );
    return results.map((result, i) => toProxyRows(result, queries[i]!.method));
  };
}

function streamCallback(stream: SqlStream): AsyncRemoteCallback {
  return async (sql, params, method) => {
    if (/^\s*rollback\s*$/i.test(sql)) {
      // sqlite-proxy rolls back after any failure, including a failed COMMIT or a lost
      // stream; an error here would replace the one that explains what went wrong.
      try {
        await stream.execute(sql);
      } catch {
        // Nothing left to roll back, or the server already dropped the stream (it rolls back what it drops).
      }
      return { rows: [] };
    }
    return toProxyRows(await stream.execute(statement(sql, params)), method);
  };
}

function streamBatchCallback(stream: SqlStream): AsyncBatchRemoteCallback {
  return async (queries) => {
    const results = await stream.batch(queries.map((q) => statement(q.sql, q.params)));
    return results.map((result, i) => toProxyRows(result, queries[i]!.method));
  };
}

function statement(sql: string, params: readonly unknown[]): InStatement {
  return { sql, args: params as readonly InValue[] };
}

/**
 * sqlite-proxy wants rows as arrays, and for `get` the single row itself —
 * `undefined` when there is none. `run` results also carry `rowsAffected`,
 * `lastInsertRowid` and `bookmark`.
 */
function toProxyRows(result: ResultSet, method: ProxyMethod): ProxyRows {
  if (method === "get") return { rows: result.rowsArray[0] } as unknown as ProxyRows;
  return {
    rows: result.rowsArray,
    rowsAffected: result.rowsAffected,
    lastInsertRowid: result.lastInsertRowid,
    bookmark: result.bookmark,
  } as ProxyRows;
}

const DEFAULT_MIGRATIONS_TABLE = "__drizzle_migrations";
/** Rounds of "read what is applied, apply the rest" before giving up on a busy race. */
const MIGRATE_ROUNDS = 5;

/**
 * Applies the pending drizzle-kit migrations in `migrationsFolder` as ONE
 * atomic request through the leader, recording them in `__drizzle_migrations`
 * exactly as drizzle's own migrators do (so either door sees the same history).
 *
 * Exactly once, even with several migrators at the same moment: the request
 * starts with a guard statement that fails when any of the pending migrations
 * is already recorded, which rolls the whole request back; the loser then
 * re-reads the history (linearizably) and finds nothing left to do.
 */
export async function migrate(db: { readonly $client: Session } | Session, config: MigrationConfig): Promise<void> {
  const session = db instanceof Session ? db : db.$client;
  // Loaded on demand: reading migration files needs node:fs, which edge runtimes lack.
  const { readMigrationFiles } = await import("drizzle-orm/migrator");
  const migrations = readMigrationFiles(config);
  const table = quoteIdentifier(config.migrationsTable ?? DEFAULT_MIGRATIONS_TABLE);
  for (let round = 0; round < MIGRATE_ROUNDS; round++) {
    const last = await lastAppliedMillis(session, table);
    const pending = migrations.filter((m) => last === null || last < m.folderMillis);
    if (pending.length === 0) return;
    try {
      await session.batch(migrationStatements(table, pending), { transaction: true, route: "leader" });
      return;
    } catch (err) {
      if (err instanceof QuorumliteError && err.statementIndex === GUARD_INDEX) continue;
      throw err;
    }
  }
  throw new QuorumliteError(`migrations kept racing with other migrators for ${MIGRATE_ROUNDS} rounds`, { code: "QUORUMLITE_UNAVAILABLE" });
}

const GUARD_INDEX = 1;

function migrationStatements(table: string, pending: readonly MigrationMeta[]): InStatement[] {
  const first = pending[0]!.folderMillis;
  const statements: InStatement[] = [
    `CREATE TABLE IF NOT EXISTS ${table} (id SERIAL PRIMARY KEY, hash text NOT NULL, created_at numeric)`,
    // SQLite has no RAISE outside triggers; abs() of the smallest integer is its documented
    // "integer overflow" error, which aborts (and so rolls back) the whole request.
    `SELECT CASE WHEN EXISTS (SELECT 1 FROM ${table} WHERE created_at >= ${first}) THEN abs(-9223372036854775807 - 1) ELSE 0 END`,
  ];
  for (const migration of pending) {
    for (const sql of migration.sql) if (sql.trim() !== "") statements.push(sql);
    statements.push({ sql: `INSERT INTO ${table} ("hash", "created_at") VALUES (?, ?)`, args: [migration.hash, migration.folderMillis] });
  }
  return statements;
}

async function lastAppliedMillis(session: Session, table: string): Promise<number | null> {
  try {
    const row = await session.get<{ created_at: number | bigint | string | null }>(
      `SELECT created_at FROM ${table} ORDER BY created_at DESC LIMIT 1`,
      { readLevel: "linearizable" },
    );
    return row?.created_at == null ? null : Number(row.created_at);
  } catch (err) {
    if (err instanceof QuorumliteError && /no such table/i.test(err.message)) return null;
    throw err;
  }
}

function quoteIdentifier(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
