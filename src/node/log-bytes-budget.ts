/**
 * Bounds the Raft log held in memory by bytes, not only by entry count. The
 * count threshold (compact every N applied entries, keep K) keeps 2,000–12,000
 * entries whatever their size: with 15 kB batch entries that was ~50 MB on
 * every node that no GC can free. This tracks the bytes applied since the last
 * compaction and says when they exceed `budgetBytes`, and how far to compact
 * so that about `keepBytes` of the newest applied entries stay (a follower
 * lagging further behind gets a snapshot instead of entries).
 */
import type { Entry, Index } from "../raft/types.ts";
import { entriesSize } from "../raft/entry-size.ts";

interface Mark {
  readonly index: Index;
  /** Bytes applied up to and including `index`. */
  readonly total: number;
}

export class LogBytesBudget {
  private total = 0;
  private totalAtCompact = 0;
  /** One mark per applied batch since the last compaction, oldest first. */
  private marks: Mark[] = [];

  constructor(
    private readonly budgetBytes: number,
    private readonly keepBytes: number,
  ) {}

  applied(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    this.total += entriesSize(entries);
    this.marks.push({ index: entries[entries.length - 1]!.index, total: this.total });
  }

  /** True once the entries applied since the last compaction exceed the budget. */
  overBudget(): boolean {
    return this.total - this.totalAtCompact > this.budgetBytes;
  }

  /** The highest applied index whose successors hold at least keepBytes (0 if none). */
  compactionPoint(): Index {
    let point = 0;
    for (const m of this.marks) {
      if (this.total - m.total < this.keepBytes) break;
      point = m.index;
    }
    return point;
  }

  /** The log was compacted up to `index`. */
  compacted(index: Index): void {
    this.totalAtCompact = this.total;
    let i = 0;
    while (i < this.marks.length && this.marks[i]!.index <= index) i++;
    this.marks = this.marks.slice(i);
  }
}
