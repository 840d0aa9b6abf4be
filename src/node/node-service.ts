/**
 * SqlService on a Raft node: writes through the log on the leader (forwarded
 * by followers), reads at rqlite's levels, interactive transactions holding
 * the leader's write gate.
 */
import type { Durability } from "../raft/types.ts";
import type { BatchStep, CommandOutcome, Stamp } from "../db/command.ts";
import { encodeCommand, type CommandVersion } from "../db/command-codec.ts";
import type { StateMachine } from "../db/state-machine.ts";
import type { RaftDriver } from "./raft-driver.ts";
import { LeaderInteractiveTx } from "./interactive-tx.ts";
import { WriteGate } from "./write-gate.ts";
import { ServiceError } from "./sql-service.ts";
import type { Applied, CommandInput, InteractiveTx, ReadOptions, SqlService, WriteOptions } from "./sql-service.ts";

/** How a follower reaches the leader (peer RPC over the HTTP/2 link). */
export interface LeaderLink {
  write(cmd: CommandInput, options: WriteOptions, timeoutMs: number): Promise<Applied<CommandOutcome>>;
  read(steps: readonly BatchStep[], options: ReadOptions, timeoutMs: number): Promise<Applied<CommandOutcome & { kind: "batch" }>>;
  leaderHttp(): string | null;
}

export interface NodeServiceOptions {
  readonly writeTimeoutMs: number;
  readonly readTimeoutMs: number;
  /** How long a request waits out an election before answering 503 with Retry-After. */
  readonly leaderWaitMs: number;
  readonly random: () => number;
  /** The command version to propose in: the newest every replica can apply (see PeerDirectory.commandVersion). */
  readonly commandVersion: () => CommandVersion;
}

export class NodeService implements SqlService {
  private readonly gate = new WriteGate();
  private readonly openTxs = new Set<LeaderInteractiveTx>();
  private readonly durabilityWaiters: Array<{ index: number; d: Durability; resolve: () => void }> = [];
  private readSeq = 0;

  constructor(
    private readonly driver: RaftDriver,
    private readonly sm: StateMachine,
    private readonly leader: LeaderLink,
    private readonly opts: NodeServiceOptions,
  ) {
    driver.onAfterPass(() => this.releaseDurable());
  }

  /** Leadership changed: transactions holding the old leader's write gate cannot commit. */
  leadershipChanged(isLeader: boolean): void {
    if (isLeader) return;
    for (const tx of [...this.openTxs]) tx.abort();
  }

  isReadOnly(sql: string): boolean {
    return this.sm.isReadOnly(sql);
  }

  async write(cmd: CommandInput, options: WriteOptions = {}): Promise<Applied<CommandOutcome>> {
    const timeoutMs = options.timeoutMs ?? this.opts.writeTimeoutMs;
    const deadline = Date.now() + timeoutMs;
    const leaderDeadline = Math.min(deadline, Date.now() + this.opts.leaderWaitMs);
    // An election may be under way: wait a little for a leader rather than failing the client at once.
    for (;;) {
      try {
        if (this.driver.softState.role === "leader") {
          await this.gate.pass(deadline);
          return await this.proposeAsLeader(cmd, this.stamp(), options, deadline);
        }
        if (this.driver.softState.leader === null) throw new ServiceError("no-leader", "no leader elected yet; retry shortly");
        return await this.leader.write(cmd, options, Math.max(1, deadline - Date.now()));
      } catch (e) {
        if (!(e instanceof ServiceError) || (e.code !== "no-leader" && e.code !== "not-leader") || Date.now() + 50 >= leaderDeadline) throw e;
        await sleep(50);
      }
    }
  }

  /** Entry point for writes forwarded by followers: this node must be the leader. */
  async writeAsLeader(cmd: CommandInput, options: WriteOptions = {}): Promise<Applied<CommandOutcome>> {
    if (this.driver.softState.role !== "leader") throw this.notLeader();
    const deadline = Date.now() + (options.timeoutMs ?? this.opts.writeTimeoutMs);
    await this.gate.pass(deadline);
    return this.proposeAsLeader(cmd, this.stamp(), options, deadline);
  }

  async read(steps: readonly BatchStep[], options: ReadOptions): Promise<Applied<CommandOutcome & { kind: "batch" }>> {
    for (const s of steps) {
      if (!this.sm.isReadOnly(s.stmt.sql)) throw new ServiceError("not-read-only", `statement is not read-only: ${s.stmt.sql.slice(0, 80)}`);
    }
    const timeoutMs = options.timeoutMs ?? this.opts.readTimeoutMs;
    if (options.bookmark !== undefined && options.bookmark > this.driver.appliedIndex) {
      await this.driver.appliedWaiters.wait(options.bookmark, timeoutMs, () => new ServiceError("timeout", `bookmark ${options.bookmark} not reached on this node within ${timeoutMs} ms`));
    }
    switch (options.level) {
      case "none": {
        if (options.freshnessMs !== undefined && this.driver.softState.role !== "leader") {
          const age = Date.now() - this.driver.lastLeaderContact;
          if (this.driver.lastLeaderContact === 0 || age > options.freshnessMs) {
            throw new ServiceError("stale", `this node last heard from the leader ${this.driver.lastLeaderContact === 0 ? "never" : `${age} ms ago`}, more than freshness ${options.freshnessMs} ms`);
          }
        }
        break;
      }
      case "weak": {
        if (this.driver.softState.role !== "leader") return this.forwardRead(steps, options, timeoutMs);
        await this.readBarrier(true, timeoutMs);
        break;
      }
      case "linearizable":
        await this.readBarrier(false, timeoutMs);
        break;
      case "strong": {
        const applied = await this.write({ kind: "batch", steps }, { timeoutMs });
        if (applied.outcome.kind !== "batch") throw new Error("strong read produced a non-batch outcome");
        return { outcome: applied.outcome, bookmark: applied.bookmark };
      }
    }
    return { outcome: this.sm.read(steps), bookmark: this.driver.appliedIndex };
  }

  async beginInteractive(options: { readonly idleTimeoutMs: number; readonly signal?: AbortSignal }): Promise<InteractiveTx> {
    if (this.driver.softState.role !== "leader") throw this.notLeader();
    const id = `tx-${this.driver.raft.status().id}-${Math.floor(this.opts.random() * 2 ** 48).toString(36)}`;
    await this.gate.acquire(id, Date.now() + this.opts.writeTimeoutMs, options.signal);
    try {
      // The scratch must see every write this leader accepted before the gate closed.
      const status = this.driver.raft.status();
      if (status.role !== "leader") throw this.notLeader();
      await this.driver.appliedWaiters.wait(status.lastIndex, this.opts.writeTimeoutMs, () => new ServiceError("timeout", "could not catch up before starting the transaction"));
    } catch (e) {
      this.gate.release(id);
      throw e;
    }
    const stamp = this.stamp();
    this.driver.holdApply(true);
    const scratch = this.sm.beginScratch(stamp);
    const tx: LeaderInteractiveTx = new LeaderInteractiveTx({
      id,
      stamp,
      scratch,
      idleTimeoutMs: options.idleTimeoutMs,
      isReadOnly: (sql) => this.sm.isReadOnly(sql),
      propose: (steps, st, wo) => {
        this.driver.holdApply(false);
        return this.proposeAsLeader({ kind: "batch", steps }, st, wo ?? {}, Date.now() + (wo?.timeoutMs ?? this.opts.writeTimeoutMs));
      },
      onEnd: () => {
        this.openTxs.delete(tx);
        this.driver.holdApply(false);
        this.gate.release(id);
      },
    });
    this.openTxs.add(tx);
    return tx;
  }

  private async proposeAsLeader(cmd: CommandInput, stamp: Stamp, options: WriteOptions, deadline: number): Promise<Applied<CommandOutcome>> {
    const r = this.driver.raft.propose(encodeCommand({ ...cmd, stamp }, this.opts.commandVersion()));
    if (!r.ok) {
      if (r.reason === "not-leader" || r.reason === "transferring") throw this.notLeader();
      throw new ServiceError("timeout", `write refused: ${r.reason}`);
    }
    this.driver.schedule();
    const outcome = await withDeadline(this.driver.proposals.track(r.index, r.term), deadline, () => {
      this.driver.proposals.forget(r.index);
      return new ServiceError("timeout", "write not committed in time; it may still commit (retry with the same request id)");
    });
    if (outcome === null) throw new ServiceError("bad-request", "entry could not be decoded");
    const d = options.durability ?? "majority";
    if (d !== "majority") await withDeadline(this.waitDurable(r.index, d), deadline, () => new ServiceError("timeout", `write committed but not yet held by ${d === "all" ? "every voter" : "a voter in another region"}`));
    return { outcome, bookmark: r.index };
  }

  private waitDurable(index: number, d: Durability): Promise<void> {
    if (this.driver.softState.role === "leader" && this.driver.raft.durableIndex(d) >= index) return Promise.resolve();
    return new Promise((resolve) => this.durabilityWaiters.push({ index, d, resolve }));
  }

  private releaseDurable(): void {
    if (this.durabilityWaiters.length === 0 || this.driver.softState.role !== "leader") return;
    const reached = { majority: -1, "remote-region": -1, all: -1 } as Record<Durability, number>;
    for (let i = this.durabilityWaiters.length - 1; i >= 0; i--) {
      const w = this.durabilityWaiters[i]!;
      if (reached[w.d] < 0) reached[w.d] = this.driver.raft.durableIndex(w.d);
      if (reached[w.d] >= w.index) {
        this.durabilityWaiters.splice(i, 1);
        w.resolve();
      }
    }
  }

  private async readBarrier(lease: boolean, timeoutMs: number): Promise<void> {
    const ctx = `r${++this.readSeq}-${Math.floor(this.opts.random() * 2 ** 32).toString(36)}`;
    const deadline = Date.now() + timeoutMs;
    const leaderDeadline = Math.min(deadline, Date.now() + this.opts.leaderWaitMs);
    for (;;) {
      try {
        const index = await withDeadline(this.driver.readIndex(ctx, lease), deadline, () => {
          this.driver.cancelRead(ctx);
          return new ServiceError("timeout", "could not confirm leadership for a linearizable read in time");
        });
        await this.driver.appliedWaiters.wait(index, Math.max(1, deadline - Date.now()), () => new ServiceError("timeout", `read index ${index} not applied in time`));
        return;
      } catch (e) {
        if (!(e instanceof ServiceError) || (e.code !== "no-leader" && e.code !== "not-leader") || Date.now() + 50 >= leaderDeadline) throw e;
        await sleep(50);
      }
    }
  }

  private forwardRead(steps: readonly BatchStep[], options: ReadOptions, timeoutMs: number) {
    if (this.driver.softState.leader === null) throw new ServiceError("no-leader", "no leader elected yet; retry shortly");
    return this.leader.read(steps, options, timeoutMs);
  }

  private stamp(): Stamp {
    return { now: Date.now(), seed: Math.floor(this.opts.random() * 2 ** 31) };
  }

  private notLeader(): ServiceError {
    const leaderHttp = this.leader.leaderHttp();
    return new ServiceError(this.driver.softState.leader === null ? "no-leader" : "not-leader", "this node is not the leader", leaderHttp);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function withDeadline<T>(p: Promise<T>, deadline: number, onTimeout: () => Error): Promise<T> {
  const ms = deadline - Date.now();
  if (ms <= 0) return Promise.reject(onTimeout());
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(onTimeout()), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e) => {
        clearTimeout(t);
        reject(e);
      },
    );
  });
}
