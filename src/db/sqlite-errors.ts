/**
 * Turns what bun:sqlite throws into the SqlError a client sees, and tells
 * apart the errors that are a property of the SQL (same on every replica, so
 * a legitimate outcome) from those that are a property of one machine (disk
 * full, I/O error, corruption), which must never become an outcome.
 */
import { SQLiteError } from "bun:sqlite";
import type { SqlError } from "./command.ts";

/** Extended result codes (sqlite3.h), for errors that come without bun's `code` name. */
const CODE_NAMES: ReadonlyMap<number, string> = new Map([
  [1, "SQLITE_ERROR"],
  [2, "SQLITE_INTERNAL"],
  [3, "SQLITE_PERM"],
  [4, "SQLITE_ABORT"],
  [5, "SQLITE_BUSY"],
  [6, "SQLITE_LOCKED"],
  [7, "SQLITE_NOMEM"],
  [8, "SQLITE_READONLY"],
  [9, "SQLITE_INTERRUPT"],
  [10, "SQLITE_IOERR"],
  [11, "SQLITE_CORRUPT"],
  [12, "SQLITE_NOTFOUND"],
  [13, "SQLITE_FULL"],
  [14, "SQLITE_CANTOPEN"],
  [15, "SQLITE_PROTOCOL"],
  [16, "SQLITE_EMPTY"],
  [17, "SQLITE_SCHEMA"],
  [18, "SQLITE_TOOBIG"],
  [19, "SQLITE_CONSTRAINT"],
  [20, "SQLITE_MISMATCH"],
  [21, "SQLITE_MISUSE"],
  [22, "SQLITE_NOLFS"],
  [23, "SQLITE_AUTH"],
  [24, "SQLITE_FORMAT"],
  [25, "SQLITE_RANGE"],
  [26, "SQLITE_NOTADB"],
  [27, "SQLITE_NOTICE"],
  [28, "SQLITE_WARNING"],
  [257, "SQLITE_ERROR_MISSING_COLLSEQ"],
  [513, "SQLITE_ERROR_RETRY"],
  [769, "SQLITE_ERROR_SNAPSHOT"],
  [264, "SQLITE_READONLY_RECOVERY"],
  [520, "SQLITE_READONLY_CANTLOCK"],
  [776, "SQLITE_READONLY_ROLLBACK"],
  [1032, "SQLITE_READONLY_DBMOVED"],
  [516, "SQLITE_ABORT_ROLLBACK"],
  [275, "SQLITE_CONSTRAINT_CHECK"],
  [531, "SQLITE_CONSTRAINT_COMMITHOOK"],
  [787, "SQLITE_CONSTRAINT_FOREIGNKEY"],
  [1043, "SQLITE_CONSTRAINT_FUNCTION"],
  [1299, "SQLITE_CONSTRAINT_NOTNULL"],
  [1555, "SQLITE_CONSTRAINT_PRIMARYKEY"],
  [1811, "SQLITE_CONSTRAINT_TRIGGER"],
  [2067, "SQLITE_CONSTRAINT_UNIQUE"],
  [2323, "SQLITE_CONSTRAINT_VTAB"],
  [2579, "SQLITE_CONSTRAINT_ROWID"],
  [2835, "SQLITE_CONSTRAINT_PINNED"],
  [3091, "SQLITE_CONSTRAINT_DATATYPE"],
]);

/** Primary codes that describe the machine, not the SQL. */
const MACHINE_CODES = new Set([3, 5, 6, 7, 8, 9, 10, 11, 13, 14, 15, 22, 26]);

/** An error the state machine raises on purpose (from a SQL function, a refusal, an emulated transaction statement), with the code SQLite would use. */
export class SqlFailure extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "SqlFailure";
  }
}

/** A failure of this machine (disk, I/O, corruption): the apply must stop, not record an outcome. */
export class StateMachineFault extends Error {
  constructor(
    message: string,
    readonly sqlError: SqlError,
  ) {
    super(message);
    this.name = "StateMachineFault";
  }
}

export function codeName(errno: number): string {
  return CODE_NAMES.get(errno) ?? CODE_NAMES.get(errno & 0xff) ?? "SQLITE_ERROR";
}

/** What a client sees for `e`. Binding mistakes bun reports as plain errors become SQLITE_RANGE/SQLITE_MISMATCH. */
export function toSqlError(e: unknown): SqlError {
  if (e instanceof SQLiteError) {
    return { message: e.message, code: e.code ?? codeName(e.errno) };
  }
  if (e instanceof SqlFailure) return { message: e.message, code: e.code };
  if (e instanceof RangeError) return { message: e.message, code: "SQLITE_RANGE" };
  if (e instanceof TypeError) return { message: e.message, code: "SQLITE_MISMATCH" };
  if (e instanceof Error) {
    if (/expected \d+ values, received \d+/.test(e.message)) return { message: e.message, code: "SQLITE_RANGE" };
    return { message: e.message, code: "SQLITE_ERROR" };
  }
  return { message: String(e), code: "SQLITE_ERROR" };
}

/** True when `e` comes from this machine's environment rather than from the SQL. */
export function isMachineFault(e: unknown): boolean {
  return e instanceof SQLiteError && MACHINE_CODES.has(e.errno & 0xff);
}
