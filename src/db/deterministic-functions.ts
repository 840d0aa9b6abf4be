/**
 * Makes SQL that asks for "now" or for randomness give the same answer on
 * every replica: the writer connection's built-ins are replaced (per
 * connection, with sqlite3_create_function) by versions that read the
 * command's Stamp.
 *
 * - Date/time functions: a 'now' time value (or none, which means now) is
 *   replaced by the stamp's time as 'YYYY-MM-DD HH:MM:SS.SSS' — exactly the
 *   millisecond precision SQLite's own 'now' has — and the call is delegated
 *   to the real implementation on a helper connection that keeps the
 *   built-ins. CURRENT_TIMESTAMP/CURRENT_DATE/CURRENT_TIME need no rewriting:
 *   SQLite's parser turns these keywords into calls of the functions
 *   current_timestamp()/current_date()/current_time() (parse.y, CTIME_KW),
 *   which are overridden here too — also when they come from a DEFAULT
 *   clause, a view or a trigger.
 * - random()/randomblob(): a PRNG seeded with the stamp's seed at the start
 *   of each command.
 * - changes()/total_changes(): values tracked per command (they otherwise
 *   leak state from earlier commands on this connection, which a restarted
 *   replica does not have). last_insert_rowid() keeps SQLite's own semantics;
 *   the write session resets it before any command that could observe it.
 */
import { Database, type Statement as BunStatement } from "bun:sqlite";
import type { Stamp } from "./command.ts";
import { SeededRandom } from "./seeded-random.ts";
import { SqlFailure } from "./sqlite-errors.ts";

/** SQLITE_MAX_LENGTH in bun's build. */
const MAX_BLOB = 1_000_000_000;

/** Everything that deterministic SQL functions read while a command runs. */
export class CommandClock {
  nowText = "1970-01-01 00:00:00.000";
  private readonly prng = new SeededRandom(0);
  /** Seeding is deferred to the first random() of the command: most commands never call it. */
  private pendingSeed: number | null = null;
  /** changes(): rows changed by the latest completed write statement of this command. */
  changes = 0;
  /** total_changes(): rows changed by this command so far. */
  totalChanges = 0;

  private nowFor = Number.NaN;

  reset(stamp: Stamp): void {
    if (stamp.now !== this.nowFor) {
      // Consecutive commands often share a stamp time (group commit): format it once.
      this.nowText = sqliteTimeText(stamp.now);
      this.nowFor = stamp.now;
    }
    this.pendingSeed = stamp.seed;
    this.changes = 0;
    this.totalChanges = 0;
  }

  get random(): SeededRandom {
    if (this.pendingSeed !== null) {
      this.prng.reseed(this.pendingSeed);
      this.pendingSeed = null;
    }
    return this.prng;
  }

  recordChanges(n: number): void {
    this.changes = n;
    this.totalChanges += n;
  }
}

export function sqliteTimeText(ms: number): string {
  const iso = new Date(ms).toISOString(); // 2001-02-03T04:05:06.789Z
  return `${iso.slice(0, 10)} ${iso.slice(11, 23)}`;
}

type Arg = null | bigint | number | string | Uint8Array;

function isNow(v: Arg | undefined): boolean {
  return typeof v === "string" && v.length === 3 && v.toLowerCase() === "now";
}

/** Which argument positions of each date function are time values (the rest are format/modifiers). */
const DATE_FUNCTIONS: Readonly<Record<string, { readonly timeArgs: readonly number[]; readonly nowWhenShorterThan: number }>> = {
  date: { timeArgs: [0], nowWhenShorterThan: 1 },
  time: { timeArgs: [0], nowWhenShorterThan: 1 },
  datetime: { timeArgs: [0], nowWhenShorterThan: 1 },
  julianday: { timeArgs: [0], nowWhenShorterThan: 1 },
  unixepoch: { timeArgs: [0], nowWhenShorterThan: 1 },
  // strftime(format) means strftime(format, 'now').
  strftime: { timeArgs: [1], nowWhenShorterThan: 2 },
  timediff: { timeArgs: [0, 1], nowWhenShorterThan: 0 },
};

const CURRENT_FUNCTIONS: Readonly<Record<string, string>> = {
  current_timestamp: "datetime",
  current_date: "date",
  current_time: "time",
};

/** Runs the real date functions on a connection that still has SQLite's built-ins. */
class BuiltinDateFunctions {
  private readonly statements = new Map<string, BunStatement>();

  constructor(private readonly db: Database) {}

  call(name: string, args: readonly Arg[]): Arg {
    const key = `${name}/${args.length}`;
    let stmt = this.statements.get(key);
    if (stmt === undefined) {
      stmt = this.db.prepare(`SELECT ${name}(${args.map(() => "?").join(",")})`);
      stmt.safeIntegers(true);
      this.statements.set(key, stmt);
    }
    const row = args.length === 0 ? stmt.values({}) : stmt.values(...(args as Exclude<Arg, null>[]));
    return (row[0]?.[0] ?? null) as Arg;
  }

  close(): void {
    for (const s of this.statements.values()) s.finalize();
    this.statements.clear();
    this.db.close();
  }
}

function toInt(v: Arg): number {
  if (typeof v === "bigint") return v > BigInt(MAX_BLOB) ? Infinity : Number(v);
  if (typeof v === "number") return Math.trunc(v);
  if (v === null) return 0;
  const text = typeof v === "string" ? v : new TextDecoder().decode(v);
  const m = /^\s*([+-]?\d+)/.exec(text);
  return m ? Number(m[1]) : 0;
}

/**
 * Installs the deterministic functions on `db`; they read `clock`. Returns a
 * function that releases the helper connection.
 */
export function installDeterministicFunctions(db: Database, clock: CommandClock): () => void {
  const builtins = new BuiltinDateFunctions(new Database(":memory:"));
  const fnOptions = { varargs: true, deterministic: true, safeIntegers: true } as const;

  for (const [name, spec] of Object.entries(DATE_FUNCTIONS)) {
    db.function(name, fnOptions, (...raw: Arg[]) => {
      const args = raw.slice();
      if (args.length < spec.nowWhenShorterThan) args.push(clock.nowText);
      for (const i of spec.timeArgs) if (isNow(args[i])) args[i] = clock.nowText;
      return builtins.call(name, args);
    });
  }
  for (const [name, real] of Object.entries(CURRENT_FUNCTIONS)) {
    db.function(name, { deterministic: true }, () => builtins.call(real, [clock.nowText]));
  }
  // Not "deterministic": SQLite would otherwise evaluate random() once per statement instead of once per row.
  db.function("random", () => clock.random.nextInt64());
  db.function("randomblob", { safeIntegers: true }, (n: Arg) => {
    const size = Math.max(1, toInt(n));
    if (size > MAX_BLOB) throw new SqlFailure("SQLITE_TOOBIG", "string or blob too big");
    return clock.random.fill(new Uint8Array(size));
  });
  db.function("changes", () => clock.changes);
  db.function("total_changes", () => clock.totalChanges);
  return () => builtins.close();
}
