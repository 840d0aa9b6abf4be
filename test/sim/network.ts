/**
 * The fake network: per-link one-way latency from a region matrix plus
 * jitter, random loss, duplication and reordering (rare long delays), and
 * directed link cuts, which compose into symmetric, asymmetric and partial
 * partitions. A message is dropped if its link is cut when it is sent or when
 * it would arrive (a broken connection loses what was in flight).
 */
import type { NodeId } from "../../src/raft/types.ts";
import type { EventQueue } from "./event-queue.ts";
import type { Prng } from "./prng.ts";

export interface LinkFaults {
  /** Probability a message is lost. */
  loss: number;
  /** Probability a message is delivered twice. */
  duplicate: number;
  /** Probability a message is held back by up to `reorderMs` extra (so later ones overtake it). */
  reorder: number;
  reorderMs: number;
}

export interface Geography {
  /** One-way latency in ms between two regions (same region: the intra-region latency). */
  latency(fromRegion: string, toRegion: string): number;
  /** Relative jitter: each delivery takes latency × (1 + U[0, jitter)). */
  readonly jitter: number;
}

export const NO_FAULTS: LinkFaults = { loss: 0, duplicate: 0, reorder: 0, reorderMs: 0 };

export class Network {
  faults: LinkFaults = { ...NO_FAULTS };
  private readonly cut = new Map<string, number>();
  private readonly region = new Map<NodeId, string>();
  /** Arrival time of the latest in-order message per link (keeps links FIFO). */
  private readonly lastArrival = new Map<string, number>();
  sent = 0;
  dropped = 0;

  constructor(
    private readonly q: EventQueue,
    private readonly rng: Prng,
    private readonly geo: Geography,
  ) {}

  place(id: NodeId, region: string): void {
    this.region.set(id, region);
  }

  regionOf(id: NodeId): string {
    return this.region.get(id) ?? "?";
  }

  /**
   * Schedules `deliver` after the link's delay, subject to faults. A link is
   * FIFO like the TCP stream it models, except for messages picked for
   * reordering, which are held back and overtaken. `stream` separates
   * out-of-band transfers (snapshot data) from the message stream.
   */
  send(from: NodeId, to: NodeId, deliver: () => void, extraMs = 0, stream = ""): void {
    this.sent++;
    if (this.isCut(from, to) || this.rng.chance(this.faults.loss)) {
      this.dropped++;
      return;
    }
    const link = `${from}>${to}${stream}`;
    const copies = this.rng.chance(this.faults.duplicate) ? 2 : 1;
    for (let k = 0; k < copies; k++) {
      let at = this.q.now + this.geo.latency(this.regionOf(from), this.regionOf(to)) * (1 + this.rng.next() * this.geo.jitter) + extraMs;
      if (this.rng.chance(this.faults.reorder)) {
        at += this.rng.next() * this.faults.reorderMs;
      } else {
        at = Math.max(at, this.lastArrival.get(link) ?? 0);
        this.lastArrival.set(link, at);
      }
      this.q.after(at - this.q.now, () => {
        if (this.isCut(from, to)) {
          this.dropped++;
          return;
        }
        deliver();
      });
    }
  }

  isCut(from: NodeId, to: NodeId): boolean {
    return this.cut.size > 0 && this.cut.has(`${from}>${to}`);
  }

  /** Cuts directed links; returns the undo (faults overlap, so each link counts how many faults cut it). */
  cutLinks(links: ReadonlyArray<readonly [NodeId, NodeId]>): () => void {
    const keys = links.filter(([a, b]) => a !== b).map(([a, b]) => `${a}>${b}`);
    for (const k of keys) this.cut.set(k, (this.cut.get(k) ?? 0) + 1);
    let undone = false;
    return () => {
      if (undone) return;
      undone = true;
      for (const k of keys) {
        const n = this.cut.get(k);
        if (n === undefined) continue;
        if (n <= 1) this.cut.delete(k);
        else this.cut.set(k, n - 1);
      }
    };
  }

  oneWay(from: NodeId, to: NodeId): () => void {
    return this.cutLinks([[from, to]]);
  }

  both(a: NodeId, b: NodeId): () => void {
    return this.cutLinks([
      [a, b],
      [b, a],
    ]);
  }

  /** Symmetric partition: no link between the two sides. */
  split(sideA: readonly NodeId[], sideB: readonly NodeId[]): () => void {
    const links: [NodeId, NodeId][] = [];
    for (const a of sideA) {
      for (const b of sideB) {
        links.push([a, b]);
        links.push([b, a]);
      }
    }
    return this.cutLinks(links);
  }

  heal(): void {
    this.cut.clear();
  }

  describeCuts(): string {
    return [...this.cut.keys()].sort().join(" ");
  }
}
