/**
 * The leader's write lock. An interactive transaction holds it from BEGIN to
 * COMMIT/ROLLBACK so that other writers queue behind it instead of
 * interleaving with statements it has already executed (its statements are
 * replayed as one log entry at commit and must see the same state).
 *
 * Every wait is bounded: by the caller's deadline, and for a BEGIN by its
 * client still being there. A BEGIN whose client gave up must not take the
 * lock later and hold it, unseen, for a whole idle timeout while real writers
 * queue behind it.
 */
import { ServiceError } from "./sql-service.ts";

export class WriteGate {
  private holder: string | null = null;
  private readonly waiters = new Set<() => void>();

  get held(): boolean {
    return this.holder !== null;
  }

  /** Resolves when the caller may write; plain writes pass straight through unless a transaction holds the gate. */
  async pass(deadline: number): Promise<void> {
    while (this.holder !== null) await this.turn(deadline, undefined);
  }

  /** Takes the gate for `owner`, or throws a ServiceError("timeout") at the deadline or when `signal` aborts. */
  async acquire(owner: string, deadline: number, signal?: AbortSignal): Promise<void> {
    // Check and take in the same synchronous step, so two woken acquirers cannot both win.
    while (this.holder !== null) await this.turn(deadline, signal);
    if (signal?.aborted) throw abandoned();
    this.holder = owner;
  }

  release(owner: string): void {
    if (this.holder !== owner) return;
    this.holder = null;
    const woken = [...this.waiters];
    this.waiters.clear();
    for (const w of woken) w();
  }

  /** Waits for the next release, the deadline or the abort, whichever comes first. */
  private turn(deadline: number, signal: AbortSignal | undefined): Promise<void> {
    if (signal?.aborted) return Promise.reject(abandoned());
    return new Promise<void>((resolve, reject) => {
      const settle = (err: ServiceError | null) => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
        this.waiters.delete(wake);
        if (err) reject(err);
        else resolve();
      };
      const wake = () => settle(null);
      const onAbort = () => settle(abandoned());
      const timer = setTimeout(
        () => settle(new ServiceError("timeout", "an interactive transaction held the write lock until the deadline; nothing was written")),
        Math.max(0, deadline - Date.now()),
      );
      signal?.addEventListener("abort", onAbort, { once: true });
      this.waiters.add(wake);
    });
  }
}

const abandoned = () => new ServiceError("timeout", "the client went away while waiting for the write lock; nothing was written");
