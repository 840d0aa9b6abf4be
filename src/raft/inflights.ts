/**
 * A per-peer window of append messages sent but not yet acknowledged,
 * bounded both in messages and in bytes (thesis §10.2.2 pipelining).
 */
import type { Index } from "./types.ts";

export class Inflights {
  private readonly items: { readonly last: Index; readonly bytes: number }[] = [];
  private bytes = 0;

  constructor(
    private readonly maxMsgs: number,
    private readonly maxBytes: number,
  ) {}

  add(last: Index, bytes: number): void {
    this.items.push({ last, bytes });
    this.bytes += bytes;
  }

  /** The peer acknowledged everything up to `index`. */
  freeLE(index: Index): void {
    let n = 0;
    while (n < this.items.length && this.items[n].last <= index) {
      this.bytes -= this.items[n].bytes;
      n++;
    }
    if (n > 0) this.items.splice(0, n);
  }

  /** Lets one more message through when acknowledgements were lost (heartbeat-resp proves the peer is alive). */
  freeFirst(): void {
    const first = this.items.shift();
    if (first) this.bytes -= first.bytes;
  }

  full(): boolean {
    return this.items.length >= this.maxMsgs || (this.maxBytes > 0 && this.bytes >= this.maxBytes);
  }

  count(): number {
    return this.items.length;
  }

  reset(): void {
    this.items.length = 0;
    this.bytes = 0;
  }
}
