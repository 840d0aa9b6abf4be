/**
 * Runs completions in the order their requests arrived. HTTP/2 streams from
 * one sender finish out of order (a big batch takes longer to read than the
 * small one behind it); pipelined AppendEntries delivered out of order would
 * be rejected and throw the leader back to probing.
 *
 * Waiting is bounded: a slot still unfinished after `maxWaitMs` (its body
 * never arrives, e.g. the sender was partitioned mid-request) is skipped.
 * Order is a performance matter for Raft, never a safety one.
 */
export interface ArrivalSlot {
  readonly enteredAt: number;
}

interface Slot extends ArrivalSlot {
  done: boolean;
  skipped: boolean;
  run: (() => void) | null;
}

export class ArrivalOrder {
  private readonly slots: Slot[] = [];
  private timer: ReturnType<typeof setTimeout> | null = null;

  constructor(private readonly maxWaitMs: number) {}

  get waiting(): number {
    return this.slots.length;
  }

  /** Reserve the next position (call synchronously when the request arrives). */
  enter(): ArrivalSlot {
    const slot: Slot = { enteredAt: performance.now(), done: false, skipped: false, run: null };
    this.slots.push(slot);
    this.arm();
    return slot;
  }

  /** `run` executes (synchronously, possibly right now) once every earlier slot finished or was skipped. */
  finish(s: ArrivalSlot, run: () => void): void {
    const slot = s as Slot;
    if (slot.skipped) {
      run();
      return;
    }
    slot.done = true;
    slot.run = run;
    this.drain();
  }

  private drain(): void {
    while (this.slots.length > 0 && this.slots[0]!.done) {
      const slot = this.slots.shift()!;
      slot.run?.();
    }
    if (this.slots.length < 2 && this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    } else this.arm();
  }

  /** Only a head with someone waiting behind it needs a deadline. */
  private arm(): void {
    if (this.timer !== null || this.slots.length < 2) return;
    const wait = Math.max(0, this.slots[0]!.enteredAt + this.maxWaitMs - performance.now());
    this.timer = setTimeout(() => {
      this.timer = null;
      const now = performance.now();
      while (this.slots.length > 0 && !this.slots[0]!.done && now - this.slots[0]!.enteredAt >= this.maxWaitMs) {
        this.slots.shift()!.skipped = true;
      }
      this.drain();
    }, Math.ceil(wait));
  }
}
