/**
 * Promises that resolve once some monotonically growing index (applied index,
 * durable index) reaches a target. Kept sorted so each advance only touches
 * the waiters it releases.
 */
export class IndexWaiters {
  private readonly waiting: Array<{ index: number; resolve: () => void; reject: (e: Error) => void; timer: Timer | null }> = [];

  constructor(private current: () => number) {}

  wait(index: number, timeoutMs: number, onTimeout: () => Error): Promise<void> {
    if (this.current() >= index) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const w = { index, resolve, reject, timer: null as Timer | null };
      w.timer = setTimeout(() => {
        const i = this.waiting.indexOf(w);
        if (i >= 0) this.waiting.splice(i, 1);
        reject(onTimeout());
      }, timeoutMs);
      let at = this.waiting.length;
      while (at > 0 && this.waiting[at - 1]!.index > index) at--;
      this.waiting.splice(at, 0, w);
    });
  }

  /** Release every waiter whose target the current index has reached. */
  advance(): void {
    const now = this.current();
    let n = 0;
    while (n < this.waiting.length && this.waiting[n]!.index <= now) n++;
    for (const w of this.waiting.splice(0, n)) {
      if (w.timer) clearTimeout(w.timer);
      w.resolve();
    }
  }

  failAll(error: Error): void {
    for (const w of this.waiting.splice(0)) {
      if (w.timer) clearTimeout(w.timer);
      w.reject(error);
    }
  }

  get size(): number {
    return this.waiting.length;
  }
}
