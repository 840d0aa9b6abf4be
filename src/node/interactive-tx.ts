/**
 * An interactive transaction on the leader (Hrana streams, Drizzle
 * `db.transaction`). Statements run live in a scratch savepoint so the client
 * sees real results; at COMMIT the scratch is rolled back and the recorded
 * statements are proposed as ONE log entry that every replica — the leader
 * included — applies deterministically with the same stamp, reproducing
 * exactly the results the client already saw.
 */
import type { BatchStep, CommandOutcome, Stamp, Statement, StepOutcome } from "../db/command.ts";
import type { Applied, InteractiveTx, WriteOptions } from "./sql-service.ts";
import { ServiceError } from "./sql-service.ts";
import { ScratchAbortedError } from "../db/scratch-transaction.ts";

export interface Scratch {
  execute(stmt: Statement): StepOutcome;
  isAutocommit(): boolean;
  rollback(): void;
}

export interface InteractiveTxDeps {
  readonly id: string;
  readonly stamp: Stamp;
  readonly scratch: Scratch;
  readonly idleTimeoutMs: number;
  readonly isReadOnly: (sql: string) => boolean;
  /** Propose the recorded steps as one entry (bypassing the write gate this transaction holds). */
  readonly propose: (steps: readonly BatchStep[], stamp: Stamp, options?: WriteOptions) => Promise<Applied<CommandOutcome>>;
  /** Called exactly once when the transaction ends, however it ends. */
  readonly onEnd: () => void;
}

export class LeaderInteractiveTx implements InteractiveTx {
  readonly id: string;
  private readonly steps: BatchStep[] = [];
  private wrote = false;
  private ended: "committed" | "rolled-back" | "expired" | "aborted" | null = null;
  private timer: Timer | null = null;

  constructor(private readonly deps: InteractiveTxDeps) {
    this.id = deps.id;
    this.arm();
  }

  async execute(stmt: Statement): Promise<StepOutcome> {
    this.ensureOpen();
    this.arm();
    let outcome: StepOutcome;
    try {
      outcome = this.deps.scratch.execute(stmt);
    } catch (e) {
      if (!(e instanceof ScratchAbortedError)) throw e;
      // The scratch saw committed entries change what it had read: it cannot commit consistently.
      this.finish("aborted");
      this.deps.onEnd();
      throw new ServiceError("tx-expired", `transaction aborted: ${e.message}`);
    }
    this.steps.push({ stmt });
    if (!this.deps.isReadOnly(stmt.sql)) this.wrote = true;
    return outcome;
  }

  isAutocommit(): boolean {
    return this.ended !== null || this.deps.scratch.isAutocommit();
  }

  async commit(options?: WriteOptions): Promise<Applied<CommandOutcome>> {
    this.ensureOpen();
    const steps = this.steps.slice();
    this.finish("committed");
    if (!this.wrote) return { outcome: { kind: "batch", steps: [] }, bookmark: 0 };
    try {
      return await this.deps.propose(steps, this.deps.stamp, options);
    } finally {
      this.deps.onEnd();
    }
  }

  async rollback(): Promise<void> {
    if (this.ended) return;
    this.finish("rolled-back");
    this.deps.onEnd();
  }

  /** Leadership lost or node stopping: the transaction cannot commit any more. */
  abort(): void {
    if (this.ended) return;
    this.finish("aborted");
    this.deps.onEnd();
  }

  private finish(how: NonNullable<LeaderInteractiveTx["ended"]>): void {
    this.ended = how;
    if (this.timer) clearTimeout(this.timer);
    this.deps.scratch.rollback();
  }

  private ensureOpen(): void {
    if (this.ended === "expired") throw new ServiceError("tx-expired", "transaction timed out (idle too long) and was rolled back");
    if (this.ended === "aborted") throw new ServiceError("not-leader", "transaction aborted: this node is no longer the leader");
    if (this.ended) throw new ServiceError("bad-request", `transaction already ${this.ended}`);
  }

  private arm(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      if (this.ended) return;
      this.finish("expired");
      this.deps.onEnd();
    }, this.deps.idleTimeoutMs);
  }
}
