/**
 * A single-node SqlService on the real state machine (src/db) and the
 * runtime's interactive transaction (src/node/interactive-tx.ts): every write
 * is applied as a log entry would be, interactive transactions run in the
 * state machine's scratch and commit as one batch entry. No Raft: the Hrana
 * layer's contract with the db layer is what is under test.
 */
import { Database } from "bun:sqlite";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { BatchStep, CommandOutcome, SqlValue, Stamp } from "../../../src/db/command.ts";
import { NotReadOnlyError } from "../../../src/db/read-session.ts";
import { StateMachine } from "../../../src/db/state-machine.ts";
import { LeaderInteractiveTx } from "../../../src/node/interactive-tx.ts";
import {
  ServiceError,
  type Applied,
  type CommandInput,
  type InteractiveTx,
  type ReadOptions,
  type SqlService,
  type WriteOptions,
} from "../../../src/node/sql-service.ts";
import { WriteGate } from "../../../src/node/write-gate.ts";
import type { CallRecord } from "./sqlite-sql-service.ts";

export class StateMachineSqlService implements SqlService {
  readonly dir = mkdtempSync(join(tmpdir(), "quorumlite-hrana-sm-"));
  private readonly sm: StateMachine;
  private readonly peek: Database;
  private readonly gate = new WriteGate();
  private readonly openTxs = new Set<LeaderInteractiveTx>();
  private index = 0;
  private txCounter = 0;
  readonly calls: CallRecord[] = [];

  constructor() {
    const path = join(this.dir, "db.sqlite");
    this.sm = StateMachine.open(path, { fsync: false });
    this.peek = new Database(path, { readonly: true, safeIntegers: false });
  }

  get lastIndex(): number {
    return this.index;
  }

  get openTransactions(): number {
    return this.openTxs.size;
  }

  private stamp(): Stamp {
    return { now: Date.now(), seed: Math.floor(Math.random() * 2 ** 31) };
  }

  private apply(cmd: CommandInput, stamp: Stamp): Applied<CommandOutcome> {
    const index = ++this.index;
    const [outcome] = this.sm.applyEntries([{ index, command: { ...cmd, stamp } }]);
    return { outcome: outcome!, bookmark: index };
  }

  async write(cmd: CommandInput, options?: WriteOptions): Promise<Applied<CommandOutcome>> {
    this.calls.push({ op: "write", detail: cmd, ...(options ? { options } : {}) });
    await this.gate.pass(Date.now() + 10_000);
    return this.apply(cmd, this.stamp());
  }

  async read(steps: readonly BatchStep[], options: ReadOptions): Promise<Applied<CommandOutcome & { kind: "batch" }>> {
    this.calls.push({ op: "read", detail: steps, options });
    try {
      return { outcome: this.sm.read(steps), bookmark: this.index };
    } catch (e) {
      if (e instanceof NotReadOnlyError) throw new ServiceError("not-read-only", e.message);
      throw e;
    }
  }

  isReadOnly(sql: string): boolean {
    return this.sm.isReadOnly(sql);
  }

  async beginInteractive(options: { readonly idleTimeoutMs: number; readonly signal?: AbortSignal }): Promise<InteractiveTx> {
    this.calls.push({ op: "begin" });
    const id = `tx-${++this.txCounter}`;
    await this.gate.acquire(id, Date.now() + 10_000, options.signal);
    const stamp = this.stamp();
    const tx: LeaderInteractiveTx = new LeaderInteractiveTx({
      id,
      stamp,
      scratch: this.sm.beginScratch(stamp),
      idleTimeoutMs: options.idleTimeoutMs,
      isReadOnly: (sql) => this.sm.isReadOnly(sql),
      propose: async (steps, st) => this.apply({ kind: "batch", steps }, st),
      onEnd: () => {
        this.openTxs.delete(tx);
        this.gate.release(id);
      },
    });
    this.openTxs.add(tx);
    return tx;
  }

  abortTransactions(): void {
    for (const tx of [...this.openTxs]) tx.abort();
  }

  query(sql: string): SqlValue[][] {
    return this.peek.query(sql).values() as SqlValue[][];
  }

  close(): void {
    this.abortTransactions();
    this.peek.close();
    this.sm.close();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
