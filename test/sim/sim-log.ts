/**
 * A Raft log as the simulator sees it: a compaction point (snapshot meta plus
 * the hash-chain value at it) followed by entries, each with its chain value
 * (see entry-hash.ts). Used twice per node: the durable log on the fake disk,
 * and a mirror of the core's in-memory log rebuilt from the Ready stream, so
 * invariants can inspect logs without reaching into the core.
 */
import type { Entry, Membership, SnapshotMeta } from "../../src/raft/types.ts";
import { chain, entryFingerprint } from "./entry-hash.ts";
import { membershipAfter } from "./membership.ts";

export class SimLog {
  snapIndex: number;
  snapTerm: number;
  snapChain: number;
  snapMembership: Membership;
  private entries: Entry[] = [];
  private chains: number[] = [];

  constructor(meta: SnapshotMeta, snapChain: number) {
    this.snapIndex = meta.index;
    this.snapTerm = meta.term;
    this.snapChain = snapChain;
    this.snapMembership = meta.membership;
  }

  get lastIndex(): number {
    return this.snapIndex + this.entries.length;
  }

  get lastTerm(): number {
    return this.entries.length === 0 ? this.snapTerm : this.entries[this.entries.length - 1]!.term;
  }

  get snapshotMeta(): SnapshotMeta {
    return { index: this.snapIndex, term: this.snapTerm, membership: this.snapMembership };
  }

  entry(i: number): Entry | undefined {
    return i > this.snapIndex ? this.entries[i - this.snapIndex - 1] : undefined;
  }

  term(i: number): number | undefined {
    if (i === this.snapIndex) return this.snapTerm;
    return this.entry(i)?.term;
  }

  /** Chain value at i; undefined if i is compacted away (below the snapshot) or past the end. */
  chainAt(i: number): number | undefined {
    if (i === this.snapIndex) return this.snapChain;
    return i > this.snapIndex ? this.chains[i - this.snapIndex - 1] : undefined;
  }

  /** Whether this log holds the entry whose chain value at i is `c`. Indices below the compaction point count as held (only committed entries are ever compacted). */
  holds(i: number, c: number): boolean {
    if (i < this.snapIndex) return true;
    return this.chainAt(i) === c;
  }

  /** Entries in [from, to] that are still in the log. */
  slice(from: number, to: number): Entry[] {
    const lo = Math.max(from, this.snapIndex + 1) - this.snapIndex - 1;
    const hi = Math.min(to, this.lastIndex) - this.snapIndex;
    return lo < hi ? this.entries.slice(lo, hi) : [];
  }

  /**
   * Appends entries; an entry at an existing index replaces it and everything
   * after (the Ready contract). Returns an error text when the batch cannot be
   * placed (a gap, or entries inside the compacted prefix).
   */
  append(batch: readonly Entry[], onEntry?: (e: Entry, c: number) => void): string | null {
    if (batch.length === 0) return null;
    const first = batch[0]!.index;
    if (first > this.lastIndex + 1) return `entries start at ${first} but the log ends at ${this.lastIndex}`;
    if (first <= this.snapIndex) return `entries start at ${first}, inside the compacted prefix (≤ ${this.snapIndex})`;
    for (let k = 1; k < batch.length; k++) {
      if (batch[k]!.index !== first + k) return `entries are not contiguous at ${batch[k]!.index}`;
    }
    const keep = first - this.snapIndex - 1;
    this.entries.length = keep;
    this.chains.length = keep;
    let prev = keep === 0 ? this.snapChain : this.chains[keep - 1]!;
    for (const e of batch) {
      prev = chain(prev, entryFingerprint(e));
      this.entries.push(e);
      this.chains.push(prev);
      onEntry?.(e, prev);
    }
    return null;
  }

  /**
   * Records a snapshot as the new compaction point. A suffix that continues the
   * snapshot (the entry at meta.index has meta.term) is kept; otherwise the log
   * is discarded (etcd-io/raft's restore rule).
   */
  installSnapshot(meta: SnapshotMeta, metaChain: number): void {
    if (meta.index <= this.snapIndex) return;
    const keepSuffix = this.term(meta.index) === meta.term;
    if (keepSuffix) {
      const drop = meta.index - this.snapIndex;
      this.entries.splice(0, drop);
      this.chains.splice(0, drop);
    } else {
      this.entries = [];
      this.chains = [];
    }
    this.snapIndex = meta.index;
    this.snapTerm = meta.term;
    this.snapChain = metaChain;
    this.snapMembership = meta.membership;
  }

  /** Drops entries ≤ index (which must be in the log), computing the snapshot meta the way a runtime would. */
  compact(index: number): SnapshotMeta | null {
    if (index <= this.snapIndex || index > this.lastIndex) return null;
    const upto = this.slice(this.snapIndex + 1, index);
    const meta: SnapshotMeta = { index, term: this.term(index)!, membership: membershipAfter(this.snapMembership, upto) };
    this.installSnapshot(meta, this.chainAt(index)!);
    return meta;
  }

  /** The membership in force at the end of this log (thesis §4.1: latest configuration in the log, committed or not). */
  latestMembership(): Membership {
    return membershipAfter(this.snapMembership, this.entries);
  }

  allEntries(): readonly Entry[] {
    return this.entries;
  }

  clone(): SimLog {
    const c = new SimLog(this.snapshotMeta, this.snapChain);
    c.entries = this.entries.slice();
    c.chains = this.chains.slice();
    return c;
  }
}
