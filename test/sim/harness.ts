/**
 * A scripted cluster for scenario tests: the same nodes, disk, network and
 * checker as the randomized runs, but with faults under the test's control.
 * Helpers wait in simulated time and fail with a description of the cluster.
 */
import type { NodeId } from "../../src/raft/types.ts";
import { Cluster, type Placement } from "./cluster.ts";
import type { CheckerOptions } from "./invariants.ts";
import { NO_FAULTS, type LinkFaults } from "./network.ts";
import type { CoreKnobs } from "./scenario.ts";
import type { SimNode } from "./sim-node.ts";

export interface HarnessOptions {
  readonly voters?: number | readonly Placement[];
  readonly seed?: number;
  readonly core?: Partial<CoreKnobs>;
  readonly faults?: LinkFaults;
  /** One-way latency between any two nodes (or per region pair). */
  readonly latencyMs?: number | ((a: string, b: string) => number);
  readonly jitter?: number;
  readonly fsyncMs?: number;
  readonly tickMs?: number;
  readonly compactEvery?: number;
  readonly compactKeep?: number;
  readonly snapshotTransferMs?: number;
  readonly checks?: CheckerOptions;
  readonly trace?: boolean;
}

export const DEFAULT_CORE: CoreKnobs = {
  electionTicks: 10,
  heartbeatTicks: 1,
  preVote: true,
  checkQuorum: true,
  preferredRegion: null,
  nonPreferredElectionPenalty: 1,
  leaseDriftTicks: 2,
  maxInflightMsgs: 256,
  maxInflightBytes: 1 << 20,
  maxMsgBytes: 1 << 16,
};

const encoder = new TextEncoder();

export class Harness {
  readonly c: Cluster;
  readonly trace: string[] = [];
  private seq = 0;

  constructor(readonly opts: HarnessOptions = {}) {
    const voters: readonly Placement[] =
      typeof opts.voters === "object" ? opts.voters : Array.from({ length: opts.voters ?? 3 }, (_, i) => ({ id: `n${i + 1}`, region: "A" }));
    const lat = opts.latencyMs ?? 1;
    const core: CoreKnobs = { ...DEFAULT_CORE, ...opts.core };
    this.c = new Cluster({
      seed: opts.seed ?? 1,
      voters,
      geo: { latency: typeof lat === "number" ? () => lat : lat, jitter: opts.jitter ?? 0.2 },
      faults: opts.faults ?? NO_FAULTS,
      disk: { fsyncMs: (rng) => (opts.fsyncMs ?? 0.2) * (0.8 + rng.next() * 0.4) },
      settings: (p) => ({
        id: p.id,
        region: p.region,
        raft: core,
        tickMs: opts.tickMs ?? 10,
        compactEvery: opts.compactEvery ?? 0,
        compactKeep: opts.compactKeep ?? 0,
      }),
      snapshotTransferMs: opts.snapshotTransferMs ?? 5,
      maxSteps: 5_000_000,
      ...(opts.checks ? { checks: opts.checks } : {}),
      ...(opts.trace ? { trace: (l: string) => void this.trace.push(l) } : {}),
    });
    this.c.start();
  }

  get now(): number {
    return this.c.q.now;
  }

  node(id: NodeId): SimNode {
    return this.c.node(id);
  }

  get ids(): NodeId[] {
    return [...this.c.nodes.keys()];
  }

  run(ms: number): void {
    this.c.runUntil(this.now + ms);
  }

  /** Runs until `pred` holds (checked every `everyMs` of simulated time); throws after `timeoutMs`. */
  waitFor(pred: () => boolean, timeoutMs: number, what: string, everyMs = 1): void {
    if (!this.c.runUntilTrue(pred, this.now + timeoutMs, everyMs)) {
      throw new Error(`timed out after ${timeoutMs} simulated ms waiting for ${what}: ${this.c.describeNodes()}`);
    }
  }

  /** The unique leader of the highest term, once one exists (and has committed an entry of its term). */
  waitLeader(timeoutMs = 3000, among?: readonly NodeId[]): SimNode {
    let found: SimNode | null = null;
    this.waitFor(
      () => {
        const l = this.c.currentLeader();
        found = l !== null && (among === undefined || among.includes(l.id)) && l.mirror.term(l.commit) === l.term ? l : null;
        return found !== null;
      },
      timeoutMs,
      `a leader${among ? ` among ${among.join(",")}` : ""}`,
    );
    return found!;
  }

  /** Makes `id` campaign until it leads (with its term's entry committed). */
  elect(id: NodeId, timeoutMs = 3000): SimNode {
    const n = this.node(id);
    const deadline = this.now + timeoutMs;
    while (this.now < deadline) {
      if (n.isLeader && n.mirror.term(n.commit) === n.term) return n;
      if (n.up && !n.isLeader && n.role !== "candidate" && n.role !== "pre-candidate") n.campaign();
      this.c.runUntil(this.now + 25);
    }
    throw new Error(`${id} did not become leader within ${timeoutMs} ms: ${this.c.describeNodes()}`);
  }

  /** Proposes a fresh write at `n` (default: the current leader); returns its slot or null if refused. */
  propose(n?: SimNode): { node: SimNode; index: number; term: number } | null {
    const target = n ?? this.c.currentLeader();
    if (!target) return null;
    const r = target.propose(encoder.encode(`t${++this.seq}`));
    return r?.ok ? { node: target, index: r.index, term: r.term } : null;
  }

  /** Writes through the current leader and waits until the client is answered; returns the index. */
  write(timeoutMs = 3000): number {
    const deadline = this.now + timeoutMs;
    while (this.now < deadline) {
      const p = this.propose();
      if (p !== null) {
        const ok = this.c.runUntilTrue(() => this.c.checker.isAcked(p.index) && p.node.applied >= p.index, Math.min(deadline, this.now + 500));
        if (ok) return p.index;
      } else {
        this.c.runUntil(this.now + 10);
      }
    }
    throw new Error(`no write acknowledged within ${timeoutMs} ms: ${this.c.describeNodes()}`);
  }

  /** Every live member has applied at least `index`. */
  waitApplied(index: number, ids: readonly NodeId[] = this.ids, timeoutMs = 5000): void {
    this.waitFor(() => ids.every((id) => this.node(id).up && this.node(id).applied >= index), timeoutMs, `${ids.join(",")} to apply ${index}`);
  }

  isolate(id: NodeId): () => void {
    return this.c.net.split([id], this.ids.filter((x) => x !== id));
  }

  split(a: readonly NodeId[], b: readonly NodeId[]): () => void {
    return this.c.net.split(a, b);
  }

  heal(): void {
    this.c.net.heal();
  }

  crash(id: NodeId): void {
    this.c.crash(id);
  }

  restart(id: NodeId): void {
    this.c.restart(id);
  }

  /** Highest term any live node is in. */
  maxTerm(): number {
    return Math.max(0, ...this.c.upNodes().map((n) => n.term));
  }
}
