/**
 * The leader's write lock. An interactive transaction holds it from BEGIN to
 * COMMIT/ROLLBACK so that other writers queue behind it instead of
 * interleaving with statements it has already executed (its statements are
 * replayed as one log entry at commit and must see the same state).
 */
export class WriteGate {
  private holder: string | null = null;
  private readonly waiters: Array<() => void> = [];

  get held(): boolean {
    return this.holder !== null;
  }

  /** Resolves when the caller may write; plain writes pass straight through unless a transaction holds the gate. */
  async pass(): Promise<void> {
    while (this.holder !== null) await new Promise<void>((r) => this.waiters.push(r));
  }

  async acquire(owner: string): Promise<void> {
    // Check and take in the same synchronous step, so two woken acquirers cannot both win.
    while (this.holder !== null) await new Promise<void>((r) => this.waiters.push(r));
    this.holder = owner;
  }

  release(owner: string): void {
    if (this.holder !== owner) return;
    this.holder = null;
    for (const w of this.waiters.splice(0)) w();
  }
}
