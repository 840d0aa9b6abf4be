/**
 * An interactive transaction's scratch space: the leader runs the client's
 * statements on the writer connection, inside a transaction that is always
 * rolled back; the node then proposes the statements it ran as one command
 * (a `batch` of them, in order, failed ones included, with the same stamp),
 * and applying that command reproduces the same results (same data, same
 * 'now', same PRNG sequence).
 *
 * When committed entries must be applied while a scratch is open (a no-op or
 * configuration entry, say), the scratch steps aside: its transaction is
 * rolled back, the entries are applied, and its statements are replayed. If
 * the replay gives different outcomes, the entries changed what the
 * transaction saw, and it is aborted (the client retries it).
 */
import type { Stamp, Statement, StepOutcome } from "./command.ts";
import type { SqlConnection } from "./sql-connection.ts";
import { TransactionLost, type WriteSession } from "./write-session.ts";

export class ScratchAbortedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ScratchAbortedError";
  }
}

export interface Scratch {
  execute(stmt: Statement): StepOutcome;
  /** False between the client's BEGIN and its COMMIT/ROLLBACK (as SQLite's autocommit flag). */
  isAutocommit(): boolean;
  /** Discards everything the scratch did. Always call it, also after COMMIT. */
  rollback(): void;
}

type State = { readonly kind: "open" } | { readonly kind: "suspended" } | { readonly kind: "aborted"; readonly reason: string } | { readonly kind: "closed" };

export class ScratchTransaction implements Scratch {
  private readonly log: { readonly stmt: Statement; readonly outcome: StepOutcome }[] = [];
  private state: State = { kind: "open" };

  constructor(
    private readonly conn: SqlConnection,
    private readonly session: WriteSession,
    private readonly stamp: Stamp,
    private readonly onClose: () => void,
  ) {
    this.open();
  }

  private open(): void {
    this.conn.run("BEGIN IMMEDIATE");
    // The command proposed later holds every statement run here: reset what it would reset.
    this.session.begin(this.stamp, [{ sql: "SELECT last_insert_rowid()" }]);
  }

  execute(stmt: Statement): StepOutcome {
    if (this.state.kind === "closed") throw new ScratchAbortedError("the interactive transaction is closed");
    if (this.state.kind === "aborted") throw new ScratchAbortedError(this.state.reason);
    if (this.state.kind === "suspended") throw new Error("scratch used while committed entries are being applied");
    try {
      const outcome = this.session.execute(stmt);
      this.log.push({ stmt, outcome });
      return outcome;
    } catch (e) {
      if (!(e instanceof TransactionLost)) throw e;
      // Applying this transaction as a command would roll all of it back at this statement too.
      this.state = { kind: "aborted", reason: `the transaction was rolled back: ${e.error.message}` };
      return { ok: false, error: e.error };
    }
  }

  isAutocommit(): boolean {
    return this.state.kind === "open" ? this.session.isAutocommit() : true;
  }

  rollback(): void {
    if (this.state.kind === "closed") return;
    this.state = { kind: "closed" };
    if (this.conn.db.inTransaction) this.conn.run("ROLLBACK");
    this.onClose();
  }

  /** Steps aside so that committed entries can be applied on the writer. */
  suspend(): void {
    if (this.state.kind !== "open") return;
    this.state = { kind: "suspended" };
    if (this.conn.db.inTransaction) this.conn.run("ROLLBACK");
  }

  /** Comes back after the entries are applied: replays, and aborts if anything came out differently. */
  resume(): void {
    if (this.state.kind !== "suspended") return;
    this.state = { kind: "open" };
    this.open();
    for (const { stmt, outcome } of this.log) {
      let again: StepOutcome;
      try {
        again = this.session.execute(stmt);
      } catch (e) {
        if (!(e instanceof TransactionLost)) throw e;
        again = { ok: false, error: e.error };
      }
      if (!Bun.deepEquals(again, outcome, true)) {
        this.abort("committed writes changed what this transaction read; retry it");
        return;
      }
    }
  }

  /** Ends the scratch for good (snapshot restore, close), keeping it registered until the caller rolls back. */
  abort(reason: string): void {
    if (this.state.kind === "closed") return;
    this.state = { kind: "aborted", reason };
    if (this.conn.db.inTransaction) this.conn.run("ROLLBACK");
  }
}
