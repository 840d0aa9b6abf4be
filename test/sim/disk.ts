/**
 * A node's fake durable disk. Ready writes are queued in order and made
 * durable in group-commit batches, each costing one simulated fsync (which
 * may be slow). A crash keeps what is durable, possibly plus a prefix of the
 * batch being written (torn but ordered: bytes that reached the platter
 * without the runtime having been told), and loses the rest.
 *
 * The state machine lives here too: like the runtime's SQLite file it is
 * durable as soon as an entry is applied.
 */
import type { Entry, HardState, SnapshotMeta } from "../../src/raft/types.ts";
import type { EventQueue } from "./event-queue.ts";
import type { Prng } from "./prng.ts";
import { SimLog } from "./sim-log.ts";
import { RegisterMachine } from "./state-machine.ts";
import { Violation } from "./violation.ts";

export interface DiskWrite {
  readonly snapshot: SnapshotMeta | null;
  readonly entries: readonly Entry[];
  readonly hardState: HardState | null;
}

interface PendingWrite {
  readonly write: DiskWrite;
  readonly done: () => void;
}

export interface DiskTiming {
  /** Latency of one fsync, in ms (drawn per batch). */
  fsyncMs(rng: Prng): number;
}

export class SimDisk {
  log: SimLog;
  hardState: HardState = { term: 0, vote: null, commit: 0 };
  readonly machine = new RegisterMachine();
  /** Extra latency while a slow-disk fault is active. */
  slowUntil = 0;
  slowExtraMs = 0;
  private queue: PendingWrite[] = [];
  private busy = false;
  private epoch = 0;
  fsyncs = 0;

  constructor(
    readonly owner: string,
    bootstrap: SnapshotMeta,
    private readonly q: EventQueue,
    private readonly rng: Prng,
    private readonly timing: DiskTiming,
    private readonly chainOf: (index: number, term: number) => number | undefined,
  ) {
    this.log = new SimLog(bootstrap, 0);
  }

  /** Queues a write; `done` runs once it (and every write before it) is durable. */
  submit(write: DiskWrite, done: () => void): void {
    this.queue.push({ write, done });
    if (!this.busy) this.startBatch();
  }

  get pendingWrites(): number {
    return this.queue.length;
  }

  private startBatch(): void {
    const batch = this.queue;
    this.queue = [];
    this.busy = true;
    const needsSync = batch.some((p) => p.write.snapshot !== null || p.write.entries.length > 0 || p.write.hardState !== null);
    let delay = needsSync ? this.timing.fsyncMs(this.rng) : 0;
    if (needsSync && this.q.now < this.slowUntil) delay += this.rng.next() * this.slowExtraMs;
    const epoch = this.epoch;
    this.inflight = batch;
    this.q.after(delay, () => {
      if (epoch !== this.epoch) return;
      if (needsSync) this.fsyncs++;
      this.inflight = [];
      // Each write's callback sees the disk exactly as that write left it (later writes of the batch not yet applied).
      for (const p of batch) {
        this.makeDurable(p.write);
        p.done();
      }
      this.busy = false;
      if (this.queue.length > 0) this.startBatch();
    });
  }

  private inflight: PendingWrite[] = [];

  private makeDurable(w: DiskWrite): void {
    if (w.snapshot !== null && w.snapshot.index > this.log.snapIndex) {
      const c = this.chainOf(w.snapshot.index, w.snapshot.term);
      if (c === undefined) throw new Violation("ready-contract", `${this.owner} told to record snapshot ${w.snapshot.index}@${w.snapshot.term}, an entry no node ever had`);
      this.log.installSnapshot(w.snapshot, c);
    }
    if (w.entries.length > 0) {
      // A write below a newer compaction point (the runtime compacted meanwhile) only re-states committed entries.
      const fresh = w.entries[0]!.index <= this.log.snapIndex ? w.entries.filter((e) => e.index > this.log.snapIndex) : w.entries;
      const err = this.log.append(fresh);
      if (err !== null) throw new Violation("ready-contract", `${this.owner} disk write: ${err}`);
    }
    if (w.hardState !== null) {
      const prev = this.hardState;
      if (w.hardState.commit < prev.commit) {
        throw new Violation("commit-monotonic", `${this.owner} persisted commit ${w.hardState.commit} after having persisted ${prev.commit}`);
      }
      if (w.hardState.term < prev.term) throw new Violation("ready-contract", `${this.owner} persisted term ${w.hardState.term} after term ${prev.term}`);
      if (w.hardState.term === prev.term && prev.vote !== null && w.hardState.vote !== prev.vote) {
        throw new Violation("election-safety", `${this.owner} changed its durable vote in term ${prev.term} from ${prev.vote} to ${w.hardState.vote}`);
      }
      this.hardState = w.hardState;
    }
  }

  /** Power loss: maybe a prefix of the in-flight batch made it, everything else is gone. */
  crash(): number {
    this.epoch++;
    let torn = 0;
    if (this.inflight.length > 0) {
      torn = this.rng.int(this.inflight.length + 1);
      for (let k = 0; k < torn; k++) this.makeDurable(this.inflight[k]!.write);
    }
    this.inflight = [];
    this.queue = [];
    this.busy = false;
    return torn;
  }
}
