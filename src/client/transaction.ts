/**
 * An interactive transaction on a stream: BEGIN, any statements (their
 * results are available before the next one is sent), then COMMIT or
 * ROLLBACK. A write transaction runs on the leader holding the write lock and
 * commits as one log entry; the session's bookmark moves to its commit index.
 */
import { QuorumliteError } from "./errors.ts";
import type { ResultSet, Row } from "./result-set.ts";
import type { InStatement } from "./statement.ts";
import type { SqlStream } from "./sql-stream.ts";

/** `write`: BEGIN IMMEDIATE on the leader. `read`: read-only (libSQL's `BEGIN TRANSACTION READONLY`) on the nearest node. `deferred`: BEGIN DEFERRED on the leader. */
export type TransactionMode = "write" | "read" | "deferred";

const BEGIN_SQL: Readonly<Record<TransactionMode, string>> = {
  write: "BEGIN IMMEDIATE",
  read: "BEGIN TRANSACTION READONLY",
  deferred: "BEGIN DEFERRED",
};

export class Transaction {
  readonly mode: TransactionMode;
  readonly #stream: SqlStream;
  #finished = false;

  private constructor(stream: SqlStream, mode: TransactionMode) {
    this.#stream = stream;
    this.mode = mode;
  }

  static async begin(stream: SqlStream, mode: TransactionMode): Promise<Transaction> {
    try {
      await stream.execute(BEGIN_SQL[mode]);
    } catch (err) {
      await stream.close();
      throw err;
    }
    return new Transaction(stream, mode);
  }

  /** True after commit, rollback, close, or once the stream was lost. */
  get closed(): boolean {
    return this.#finished || this.#stream.closed;
  }

  /** After commit: the index the transaction committed at (read-your-writes for later reads). */
  get bookmark(): string | null {
    return this.#stream.bookmark;
  }

  execute<R extends object = Row>(stmt: InStatement): Promise<ResultSet<R>> {
    this.#ensureOpen();
    return this.#stream.execute<R>(stmt);
  }

  /** Several statements in one round trip, stopping at the first failure (the transaction stays open). */
  batch(stmts: readonly InStatement[]): Promise<ResultSet[]> {
    this.#ensureOpen();
    return this.#stream.batch(stmts);
  }

  async commit(): Promise<void> {
    this.#ensureOpen();
    this.#finished = true;
    await this.#stream.executeAndClose("COMMIT");
  }

  /** Rolls back; a no-op once finished. A lost stream needs nothing: the server rolls back what it loses. */
  async rollback(): Promise<void> {
    if (this.closed) {
      this.#finished = true;
      return;
    }
    this.#finished = true;
    try {
      await this.#stream.executeAndClose("ROLLBACK");
    } catch {
      await this.#stream.close();
    }
  }

  /** Rolls back unless committed. */
  close(): Promise<void> {
    return this.rollback();
  }

  #ensureOpen(): void {
    if (this.closed) {
      throw new QuorumliteError("the transaction is already finished", { code: "QUORUMLITE_TRANSACTION_CLOSED" });
    }
  }
}
