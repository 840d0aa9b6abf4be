/**
 * What a replicated write carries: SQL with its arguments, plus the stamp that
 * makes `random()`, `datetime('now')` and friends give the same value on every
 * replica. Encoded into a Raft entry's `data` by `encodeCommand`.
 */

/**
 * A SQL value as it crosses the state machine boundary. In results, INTEGER
 * values are always bigint and REAL values number (so 2 and 2.0 stay apart).
 * As arguments, a bigint binds as INTEGER, and a number as bun:sqlite binds
 * it: INTEGER when it is integral within 2^53 (a JS number cannot tell 2.0
 * from 2, so an integral float argument lands as INTEGER), REAL otherwise.
 */
export type SqlValue = null | number | bigint | string | Uint8Array;

export type SqlArgs = readonly SqlValue[] | Readonly<Record<string, SqlValue>>;

export interface Statement {
  readonly sql: string;
  /** Positional (`?`, `?NNN`) or named (`:a`, `@a`, `$a`; keys may be given with or without the prefix). */
  readonly args?: SqlArgs;
}

/** Hrana-style batch step conditions, evaluated deterministically during apply. */
export type StepCondition =
  | { readonly type: "ok"; readonly step: number }
  | { readonly type: "error"; readonly step: number }
  | { readonly type: "not"; readonly cond: StepCondition }
  | { readonly type: "and"; readonly conds: readonly StepCondition[] }
  | { readonly type: "or"; readonly conds: readonly StepCondition[] }
  | { readonly type: "is_autocommit" };

export interface BatchStep {
  readonly stmt: Statement;
  readonly condition?: StepCondition;
}

/** Values fixed by the leader when it accepts the write, so every replica computes the same thing. */
export interface Stamp {
  /** Milliseconds since the Unix epoch: what 'now' means for this command. */
  readonly now: number;
  /** Seed for random()/randomblob() in this command. */
  readonly seed: number;
}

export type Command =
  /** Statements run in order. With `transaction`, all-or-nothing; without, each statement commits on its own and a failure stops the rest. */
  | {
      readonly kind: "statements";
      readonly statements: readonly Statement[];
      readonly transaction: boolean;
      readonly stamp: Stamp;
      /** Client request id for exactly-once retries (Raft thesis §6.3). */
      readonly requestId?: string;
    }
  /** A Hrana batch: steps with conditions; step failures are results, not aborts. */
  | {
      readonly kind: "batch";
      readonly steps: readonly BatchStep[];
      readonly stamp: Stamp;
      readonly requestId?: string;
    };

export interface Column {
  readonly name: string;
  readonly decltype: string | null;
}

export interface StatementResult {
  readonly columns: readonly Column[];
  readonly rows: readonly (readonly SqlValue[])[];
  readonly rowsAffected: number;
  /**
   * null when the statement inserted nothing (Hrana `last_insert_rowid: null`).
   * A number where it is safe, a bigint beyond 2^53 (on every path, RETURNING
   * included): it is a count-like field beside rowsAffected, not a row value,
   * so it keeps no storage class, and every encoder writes it as an exact integer.
   */
  readonly lastInsertRowid: bigint | number | null;
}

export interface SqlError {
  readonly message: string;
  /** SQLite's extended code name, e.g. "SQLITE_CONSTRAINT_PRIMARYKEY"; "SQLITE_ERROR" when unknown. */
  readonly code: string;
}

export type StepOutcome = { readonly ok: true; readonly result: StatementResult } | { readonly ok: false; readonly error: SqlError };

/** What applying one command produced. */
export type CommandOutcome =
  | {
      readonly kind: "statements";
      /** ok: every statement's result. Not ok: the failing statement's index and error (with `transaction`, nothing was kept). */
      readonly ok: boolean;
      readonly results: readonly StatementResult[];
      readonly error?: SqlError & { readonly statementIndex: number };
    }
  | { readonly kind: "batch"; readonly steps: readonly (StepOutcome | null)[] };
