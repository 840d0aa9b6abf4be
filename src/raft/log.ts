/**
 * The in-memory Raft log: the compaction point (snapshot meta), the entries
 * after it, and the cursors that connect it to the runtime's disk and state
 * machine:
 *
 *   snapshot.index < applying ≤ … ≤ committed        (what may be applied)
 *   stable:     highest index the runtime reported durable (persisted())
 *   unsentFrom: first index not yet handed out in Ready.entries
 *
 * Entries are applied only when both committed and durable here.
 */
import { ConfigHistory } from "./config-history.ts";
import { entrySize } from "./entry-size.ts";
import type { Entry, Index, Membership, SnapshotMeta, Term } from "./types.ts";

export interface AppendMode {
  /** Planted bug "truncate-on-stale-append": cut the log at prevIndex+1 even when the entries match. */
  readonly truncateAlways: boolean;
  readonly tolerateCommittedConflict: boolean;
}

export class RaftLog {
  private snap: SnapshotMeta;
  private ents: Entry[];
  committed: Index;
  /** Highest index handed to the runtime for applying. */
  applying: Index;
  stable: Index;
  private unsentFrom: Index;
  /** A snapshot accepted from the leader that the runtime has not yet been told to record. */
  private unsentSnapshot: SnapshotMeta | null = null;
  readonly configs: ConfigHistory;

  constructor(snapshot: SnapshotMeta, entries: readonly Entry[], commit: Index, applied: Index) {
    this.snap = snapshot;
    this.ents = [];
    this.configs = new ConfigHistory(snapshot.index, snapshot.membership);
    let expected = snapshot.index + 1;
    for (const e of entries) {
      if (e.index !== expected) throw new Error(`restored log has a gap: expected index ${expected}, got ${e.index}`);
      this.ents.push(e);
      this.configs.observe(e);
      expected++;
    }
    const last = this.lastIndex();
    this.stable = last;
    this.unsentFrom = last + 1;
    this.committed = Math.min(Math.max(commit, applied, snapshot.index), last);
    this.applying = Math.min(Math.max(applied, snapshot.index), this.committed);
  }

  snapshot(): SnapshotMeta {
    return this.snap;
  }

  firstIndex(): Index {
    return this.snap.index + 1;
  }

  lastIndex(): Index {
    return this.snap.index + this.ents.length;
  }

  lastTerm(): Term {
    return this.term(this.lastIndex()) ?? 0;
  }

  /** Term of the entry at `index`, or null when it is compacted away or beyond the end. */
  term(index: Index): Term | null {
    if (index === this.snap.index) return this.snap.term;
    if (index < this.snap.index || index > this.lastIndex()) return null;
    return this.ents[index - this.snap.index - 1].term;
  }

  matchTerm(index: Index, term: Term): boolean {
    return this.term(index) === term;
  }

  membership(): Membership {
    return this.configs.latest();
  }

  /** Raft paper §5.4.1: the voter's up-to-date check. */
  isUpToDate(lastIndex: Index, lastTerm: Term): boolean {
    const myTerm = this.lastTerm();
    return lastTerm > myTerm || (lastTerm === myTerm && lastIndex >= this.lastIndex());
  }

  /**
   * Entries in [lo, hi), at most `maxBytes` of them but always at least one.
   * Null when part of the range is compacted away.
   */
  slice(lo: Index, hi: Index, maxBytes = Infinity): Entry[] | null {
    if (lo <= this.snap.index) return null;
    hi = Math.min(hi, this.lastIndex() + 1);
    const out: Entry[] = [];
    let bytes = 0;
    for (let i = lo; i < hi; i++) {
      const e = this.ents[i - this.snap.index - 1];
      bytes += entrySize(e);
      if (out.length > 0 && bytes > maxBytes) break;
      out.push(e);
    }
    return out;
  }

  /**
   * The largest index ≤ `index` whose term is ≤ `term`, and that term
   * (etcd-io/raft's findConflictByTerm). Used on both sides of a rejected
   * append so that one round trip skips a whole divergent term.
   */
  findConflictByTerm(index: Index, term: Term): { index: Index; term: Term } {
    for (let i = Math.min(index, this.lastIndex()); i > this.snap.index; i--) {
      const t = this.term(i) as Term;
      if (t <= term) return { index: i, term: t };
    }
    return { index: this.snap.index, term: this.snap.term };
  }

  /** Leader path: append new entries at the end. */
  append(entries: readonly Entry[]): void {
    for (const e of entries) {
      if (e.index !== this.lastIndex() + 1) throw new Error(`append out of order: ${e.index} after ${this.lastIndex()}`);
      this.ents.push(e);
      this.configs.observe(e);
    }
  }

  /**
   * Follower path (Raft paper Figure 2, AppendEntries receiver steps 2–5).
   * Returns the last index known to match the leader, or null if the log does
   * not contain an entry at prevIndex with prevTerm. Only a real conflict (same
   * index, different term) truncates: a stale or reordered append whose
   * entries are already present leaves the suffix alone.
   *
   * A conflict with a committed entry is a safety violation: it throws unless
   * a planted bug is active (then the simulator, not an exception, must report
   * it as a diverged state machine).
   */
  maybeAppend(prevIndex: Index, prevTerm: Term, commit: Index, entries: readonly Entry[], mode: AppendMode): Index | null {
    if (!this.matchTerm(prevIndex, prevTerm)) return null;
    const lastNew = prevIndex + entries.length;
    if (mode.truncateAlways) {
      if (prevIndex + 1 <= this.lastIndex()) this.truncateFrom(prevIndex + 1);
      this.append(entries);
      if (this.committed > this.lastIndex()) this.committed = this.lastIndex();
    } else {
      const conflict = entries.findIndex((e) => !this.matchTerm(e.index, e.term));
      if (conflict >= 0) {
        const first = entries[conflict];
        if (first.index <= this.committed && !mode.tolerateCommittedConflict) {
          throw new Error(`entry ${first.index} conflicts with committed entry (committed ${this.committed})`);
        }
        if (first.index <= this.lastIndex()) this.truncateFrom(first.index);
        this.append(entries.slice(conflict));
        if (this.committed > this.lastIndex()) this.committed = this.lastIndex();
      }
    }
    this.commitTo(Math.min(commit, lastNew));
    return lastNew;
  }

  commitTo(index: Index): void {
    if (index > this.committed) this.committed = Math.min(index, this.lastIndex());
  }

  /** The runtime made the log durable through `index`, if that entry still has `term`. */
  stableTo(index: Index, term: Term): void {
    if (index <= this.stable || index <= this.snap.index) return;
    if (this.term(index) !== term) return;
    this.stable = index;
  }

  hasUnsent(): boolean {
    return this.unsentFrom <= this.lastIndex();
  }

  takeUnsent(): Entry[] {
    const from = Math.max(this.unsentFrom, this.firstIndex());
    const out = this.slice(from, this.lastIndex() + 1) ?? [];
    this.unsentFrom = this.lastIndex() + 1;
    return out;
  }

  takeUnsentSnapshot(): SnapshotMeta | null {
    const s = this.unsentSnapshot;
    this.unsentSnapshot = null;
    return s;
  }

  hasUnsentSnapshot(): boolean {
    return this.unsentSnapshot !== null;
  }

  /** Entries both committed and durable locally that were not handed out yet. */
  private applicableTo(): Index {
    return Math.min(this.committed, this.stable);
  }

  hasApplicable(): boolean {
    return this.applicableTo() > this.applying;
  }

  takeApplicable(): Entry[] {
    const hi = this.applicableTo();
    if (hi <= this.applying) return [];
    const out = this.slice(this.applying + 1, hi + 1) ?? [];
    this.applying = hi;
    return out;
  }

  /**
   * Accept a snapshot sent by the leader (its data is already in place). If our
   * entry at meta.index has meta.term, the suffix after it is the same history
   * (log matching) and is kept; otherwise the whole log is replaced.
   */
  installSnapshot(meta: SnapshotMeta): void {
    if (this.matchTerm(meta.index, meta.term)) {
      this.ents = this.ents.slice(meta.index - this.snap.index);
      this.unsentFrom = Math.max(this.unsentFrom, meta.index + 1);
    } else {
      this.ents = [];
      this.configs.truncateFrom(this.firstIndex());
      this.unsentFrom = meta.index + 1;
    }
    this.snap = meta;
    this.configs.rebase(meta.index, meta.membership);
    this.unsentSnapshot = meta;
    if (this.stable > this.lastIndex()) this.stable = meta.index;
    this.committed = Math.max(this.committed, meta.index);
    this.applying = Math.max(this.applying, meta.index);
  }

  snapshotInstalled(index: Index): void {
    if (index === this.snap.index && this.stable < index) this.stable = index;
  }

  /** Drop entries ≤ index (durably applied by the runtime); returns the new compaction point. */
  compact(index: Index): SnapshotMeta | null {
    if (index <= this.snap.index || index > this.lastIndex()) return null;
    const meta: SnapshotMeta = {
      index,
      term: this.term(index) as Term,
      membership: this.configs.at(index),
    };
    this.ents = this.ents.slice(index - this.snap.index);
    this.snap = meta;
    this.configs.rebase(index, meta.membership);
    return meta;
  }

  private truncateFrom(index: Index): void {
    this.ents.length = index - this.snap.index - 1;
    this.configs.truncateFrom(index);
    if (this.unsentFrom > index) this.unsentFrom = index;
    if (this.stable >= index) this.stable = index - 1;
  }
}
