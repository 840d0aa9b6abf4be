/**
 * The simulated clock and its agenda: a binary min-heap of callbacks ordered by
 * (time, insertion order). Equal times run in scheduling order, which keeps a
 * run deterministic without relying on the heap's internal layout.
 */
interface Scheduled {
  readonly at: number;
  readonly seq: number;
  readonly run: () => void;
}

export class EventQueue {
  /** Simulated time in milliseconds. */
  now = 0;
  private heap: Scheduled[] = [];
  private seq = 0;
  /** Events executed so far (the step budget is counted in these). */
  steps = 0;

  /** Runs `run` after `delayMs` of simulated time (0 = later in this same instant). */
  after(delayMs: number, run: () => void): void {
    this.push({ at: this.now + Math.max(0, delayMs), seq: this.seq++, run });
  }

  get size(): number {
    return this.heap.length;
  }

  /** Runs the next event; false when the agenda is empty or the next event is past `until`. */
  runNext(until: number): boolean {
    const top = this.heap[0];
    if (top === undefined || top.at > until) return false;
    this.pop();
    this.now = top.at;
    this.steps++;
    top.run();
    return true;
  }

  private push(e: Scheduled): void {
    const h = this.heap;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!before(h[i]!, h[p]!)) break;
      const t = h[i]!;
      h[i] = h[p]!;
      h[p] = t;
      i = p;
    }
  }

  private pop(): void {
    const h = this.heap;
    const last = h.pop()!;
    if (h.length === 0) return;
    h[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && before(h[l]!, h[m]!)) m = l;
      if (r < h.length && before(h[r]!, h[m]!)) m = r;
      if (m === i) break;
      const t = h[i]!;
      h[i] = h[m]!;
      h[m] = t;
      i = m;
    }
  }
}

function before(a: Scheduled, b: Scheduled): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}
