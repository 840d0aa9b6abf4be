/**
 * The Ready loop: the only place where the pure Raft core meets the disk, the
 * network and the state machine. Modelled on etcd-io/raft's node.go run loop
 * with asynchronous storage writes.
 */
import type { Raft } from "../raft/raft.ts";
import type { Entry, Message, Ready, ReadState, SnapshotMsg, SoftState } from "../raft/types.ts";
import type { CommandOutcome } from "../db/command.ts";
import { decodeCommand, UnknownCommandVersionError } from "../db/command-codec.ts";
import type { StateMachine } from "../db/state-machine.ts";
import type { RaftLogStore } from "../storage/raft-log-store.ts";
import { IndexWaiters } from "./index-waiters.ts";
import { ProposalTracker } from "./proposal-tracker.ts";
import { ServiceError } from "./sql-service.ts";

export interface MessageSink {
  send(msgs: readonly Message[]): void;
}

export interface SnapshotShipper {
  /** Stream a consistent copy of the state machine with the leader's snapshot message; resolves when delivered. */
  ship(msg: SnapshotMsg): Promise<void>;
}

export interface DriverEvents {
  onSoftState?(s: SoftState): void;
  onApplied?(entries: readonly Entry[]): void;
  onFatal?(e: unknown): void;
}

interface PendingRead {
  readonly resolve: (index: number) => void;
  readonly reject: (e: Error) => void;
  readonly lease: boolean;
  /** Date.now() when the core was last asked for this read's index. */
  askedAt: number;
}

/**
 * A read index not answered this long is asked for again. A follower's request
 * travels to the leader as one message: if the leader died or the message was
 * lost, nothing else would ever answer it (etcd re-sends on the same period).
 */
const READ_INDEX_RETRY_MS = 500;

export class RaftDriver {
  readonly proposals = new ProposalTracker();
  readonly appliedWaiters: IndexWaiters;
  private readonly reads = new Map<string, PendingRead>();
  private persistTail: Promise<void> = Promise.resolve();
  private scheduled = false;
  private ticker: Timer | null = null;
  private stopped = false;
  private soft: SoftState = { role: "follower", leader: null, term: 0 };
  private readonly shipping = new Set<string>();
  /** While an interactive transaction uses the writer connection, committed entries wait here. */
  private applyHeld = false;
  private heldEntries: Entry[] = [];
  /** Committed entries a follower applies after this turn's fsync (applyLater). */
  private deferred: Entry[] = [];
  /** Wall-clock ms of the last message from the current leader (for `freshness` reads). */
  lastLeaderContact = 0;
  appliedIndex: number;
  private readonly selfId: string;
  /** Listeners run after each processing pass (durability waiters, placement). */
  private readonly afterPass: Array<() => void> = [];

  constructor(
    readonly raft: Raft,
    private readonly store: RaftLogStore,
    private readonly sm: StateMachine,
    private readonly net: MessageSink,
    private readonly snapshots: SnapshotShipper,
    private readonly events: DriverEvents = {},
  ) {
    const st = raft.status();
    this.appliedIndex = st.applied;
    this.selfId = st.id;
    this.appliedWaiters = new IndexWaiters(() => this.appliedIndex);
  }

  get softState(): SoftState {
    return this.soft;
  }

  start(tickMs: number): void {
    this.ticker = setInterval(() => {
      this.raft.tick();
      // A leader's own pending reads wait on its heartbeat rounds, which it retries itself.
      if (this.reads.size > 0 && this.soft.role !== "leader") this.askReadsAgain(Date.now() - READ_INDEX_RETRY_MS);
      this.process();
    }, tickMs);
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    if (this.ticker) clearInterval(this.ticker);
    const err = new ServiceError("shutting-down", "node is shutting down");
    this.proposals.failAll(err);
    this.appliedWaiters.failAll(err);
    for (const r of this.reads.values()) r.reject(err);
    this.reads.clear();
  }

  holdApply(on: boolean): void {
    this.applyHeld = on;
    if (on && this.deferred.length > 0) this.heldEntries.push(...this.deferred.splice(0));
    if (!on && this.heldEntries.length > 0) this.apply(this.heldEntries.splice(0));
  }

  onAfterPass(fn: () => void): void {
    this.afterPass.push(fn);
  }

  /** Coalesce work from everything that happened in this turn of the event loop into one pass (group commit). */
  schedule(): void {
    if (this.scheduled || this.stopped) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.process();
    });
  }

  step(msg: Message): void {
    if (this.stopped) return;
    if (msg.from === this.soft.leader && (msg.type === "append" || msg.type === "heartbeat" || msg.type === "snapshot")) {
      this.lastLeaderContact = Date.now();
    }
    this.raft.step(msg);
    this.schedule();
  }

  /** Ask for a read index; resolves with the index to wait for, once safe (thesis §6.4). */
  readIndex(ctx: string, lease: boolean): Promise<number> {
    return new Promise((resolve, reject) => {
      this.reads.set(ctx, { resolve, reject, lease, askedAt: Date.now() });
      this.raft.readIndex(ctx, { lease });
      this.schedule();
    });
  }

  /**
   * Asks again for every read index requested at or before `askedBy`. Any
   * answer is safe to use, from the old leader or the new one: each confirmed
   * its leadership after the request reached it (thesis §6.4); the first wins.
   */
  private askReadsAgain(askedBy: number): void {
    for (const [ctx, r] of this.reads) {
      if (r.askedAt > askedBy) continue;
      r.askedAt = Date.now();
      this.raft.readIndex(ctx, { lease: r.lease });
    }
  }

  cancelRead(ctx: string): void {
    this.reads.delete(ctx);
  }

  process(): void {
    if (this.stopped) return;
    try {
      while (this.raft.hasReady()) this.handle(this.raft.ready());
      for (const fn of this.afterPass) fn();
    } catch (e) {
      this.events.onFatal?.(e);
    }
  }

  private handle(rd: Ready): void {
    if (rd.softState) {
      const leaderChanged = rd.softState.leader !== this.soft.leader;
      this.soft = rd.softState;
      // Reads sent to the old leader would wait for their retry: send them to the new one now.
      if (leaderChanged && rd.softState.leader !== null) this.askReadsAgain(Infinity);
      this.store.useBackgroundWriter(rd.softState.role === "leader");
      if (rd.softState.role === "leader") this.lastLeaderContact = Date.now();
      this.events.onSoftState?.(rd.softState);
    }
    this.dispatch(rd.messages);

    const last = rd.entries.length > 0 ? rd.entries[rd.entries.length - 1]! : null;
    const needsWrite = rd.snapshot !== null || rd.entries.length > 0 || rd.hardState !== null;
    const write = needsWrite
      ? this.store.persist({ snapshot: rd.snapshot, entries: rd.entries, hardState: rd.hardState })
      : Promise.resolve();
    const after = rd.messagesAfterPersist;
    const snapshot = rd.snapshot;
    if (needsWrite || after.length > 0) {
      // Persist completions are reported in Ready order: the store resolves in call order and the tail chains them.
      this.persistTail = this.persistTail
        .then(() => write)
        .then(() => {
          if (this.stopped) return;
          if (snapshot) this.raft.snapshotInstalled(snapshot.index);
          if (last) this.raft.persisted(last.index, last.term);
          this.dispatch(after);
          this.schedule();
        })
        .catch((e) => this.events.onFatal?.(e));
    }

    if (snapshot && snapshot.index > this.appliedIndex) this.appliedIndex = Math.max(this.appliedIndex, this.sm.appliedIndex());
    if (rd.committed.length > 0) {
      if (this.applyHeld) this.heldEntries.push(...rd.committed);
      // A node that just became leader may still hold deferred entries: they go first.
      else if (this.soft.role === "leader") this.apply(this.deferred.length > 0 ? this.deferred.splice(0).concat(rd.committed) : rd.committed);
      else this.applyLater(rd.committed);
    }
    for (const rs of rd.readStates) this.readReady(rs);
  }

  private dispatch(msgs: readonly Message[]): void {
    if (msgs.length === 0) return;
    const out: Message[] = [];
    for (const m of msgs) {
      if (m.to === this.selfId) this.raft.step(m);
      else if (m.type === "snapshot") this.shipSnapshot(m);
      else out.push(m);
    }
    if (out.length > 0) this.net.send(out);
  }

  private shipSnapshot(msg: SnapshotMsg): void {
    const to = msg.to;
    if (this.shipping.has(to)) return;
    this.shipping.add(to);
    this.snapshots
      .ship(msg)
      .then(
        () => this.raft.reportSnapshot(to, true),
        () => this.raft.reportSnapshot(to, false),
      )
      .finally(() => {
        this.shipping.delete(to);
        this.schedule();
      });
  }

  /**
   * A follower learns a commit index together with the next entries, whose
   * acknowledgement waits on their fsync: applying first would delay it.
   * Queued behind the store's flush (both are setImmediate callbacks, in
   * order), so the ack leaves before the apply runs.
   */
  private applyLater(entries: readonly Entry[]): void {
    const first = this.deferred.length === 0;
    for (const e of entries) this.deferred.push(e);
    if (!first) return;
    setImmediate(() => {
      const batch = this.deferred;
      this.deferred = [];
      if (this.stopped || batch.length === 0) return;
      try {
        if (this.applyHeld) this.heldEntries.push(...batch);
        else this.apply(batch);
      } catch (e) {
        this.events.onFatal?.(e);
      }
    });
  }

  private apply(entries: readonly Entry[]): void {
    const batch = entries.map((e) => ({ index: e.index, command: e.type === "normal" ? safeDecode(e.data) : null }));
    const outcomes = this.sm.applyEntries(batch);
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i]!;
      this.proposals.applied(e.index, e.term, outcomes[i] ?? null);
    }
    const lastIndex = entries[entries.length - 1]!.index;
    this.appliedIndex = Math.max(this.appliedIndex, lastIndex);
    this.raft.applied(lastIndex);
    this.appliedWaiters.advance();
    this.events.onApplied?.(entries);
  }

  private readReady(rs: ReadState): void {
    const r = this.reads.get(rs.ctx);
    if (!r) return;
    this.reads.delete(rs.ctx);
    if (rs.ok) r.resolve(rs.index);
    else r.reject(new ServiceError(rs.reason === "no-leader" ? "no-leader" : "not-leader", `read index refused: ${rs.reason}`));
  }
}

function safeDecode(data: Uint8Array) {
  try {
    return decodeCommand(data);
  } catch (e) {
    // Replicas of another version would decode it: skipping it would diverge from them.
    if (e instanceof UnknownCommandVersionError) throw e;
    // Every replica of this version fails the same way on the same bytes, so a no-op stays deterministic.
    return null;
  }
}

export type { CommandOutcome };
