/**
 * Liveness after healing: with every fault removed and every member back up,
 * a leader must emerge, commit a fresh proposal (which implies every earlier
 * entry in its log is committed too) and every member must apply it. The
 * bound is on stalls: the cluster may never go `stallMs` of simulated time
 * without a commit or apply somewhere (a backlog left by a tiny inflight
 * window on a slow link is fine while it drains), and everything must be
 * done within `capMs`.
 */
import type { Cluster } from "./cluster.ts";
import { NO_FAULTS } from "./network.ts";
import type { SimNode } from "./sim-node.ts";
import { Violation } from "./violation.ts";

export function healEverything(c: Cluster): void {
  c.net.heal();
  c.net.faults = { ...NO_FAULTS };
  for (const n of c.nodes.values()) {
    n.disk.slowUntil = 0;
    if (!n.up && !n.retired) n.start();
  }
  c.trace("=== healed: no faults from here on ===");
}

export interface LivenessResult {
  /** Simulated ms from healing to a committed marker on the leader. */
  readonly commitAfterMs: number;
  /** Simulated ms from healing until every member applied the marker. */
  readonly convergedAfterMs: number;
}

export function awaitConvergence(c: Cluster, stallMs: number, capMs: number): LivenessResult {
  const start = c.q.now;
  const data = new TextEncoder().encode("liveness-marker");
  let marker: { node: SimNode; index: number; term: number } | null = null;
  let committedAt = -1;
  let progress = -1;
  let progressAt = start;
  for (;;) {
    const now = c.q.now;
    const p = progressOf(c);
    if (p !== progress) {
      progress = p;
      progressAt = now;
    }
    const l = c.currentLeader();
    if (l !== null) {
      if (marker === null || marker.node !== l || marker.term !== l.term) {
        const r = l.propose(data);
        marker = r?.ok ? { node: l, index: r.index, term: r.term } : null;
      } else if (l.applied >= marker.index && c.checker.isAcked(marker.index)) {
        if (committedAt < 0) committedAt = now;
        const m = marker;
        const behind = l.status().membership.members.filter((x) => {
          const n = c.nodes.get(x.id);
          return n === undefined || !n.up || n.applied < m.index;
        });
        if (behind.length === 0) {
          checkAckedSurvive(c, l);
          return { commitAfterMs: committedAt - start, convergedAfterMs: now - start };
        }
      }
    }
    if (now - progressAt > stallMs || now - start > capMs) {
      const why =
        marker === null
          ? "no leader could take a proposal"
          : committedAt < 0
            ? `leader ${marker.node.id} did not commit its proposal at ${marker.index}`
            : "not every member applied the committed proposal";
      const how = now - progressAt > stallMs ? `no commit or apply for ${stallMs} ms` : `not converged ${capMs} ms after healing`;
      throw new Violation("liveness", `${how}: ${why}. ${c.describeNodes()}`);
    }
    c.runUntil(now + 5);
  }
}

/** Sum of every live node's commit and applied index: it moves whenever anything commits or applies. */
function progressOf(c: Cluster): number {
  let sum = 0;
  for (const n of c.nodes.values()) if (n.up) sum += n.commit + n.applied;
  return sum;
}

/** Every acknowledged write up to the leader's commit index is in the leader's log, unchanged. */
function checkAckedSurvive(c: Cluster, l: SimNode): void {
  for (const i of c.checker.ackedIndices()) {
    if (i > l.commit) throw new Violation("acked-write-lost", `acknowledged index ${i} is past the final leader's commit ${l.commit}`);
    const want = c.checker.ackedChain(i)!;
    if (!l.mirror.holds(i, want)) throw new Violation("acked-write-lost", `final leader ${l.id} does not hold the acknowledged write at ${i}`);
  }
}
