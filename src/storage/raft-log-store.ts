/**
 * The durable Raft log: entries, hard state and compaction point as records
 * appended to segment files in dir (see README.md, "Format"), written with
 * group commit.
 *
 * persist() calls are applied strictly in call order (the Ready contract:
 * snapshot, then entries, then hard state), and resolve in call order once
 * fdatasynced. While one batch is being written, every persist() that arrives
 * is queued; when the write finishes they all go out as the next single
 * write — one fdatasync for all of them.
 *
 * The store (event-loop thread) owns the layout: which segment a batch goes
 * to, at which offset, when to start a new segment and which old ones to
 * delete. The writers only execute batches, so the inline writer and the
 * Worker can take turns on the same files without either caching a position.
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
import { mkdirSync } from "node:fs";
import type { Entry, HardState, Index, Membership, SnapshotMeta, Term } from "../raft/types.ts";
import { listSegments, recoverLog, scanLog, type RecoveredLog, type SegmentInfo } from "./log-recovery.ts";
import { migrateLegacyLog } from "./legacy-log-database.ts";
import { buildBatch, encodedEntry, frameBatch, type BatchOp, type EncodedEntry, type SegmentStart } from "./group-commit-batch.ts";
import { DEFAULT_SEGMENT_BYTES } from "./segment-format.ts";
import type { LogDurability, SegmentWrite, SegmentWriterOptions } from "./segment-writer.ts";
import type { LogWriter, LogWriterKind, LogWriterMode } from "./log-writer.ts";
import { InlineLogWriter } from "./inline-log-writer.ts";
import { WorkerLogWriter } from "./worker-log-writer.ts";
import { hardStateJson, isHardState, isMembership, isSnapshotMeta, snapshotMetaJson } from "./state-records.ts";
import { LogContractError, LogWriteFailedError } from "./storage-errors.ts";

/**
 * Zeros written ahead of the data (segment-writer.ts): an fdatasync that only
 * overwrites allocated blocks need not commit the file size too. Measured
 * with bench/storage-fsync.ts (README.md, "Durability"): persist p50 −30–50 %.
 */
export const DEFAULT_PREALLOCATE_BYTES = 4 * 1024 * 1024;

export interface RaftLogStoreOptions {
  /** Default true. false → no fdatasync: for tests and simulations only. */
  readonly fsync?: boolean;
  /** Default "adaptive": the Worker while useBackgroundWriter(true), inline otherwise. */
  readonly writer?: LogWriterMode;
  /** A batch that finds the current segment this large starts a new one (default DEFAULT_SEGMENT_BYTES). */
  readonly segmentBytes?: number;
  /** Default DEFAULT_PREALLOCATE_BYTES. */
  readonly preallocateBytes?: number;
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
  /** Batches written (group commits). */
  readonly commits: number;
  /** fdatasyncs of segment files the writers made (one per batch with fsync on, none with it off). */
  readonly fsyncs: number;
  /** Directory fsyncs (a segment created or deleted). */
  readonly dirSyncs: number;
  /** Live segment files. */
  readonly segments: number;
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
  /** Total time writing and syncing batches (on the worker thread when writer = "worker"). */
  readonly writerBusyMs: number;
  /** Total time batch submission held the event loop (framing, plus the whole write when writer = "inline"). */
  readonly eventLoopWriteMs: number;
}

interface Pending {
  readonly ops: readonly BatchOp[];
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
    fsyncs: 0,
    dirSyncs: 0,
    entriesWritten: 0,
    bytesWritten: 0,
    maxBatchCalls: 0,
    durableLastIndex: 0,
    writerBusyMs: 0,
    eventLoopWriteMs: 0,
  };

  /** Where the next batch goes (one of `writers`). */
  private writer: LogWriter;

  /** Live segments, oldest first; the last one is where batches go. */
  private segments: SegmentInfo[];
  /** Bytes in the last segment, including batches handed to a writer but not yet reported. */
  private tailBytes: number;
  /** The state records a new segment starts with: the newest handed to a writer. */
  private writtenHardState: string;
  private writtenSnapshot: string | null;

  private constructor(
    private readonly dir: string,
    private readonly writers: { readonly inline: LogWriter | null; readonly worker: LogWriter | null },
    private readonly mode: LogWriterMode,
    private readonly fsync: boolean,
    private readonly segmentBytes: number,
    recovered: RecoveredLog,
    layout: { readonly segments: SegmentInfo[]; readonly tailBytes: number },
  ) {
    this.writer = (mode === "worker" ? writers.worker : writers.inline)!; // adaptive: every node starts as a follower
    this.recovered = recovered;
    this.segments = layout.segments;
    this.tailBytes = layout.tailBytes;
    this.writtenHardState = hardStateJson(recovered.hardState);
    this.writtenSnapshot = recovered.snapshot ? snapshotMetaJson(recovered.snapshot) : null;
    this.snapIndex = recovered.snapshot?.index ?? 0;
    this.snapTerm = recovered.snapshot?.term ?? 0;
    this.terms = recovered.entries.map((e) => e.term);
    this.counters.durableLastIndex = this.lastIndex();
    this.stagedTermVote = { term: recovered.hardState.term, vote: recovered.hardState.vote };
  }

  /**
   * Opens (creating if needed) the log in dir — converting an old dir/raft.db
   * first (legacy-log-database.ts) — verifies it and cuts a torn or corrupt
   * tail (see log-recovery.ts), then starts the writers. Throws
   * StorageCorruptionError if committed state is damaged.
   */
  static async open(dir: string, opts: RaftLogStoreOptions = {}): Promise<RaftLogStore> {
    const fsync = opts.fsync ?? true;
    const writerOptions: SegmentWriterOptions = { fsync, preallocateBytes: opts.preallocateBytes ?? DEFAULT_PREALLOCATE_BYTES };
    const mode = opts.writer ?? "adaptive";
    mkdirSync(dir, { recursive: true });
    const migration = migrateLegacyLog(dir, listSegments(dir).length > 0);
    const { log, layout } = recoverLog(dir);
    const recovered: RecoveredLog = migration.migrated
      ? { ...log, recovery: { ...log.recovery, truncated: log.recovery.truncated ?? migration.truncated, migratedFromSqlite: true } }
      : log;
    let inline: LogWriter | null = null;
    let worker: LogWriter | null = null;
    try {
      if (mode !== "worker") inline = new InlineLogWriter(dir, writerOptions, mode === "adaptive");
      if (mode !== "inline") worker = await WorkerLogWriter.start(dir, writerOptions);
    } catch (err) {
      await inline?.close();
      throw err;
    }
    return new RaftLogStore(dir, { inline, worker }, mode, fsync, opts.segmentBytes ?? DEFAULT_SEGMENT_BYTES, recovered, layout);
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
    let planned: { ops: BatchOp[]; apply: () => void };
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
    const op: BatchOp = { kind: "snapshot", index: meta.index, json: snapshotMetaJson(meta), keepSuffix: true };
    this.pending.push({ ops: [op], lastIndex: this.lastIndex(), resolve: null, reject: null });
    this.kick();
  }

  /**
   * Entries in [lo, hi) as the segment files hold them (replayed from disk,
   * checksums verified; a batch still being written is not included). For
   * tools and debugging: the core keeps its own copy.
   */
  entries(lo: Index, hi: Index): Entry[] {
    return scanLog(this.dir).replay.entries.filter((e) => e.index >= lo && e.index < hi);
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

  /** How the current writer syncs, as the writer itself reports it (proves fsync is configured where the writes happen). */
  durability(): Promise<LogDurability> {
    return this.writer.durability();
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
      fsyncs: c.fsyncs,
      dirSyncs: c.dirSyncs,
      segments: this.segments.length,
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
    await Promise.all([this.writers.inline?.close(), this.writers.worker?.close()]);
  }

  private termAt(index: Index): Term {
    if (index === this.snapIndex) return this.snapTerm;
    return this.terms[index - this.snapIndex - 1];
  }

  /** Validates a request against the logical log; nothing changes unless `apply` is called. */
  private plan(w: PersistRequest): { ops: BatchOp[]; apply: () => void } {
    const ops: BatchOp[] = [];
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
        encoded[i] = encodedEntry(e);
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
    const written = this.writer.write(this.layOut(ops));
    this.counters.eventLoopWriteMs += performance.now() - t0;
    written.then(
      (report) => {
        const c = this.counters;
        c.commits++;
        c.fsyncs += report.syncs;
        c.dirSyncs += report.dirSyncs;
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

  /**
   * Frames a batch and places it: at the end of the last segment, or at the
   * start of a new one (with the current state records) once that is full.
   * Segments older than the current one whose entries are all at or below
   * the compaction point go with it, to be deleted once it is durable — a
   * prefix of them only, because replay must never see a newer segment's
   * entries without the older ones they were appended after.
   */
  private layOut(ops: readonly BatchOp[]): SegmentWrite {
    const last = this.segments[this.segments.length - 1];
    let start: SegmentStart | null = null;
    if (!last || this.tailBytes >= this.segmentBytes) {
      start = { seq: (last?.seq ?? 0) + 1, hardStateJson: this.writtenHardState, snapshotJson: this.writtenSnapshot };
      this.segments.push({ seq: start.seq, maxIndex: 0 });
      this.tailBytes = 0;
    }
    const current = this.segments[this.segments.length - 1];
    for (const op of ops) {
      switch (op.kind) {
        case "entries":
          current.maxIndex = Math.max(current.maxIndex, op.entries[op.entries.length - 1].index);
          break;
        case "snapshot":
          this.writtenSnapshot = op.json;
          // Raft §7: the whole log before it is discarded, whatever indexes it held.
          if (!op.keepSuffix) for (const s of this.segments) s.maxIndex = 0;
          break;
        case "hardState":
          this.writtenHardState = op.json;
          break;
      }
    }
    const unlink: number[] = [];
    while (this.segments.length > 1 && this.segments[0].maxIndex <= this.snapIndex) unlink.push(this.segments.shift()!.seq);
    const records = frameBatch(start, ops);
    const write: SegmentWrite = { seq: current.seq, offset: this.tailBytes, create: start !== null, records, unlink };
    this.tailBytes += records.length;
    return write;
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
