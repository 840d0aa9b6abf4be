/**
 * The state machine's own tables, kept inside the application database so
 * that they change in the same SQLite transaction as the data (and travel in
 * snapshots). User SQL cannot name them: the `_quorumlite_` prefix is refused.
 */
import type { SqlConnection } from "./sql-connection.ts";

export const META_TABLE = "_quorumlite_meta";
export const REQUESTS_TABLE = "_quorumlite_requests";
/** Per-connection temp table whose only use is resetting last_insert_rowid() between commands. */
export const ROWID_RESET_TABLE = "_quorumlite_rowid";

const FORMAT = 1;

export function createInternalSchema(conn: SqlConnection): void {
  conn.db.run("BEGIN IMMEDIATE");
  conn.db.run(`CREATE TABLE IF NOT EXISTS ${META_TABLE} (key TEXT PRIMARY KEY, value NOT NULL)`);
  conn.db.run(`INSERT OR IGNORE INTO ${META_TABLE} (key, value) VALUES ('applied_index', 0), ('format', ${FORMAT})`);
  conn.db.run(
    `CREATE TABLE IF NOT EXISTS ${REQUESTS_TABLE} (seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, entry_index INTEGER NOT NULL, outcome BLOB NOT NULL)`,
  );
  conn.db.run(`CREATE TEMP TABLE IF NOT EXISTS ${ROWID_RESET_TABLE} (x)`);
  conn.db.run("COMMIT");
}

/** The applied index recorded in the database `conn` reads. */
export function readAppliedIndex(conn: SqlConnection): number {
  const rows = conn.query(`SELECT value FROM ${META_TABLE} WHERE key = 'applied_index'`);
  const v = rows[0]?.[0];
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0) throw new Error(`bad applied index in ${META_TABLE}: ${String(v)}`);
  return v;
}

export function writeAppliedIndex(conn: SqlConnection, index: number): void {
  conn.run(`UPDATE ${META_TABLE} SET value = ? WHERE key = 'applied_index'`, index);
}
