/**
 * The durable Raft log: entries, hard state and compaction point in
 * dir/raft.db, written with group commit.
 *
 * persist() calls are applied strictly in call order (the Ready contract:
 * snapshot, then entries, then hard state), and resolve in call order once
 * fsynced. While one batch is being committed, every persist() that arrives
 * is queued; when the commit finishes they all go out as the next single
 * transaction — one fsync for all of them.
 *
 * A hard state that only moves the commit index is not worth an fsync of its
 * own: commitIndex is volatile state (Raft paper, Figure 2; etcd's MustSync),
 * and restart takes max(commit, applied). It resolves at once and rides in the
 * next batch that must be written anyway (or in close()). On a busy node this
 * halves the fsyncs: every entry used to cost one for itself and one when its
 * commit became known.
 *
 * Where the writes run is chosen per batch (see log-writer.ts): by default
 * ("adaptive") a leader's batches go to a Worker, so its own fsync overlaps
 * with its sends to followers (Raft thesis §10.2.1) without stalling the
 * event loop, and a follower's run inline, because a follower has nothing to
 * do before its acknowledgement but the fsync, and the Worker hop costs it.
 */
import type { Database } from "bun:sqlite";
import type { Entry, HardState, Index, Membership, SnapshotMeta, Term } from "../raft/types.ts";
import { encodeEntry, decodeEntry } from "./entry-codec.ts";
import { checksum, openLogDatabase, type ConnectionPragmas, type LogDatabaseOptions } from "./log-database.ts";
import { BACKGROUND_AUTOCHECKPOINT_PAGES } from "./wal-checkpointer.ts";
import { recoverLog, type RecoveredLog } from "./log-recovery.ts";
import { buildBatch, type EncodedEntry, type StagedOp } from "./group-commit-batch.ts";
import type { LogWriter, LogWriterKind, LogWriterMode } from "./log-writer.ts";
import { InlineLogWriter } from "./inline-log-writer.ts";
import { WorkerLogWriter } from "./worker-log-writer.ts";
import { hardStateJson, isHardState, isMembership, isSnapshotMeta, snapshotMetaJson } from "./state-records.ts";
import { LogContractError, LogWriteFailedError, StorageCorruptionError } from "./storage-errors.ts";

export interface RaftLogStoreOptions {
  /** Default true. false → synchronous=OFF: for tests and simulations only. */
  readonly fsync?: boolean;
  /** Default "adaptive": the Worker while useBackgroundWriter(true), inline otherwise. */
  readonly writer?: LogWriterMode;
  /** A WalCheckpointer runs for this log: commits leave checkpoints to it (see wal-checkpointer.ts). */
  readonly backgroundCheckpoints?: boolean;
}

/** The durable part of one Ready (types.ts), or any prefix of it. */
export interface PersistRequest {
  readonly snapshot?: SnapshotMeta | null;
  readonly entries?: readonly Entry[];
  readonly hardState?: HardState | null;
}

export interface LogStoreStats {
  readonly writerMode: LogWriterMode;
  /** The writer the next batch goes to. */
  readonly writer: LogWriterKind;
  readonly fsync: boolean;
  readonly persistCalls: number;
  /** persist() calls that only moved the commit index: answered at once, written with the next batch. */
  readonly lazyHardStates: number;
  /** Transactions committed (group-commit batches). */
  readonly commits: number;
  /** Commits that fsynced (= commits when fsync is on; each COMMIT fsyncs the WAL once, checkpoints add a few). */
  readonly fsyncs: number;
  readonly entriesWritten: number;
  readonly bytesWritten: number;
  /** Most persist()/compact() calls one commit covered. */
  readonly maxBatchCalls: number;
  /** First index held in the log (snapshotIndex + 1). */
  readonly firstIndex: Index;
  /** Last index accepted by persist() (possibly not yet durable). */
  readonly lastIndex: Index;
  /** Last index known durable (its persist() has resolved). */
  readonly durableLastIndex: Index;
  readonly snapshotIndex: Index;
  /** Total time inside transactions (on the worker thread when writer = "worker"). */
  readonly writerBusyMs: number;
  /** Total time batch submission held the event loop (the whole transaction when writer = "inline"). */
  readonly eventLoopWriteMs: number;
}

interface Pending {
  readonly ops: readonly StagedOp[];
  /** Logical last index once these ops are applied. */
  readonly lastIndex: Index;
  readonly resolve: (() => void) | null;
  readonly reject: ((err: Error) => void) | null;
}

export type { RecoveredLog, RecoveryReport, TruncatedTail } from "./log-recovery.ts";

export class RaftLogStore {
  // Logical log as accepted by persist() (durable or queued): terms[i] is the term of index snapIndex + 1 + i.
  private snapIndex: Index;
  private snapTerm: Term;
  private terms: Term[];

  private recovered: RecoveredLog | null;
  private pending: Pending[] = [];
  private inFlight = false;
  private scheduled = false;
  private failure: LogWriteFailedError | null = null;
  private closed = false;
  private idleWaiters: (() => void)[] = [];
  /** Term and vote of the last hard state accepted by persist() (durable or queued). */
  private stagedTermVote: { readonly term: Term; readonly vote: string | null };
  /** A commit-only hard state waiting for the next batch (see the header). */
  private lazyHardState: HardState | null = null;

  private counters = {
    persistCalls: 0,
    lazyHardStates: 0,
    commits: 0,
    entriesWritten: 0,
    bytesWritten: 0,
    maxBatchCalls: 0,
    durableLastIndex: 0,
    writerBusyMs: 0,
    eventLoopWriteMs: 0,
  };

  /** Where the next batch goes (one of `writers`). */
  private writer: LogWriter;

  private constructor(
    private readonly reader: Database,
    private readonly writers: { readonly inline: LogWriter | null; readonly worker: LogWriter | null },
    private readonly mode: LogWriterMode,
    private readonly fsync: boolean,
    recovered: RecoveredLog,
  ) {
    this.writer = (mode === "worker" ? writers.worker : writers.inline)!; // adaptive: every node starts as a follower
    this.recovered = recovered;
    this.snapIndex = recovered.snapshot?.index ?? 0;
    this.snapTerm = recovered.snapshot?.term ?? 0;
    this.terms = recovered.entries.map((e) => e.term);
    this.counters.durableLastIndex = this.lastIndex();
    this.stagedTermVote = { term: recovered.hardState.term, vote: recovered.hardState.vote };
  }

  /**
   * Opens (creating if needed) dir/raft.db, verifies the whole log and cuts a
   * corrupt tail (see log-recovery.ts), then starts the writer. Throws
   * StorageCorruptionError if committed state is damaged.
   */
  static async open(dir: string, opts: RaftLogStoreOptions = {}): Promise<RaftLogStore> {
    const fsync = opts.fsync ?? true;
    const dbOptions: LogDatabaseOptions = opts.backgroundCheckpoints ? { fsync, autoCheckpointPages: BACKGROUND_AUTOCHECKPOINT_PAGES } : { fsync };
    const reader = openLogDatabase(dir, dbOptions);
    const mode = opts.writer ?? "adaptive";
    let recovered: RecoveredLog;
    let inline: LogWriter | null = null;
    let worker: LogWriter | null = null;
    try {
      recovered = recoverLog(reader);
      if (mode !== "worker") inline = new InlineLogWriter(dir, dbOptions, mode === "adaptive");
      if (mode !== "inline") worker = await WorkerLogWriter.start(dir, dbOptions);
    } catch (err) {
      await inline?.close();
      reader.close(true);
      throw err;
    }
    return new RaftLogStore(reader, { inline, worker }, mode, fsync, recovered);
  }

  /**
   * What open() recovered: hard state, compaction point, every entry after it,
   * and a report of any tail it cut. Callable once (the entries are handed
   * over, not kept). Build RestoredState from it: snapshot ?? the initial
   * configuration at index 0.
   */
  load(): RecoveredLog {
    const r = this.recovered;
    if (!r) throw new LogContractError("raft log: load() may be called once, right after open()");
    this.recovered = null;
    return r;
  }

  persist(w: PersistRequest): Promise<void> {
    if (this.closed) return Promise.reject(new LogContractError("raft log: store is closed"));
    if (this.failure) return Promise.reject(this.failure);
    if (this.isCommitOnly(w)) {
      this.lazyHardState = w.hardState!;
      this.counters.lazyHardStates++;
      return Promise.resolve();
    }
    let planned: { ops: StagedOp[]; apply: () => void };
    try {
      planned = this.plan(w);
    } catch (err) {
      return Promise.reject(err);
    }
    planned.apply();
    this.counters.persistCalls++;
    if (w.hardState) {
      this.stagedTermVote = { term: w.hardState.term, vote: w.hardState.vote };
      this.lazyHardState = null; // superseded: this one carries a commit at least as new
    }
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ ops: planned.ops, lastIndex: this.lastIndex(), resolve, reject });
      this.kick();
    });
  }

  /**
   * Drops entries ≤ upToIndex and records {upToIndex, its term, membership} as
   * the compaction point. Call after the state machine durably applied
   * upToIndex; `membership` is the configuration as of upToIndex (the core
   * knows it). Lazy: rides in the next group commit; a crash before that only
   * means the entries are dropped later.
   */
  compact(upToIndex: Index, membership: Membership): void {
    if (this.closed || this.failure) return;
    if (upToIndex <= this.snapIndex) return;
    if (upToIndex > this.lastIndex()) {
      throw new LogContractError(`raft log: cannot compact to ${upToIndex}, log ends at ${this.lastIndex()}`);
    }
    if (!isMembership(membership)) throw new LogContractError("raft log: compact() needs a Membership");
    const meta: SnapshotMeta = { index: upToIndex, term: this.termAt(upToIndex), membership };
    this.terms = this.terms.slice(upToIndex - this.snapIndex);
    this.snapIndex = meta.index;
    this.snapTerm = meta.term;
    const op: StagedOp = { kind: "snapshot", index: meta.index, json: snapshotMetaJson(meta), keepSuffix: true };
    this.pending.push({ ops: [op], lastIndex: this.lastIndex(), resolve: null, reject: null });
    this.kick();
  }

  /** Durable entries in [lo, hi), checksums verified. For tools and debugging: the core keeps its own copy. */
  entries(lo: Index, hi: Index): Entry[] {
    const rows = this.reader
      .query<[number, number, Uint8Array], [number, number]>("SELECT idx, crc, body FROM entries WHERE idx >= ?1 AND idx < ?2 ORDER BY idx")
      .values(lo, hi) as [number, number, Uint8Array][];
    return rows.map(([idx, crc, body]) => {
      if (checksum(body) !== crc) throw new StorageCorruptionError(`raft log: entry ${idx} fails its checksum`);
      return decodeEntry(body);
    });
  }

  firstIndex(): Index {
    return this.snapIndex + 1;
  }

  lastIndex(): Index {
    return this.snapIndex + this.terms.length;
  }

  /**
   * Adaptive mode only (a no-op otherwise): true sends later batches to the
   * Worker (a leader: its event loop must keep replicating and serving while
   * its fsync runs), false writes them inline (a follower: nothing waits on it
   * but its acknowledgement, which waits on the fsync anyway).
   */
  useBackgroundWriter(on: boolean): void {
    if (this.mode !== "adaptive") return;
    this.writer = (on ? this.writers.worker : this.writers.inline)!;
  }

  /** The write connection's live PRAGMA values (proves fsync is configured where the writes happen). */
  pragmas(): Promise<ConnectionPragmas> {
    return this.writer.pragmas();
  }

  stats(): LogStoreStats {
    const c = this.counters;
    return {
      writerMode: this.mode,
      writer: this.writer.kind,
      fsync: this.fsync,
      persistCalls: c.persistCalls,
      lazyHardStates: c.lazyHardStates,
      commits: c.commits,
      fsyncs: this.fsync ? c.commits : 0,
      entriesWritten: c.entriesWritten,
      bytesWritten: c.bytesWritten,
      maxBatchCalls: c.maxBatchCalls,
      firstIndex: this.firstIndex(),
      lastIndex: this.lastIndex(),
      durableLastIndex: c.durableLastIndex,
      snapshotIndex: this.snapIndex,
      writerBusyMs: c.writerBusyMs,
      eventLoopWriteMs: c.eventLoopWriteMs,
    };
  }

  /** Waits for every queued write to be durable, then closes the files and stops the worker. */
  async close(): Promise<void> {
    if (this.closed) return;
    const lazy = this.lazyHardState;
    if (lazy && !this.failure) {
      // Not needed for safety (see the header), but a clean restart then knows its commit index at once.
      this.pending.push({ ops: [], lastIndex: this.lastIndex(), resolve: null, reject: null });
      this.kick();
    }
    this.closed = true;
    if (!this.failure && (this.inFlight || this.scheduled || this.pending.length > 0)) {
      await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    }
    try {
      await Promise.all([this.writers.inline?.close(), this.writers.worker?.close()]);
    } finally {
      this.reader.close(true);
    }
  }

  private termAt(index: Index): Term {
    if (index === this.snapIndex) return this.snapTerm;
    return this.terms[index - this.snapIndex - 1];
  }

  /** Validates a request against the logical log; nothing changes unless `apply` is called. */
  private plan(w: PersistRequest): { ops: StagedOp[]; apply: () => void } {
    const ops: StagedOp[] = [];
    // The log as it will be after the snapshot step, without touching this.terms yet.
    let snapIndex = this.snapIndex;
    let snapTerm = this.snapTerm;
    let keptFrom = 0; // this.terms[keptFrom…] survive the snapshot step
    let keptLength = this.terms.length;
    const termAfterSnapshot = (index: Index): Term => (index === snapIndex ? snapTerm : this.terms[keptFrom + index - snapIndex - 1]);

    const s = w.snapshot;
    if (s) {
      if (!isSnapshotMeta(s)) throw new LogContractError("raft log: snapshot is not a SnapshotMeta");
      if (s.index < snapIndex) throw new LogContractError(`raft log: snapshot ${s.index} is older than the compaction point ${snapIndex}`);
      // Raft paper §7: keep the suffix only if the log has the snapshot's last entry.
      const keepSuffix = s.index <= snapIndex + keptLength && termAfterSnapshot(s.index) === s.term;
      keptFrom = keepSuffix ? s.index - snapIndex : this.terms.length;
      keptLength = this.terms.length - keptFrom;
      snapIndex = s.index;
      snapTerm = s.term;
      ops.push({ kind: "snapshot", index: s.index, json: snapshotMetaJson(s), keepSuffix });
    }

    const entries = w.entries ?? [];
    const first = entries.length > 0 ? entries[0].index : 0;
    if (entries.length > 0) {
      const last = snapIndex + keptLength;
      if (first <= snapIndex) throw new LogContractError(`raft log: entry ${first} is at or below the compaction point ${snapIndex}`);
      if (first > last + 1) throw new LogContractError(`raft log: entry ${first} leaves a gap after ${last}`);
      let prevTerm = termAfterSnapshot(first - 1);
      const encoded: EncodedEntry[] = new Array(entries.length);
      for (let i = 0; i < entries.length; i++) {
        const e = entries[i];
        if (e.index !== first + i) throw new LogContractError(`raft log: entries not contiguous at ${e.index}`);
        if (!Number.isSafeInteger(e.term) || e.term < prevTerm) {
          throw new LogContractError(`raft log: entry ${e.index} has term ${e.term} below its predecessor's ${prevTerm}`);
        }
        prevTerm = e.term;
        encoded[i] = { index: e.index, term: e.term, body: encodeEntry(e) };
      }
      ops.push({ kind: "entries", entries: encoded });
    }

    if (w.hardState) {
      if (!isHardState(w.hardState)) throw new LogContractError("raft log: hardState is not a HardState");
      ops.push({ kind: "hardState", json: hardStateJson(w.hardState) });
    }

    return {
      ops,
      apply: () => {
        if (keptFrom > 0) this.terms = this.terms.slice(keptFrom);
        this.snapIndex = snapIndex;
        this.snapTerm = snapTerm;
        if (entries.length > 0) {
          this.terms.length = first - snapIndex - 1;
          for (const e of entries) this.terms.push(e.term);
        }
      },
    };
  }

  private isCommitOnly(w: PersistRequest): boolean {
    const hs = w.hardState;
    if (!hs || w.snapshot || (w.entries?.length ?? 0) > 0 || !isHardState(hs)) return false;
    const staged = this.stagedTermVote;
    return staged.term === hs.term && staged.vote === hs.vote;
  }

  private kick(): void {
    if (this.inFlight || this.scheduled || this.pending.length === 0 || this.failure) return;
    this.scheduled = true;
    this.writer.schedule(() => this.flush());
  }

  private flush(): void {
    this.scheduled = false;
    if (this.inFlight || this.failure || this.pending.length === 0) return;
    const batch = this.pending;
    this.pending = [];
    const staged = batch.length === 1 ? batch[0].ops : batch.flatMap((p) => p.ops);
    const lazy = this.lazyHardState;
    this.lazyHardState = null;
    // First, so that a hard state in the batch itself (newer) wins in buildBatch.
    const ops = buildBatch(lazy ? [{ kind: "hardState", json: hardStateJson(lazy) }, ...staged] : staged);
    const lastIndex = batch[batch.length - 1].lastIndex;
    if (ops.length === 0) {
      this.settle(batch, lastIndex);
      return;
    }
    this.inFlight = true;
    const t0 = performance.now();
    const written = this.writer.write(ops);
    this.counters.eventLoopWriteMs += performance.now() - t0;
    written.then(
      (report) => {
        const c = this.counters;
        c.commits++;
        c.entriesWritten += report.entries;
        c.bytesWritten += report.bytes;
        c.writerBusyMs += report.txMs;
        c.maxBatchCalls = Math.max(c.maxBatchCalls, batch.length);
        this.inFlight = false;
        this.settle(batch, lastIndex);
      },
      (err: unknown) => {
        this.inFlight = false;
        this.fail(err, batch);
      },
    );
  }

  private settle(batch: readonly Pending[], lastIndex: Index): void {
    this.counters.durableLastIndex = lastIndex;
    for (const p of batch) p.resolve?.();
    this.kick();
    this.notifyIdle();
  }

  private fail(err: unknown, batch: readonly Pending[]): void {
    const message = err instanceof Error ? err.message : String(err);
    this.failure = new LogWriteFailedError(`raft log: write failed, refusing further writes: ${message}`, { cause: err });
    const all = [...batch, ...this.pending];
    this.pending = [];
    for (const p of all) p.reject?.(this.failure);
    this.notifyIdle();
  }

  private notifyIdle(): void {
    if (this.inFlight || this.scheduled || this.pending.length > 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }
}
