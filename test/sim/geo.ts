/**
 * Geography in simulation: region A holds 2 voters 1 ms apart, region B one
 * voter 15 ms (one way) from A; fsync takes 0.2 ms. With the leader in A a
 * write needs its own fsync in parallel with one intra-region round trip plus
 * the peer's fsync — the fastest majority — so its commit latency should be
 * ≈ 2 ms + fsync, never the ≈ 30 ms round trip to B.
 */
import { Cluster, type Placement } from "./cluster.ts";
import type { CoreKnobs } from "./scenario.ts";
import { Violation } from "./violation.ts";

export const GEO_INTRA_MS = 1;
export const GEO_CROSS_MS = 15;
export const GEO_FSYNC_MS = 0.2;

const PLACEMENT: readonly Placement[] = [
  { id: "a1", region: "A" },
  { id: "a2", region: "A" },
  { id: "b1", region: "B" },
];

export interface GeoRun {
  readonly latencies: number[];
  readonly violation: Violation | null;
}

/** One seed: elect a leader in `leaderRegion`, then time a steady stream of single-write proposals. */
export function runGeo(seed: number, leaderRegion: "A" | "B", trace?: (line: string) => void): GeoRun {
  const core: CoreKnobs = {
    electionTicks: 10,
    heartbeatTicks: 1,
    preVote: true,
    checkQuorum: true,
    preferredRegion: leaderRegion,
    nonPreferredElectionPenalty: 1,
    leaseDriftTicks: 2,
    maxInflightMsgs: 256,
    maxInflightBytes: 1 << 20,
    maxMsgBytes: 1 << 16,
  };
  const c = new Cluster({
    seed,
    voters: PLACEMENT,
    geo: { latency: (a, b) => (a === b ? GEO_INTRA_MS : GEO_CROSS_MS), jitter: 0.1 },
    faults: { loss: 0, duplicate: 0, reorder: 0, reorderMs: 0 },
    disk: { fsyncMs: (rng) => GEO_FSYNC_MS * (0.9 + rng.next() * 0.2) },
    settings: (p) => ({ id: p.id, region: p.region, raft: core, tickMs: 10, compactEvery: 200, compactKeep: 10 }),
    snapshotTransferMs: 5,
    maxSteps: 400_000,
    ...(trace ? { trace } : {}),
  });
  const latencies: number[] = [];
  try {
    c.start();
    const first = leaderRegion === "A" ? "a1" : "b1";
    c.q.after(1, () => c.node(first).campaign());
    const settled = c.runUntilTrue(() => {
      const l = c.currentLeader();
      return l !== null && l.region === leaderRegion && l.commit > 0 && l.applied >= l.commit;
    }, 2000);
    if (!settled) throw new Violation("liveness", `no leader in region ${leaderRegion} after 2 s: ${c.describeNodes()}`);
    const rng = c.rng.fork(21);
    const enc = new TextEncoder();
    const end = c.q.now + 1000;
    let seq = 0;
    const next = (): void => {
      if (c.q.now >= end) return;
      c.currentLeader()?.propose(enc.encode(`geo${++seq}`));
      c.q.after(rng.exp(4), next);
    };
    c.q.after(rng.exp(4), next);
    c.runUntil(end + 200);
    latencies.push(...c.stats.commitLatencies);
    return { latencies, violation: null };
  } catch (e) {
    if (!(e instanceof Violation)) throw e;
    return { latencies, violation: e };
  }
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}
