/**
 * Opens the Raft log's own SQLite database (dir/raft.db) with the durability
 * settings every connection to it must use.
 *
 * WAL + synchronous=FULL: every COMMIT fsyncs the WAL before returning, so a
 * committed transaction survives power loss; an interrupted one is discarded
 * by SQLite's WAL frame checksums on the next open. `fsync: false` (tests and
 * simulations only) sets synchronous=OFF: still safe against a process crash,
 * not against an OS crash.
 */
import { Database } from "bun:sqlite";
import { join } from "node:path";
import { mkdirSync } from "node:fs";

export const LOG_DB_FILE = "raft.db";
const FORMAT_VERSION = "1";

export interface LogDatabaseOptions {
  readonly fsync: boolean;
  /** wal_autocheckpoint of the connection (SQLite's default, 1000 pages, when absent); see wal-checkpointer.ts. */
  readonly autoCheckpointPages?: number;
}

export interface ConnectionPragmas {
  readonly journalMode: string;
  /** As SQLite reports it: "OFF" | "NORMAL" | "FULL" | "EXTRA". */
  readonly synchronous: string;
}

const SYNCHRONOUS_NAMES = ["OFF", "NORMAL", "FULL", "EXTRA"] as const;

export function logDatabasePath(dir: string): string {
  return join(dir, LOG_DB_FILE);
}

export function openLogDatabase(dir: string, opts: LogDatabaseOptions): Database {
  mkdirSync(dir, { recursive: true });
  const db = new Database(logDatabasePath(dir), { create: true, strict: true });
  db.exec("PRAGMA busy_timeout = 5000");
  const mode = db.query<{ journal_mode: string }, []>("PRAGMA journal_mode = WAL").get();
  if (mode?.journal_mode !== "wal") {
    db.close();
    throw new Error(`raft log: cannot switch ${logDatabasePath(dir)} to WAL (got ${mode?.journal_mode})`);
  }
  db.exec(`PRAGMA synchronous = ${opts.fsync ? "FULL" : "OFF"}`);
  if (opts.autoCheckpointPages !== undefined) db.exec(`PRAGMA wal_autocheckpoint = ${Math.max(0, Math.floor(opts.autoCheckpointPages))}`);
  // Keep the WAL from growing without bound between checkpoints.
  db.exec("PRAGMA journal_size_limit = 67108864");
  db.exec(`
    CREATE TABLE IF NOT EXISTS entries (
      idx  INTEGER PRIMARY KEY,
      term INTEGER NOT NULL,
      crc  INTEGER NOT NULL,
      body BLOB    NOT NULL
    );
    CREATE TABLE IF NOT EXISTS state (
      key   TEXT PRIMARY KEY,
      value TEXT    NOT NULL,
      crc   INTEGER NOT NULL
    ) WITHOUT ROWID;
  `);
  const format = db.query<{ value: string }, []>("SELECT value FROM state WHERE key = 'format'").get();
  if (!format) {
    db.query("INSERT INTO state (key, value, crc) VALUES ('format', ?1, ?2)").run(FORMAT_VERSION, checksum(FORMAT_VERSION));
  } else if (format.value !== FORMAT_VERSION) {
    db.close();
    throw new Error(`raft log: unsupported format ${format.value} in ${logDatabasePath(dir)}`);
  }
  return db;
}

export function readPragmas(db: Database): ConnectionPragmas {
  const mode = db.query<{ journal_mode: string }, []>("PRAGMA journal_mode").get();
  const sync = db.query<{ synchronous: number }, []>("PRAGMA synchronous").get();
  return {
    journalMode: mode?.journal_mode ?? "unknown",
    synchronous: SYNCHRONOUS_NAMES[sync?.synchronous ?? -1] ?? `unknown(${sync?.synchronous})`,
  };
}

/** CRC32 of an entry's encoded bytes or a state row's text. */
export function checksum(data: Uint8Array | string): number {
  return Bun.hash.crc32(data);
}
