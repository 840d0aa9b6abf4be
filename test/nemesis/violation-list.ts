/**
 * The violations a checker found, a few of each kind in full: a broken run
 * can break the same rule thousands of times, and the first ones say enough.
 */
export interface Finding<K extends string> {
  readonly kind: K;
  readonly detail: string;
}

const SHOWN_PER_KIND = 5;

export class ViolationList<K extends string> {
  private readonly shown: Finding<K>[] = [];
  private readonly counts = new Map<K, number>();

  readonly add = (kind: K, detail: string): void => {
    const n = (this.counts.get(kind) ?? 0) + 1;
    this.counts.set(kind, n);
    if (n <= SHOWN_PER_KIND) this.shown.push({ kind, detail });
  };

  /** The findings in the order found, then one "… and N more" per kind that had more than were shown. */
  list(): Finding<K>[] {
    const out = [...this.shown];
    for (const [kind, n] of this.counts) if (n > SHOWN_PER_KIND) out.push({ kind, detail: `… and ${n - SHOWN_PER_KIND} more` });
    return out;
  }
}
