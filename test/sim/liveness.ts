/**
 * Liveness after healing: with every fault removed and every member back up,
 * a leader must emerge, commit a fresh proposal (which implies every earlier
 * entry in its log is committed too) and every member must apply it, all
 * within a bounded amount of simulated time.
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

/**
 * Runs until converged. A leader must commit a fresh proposal within
 * `commitBoundMs`; lagging members then get `catchUpMs` more (their backlog
 * can be large when the inflight window is tiny and the link slow).
 */
export function awaitConvergence(c: Cluster, commitBoundMs: number, catchUpMs: number): LivenessResult {
  const start = c.q.now;
  let deadline = start + commitBoundMs;
  const data = new TextEncoder().encode("liveness-marker");
  let marker: { node: SimNode; index: number; term: number } | null = null;
  let committedAt = -1;
  while (c.q.now < deadline) {
    const l = c.currentLeader();
    if (l !== null) {
      if (marker === null || marker.node !== l || marker.term !== l.term) {
        const r = l.propose(data);
        marker = r?.ok ? { node: l, index: r.index, term: r.term } : null;
      } else if (l.applied >= marker.index && c.checker.isAcked(marker.index)) {
        if (committedAt < 0) {
          committedAt = c.q.now;
          deadline = committedAt + catchUpMs;
        }
        const members = l.status().membership.members;
        const behind = members.filter((m) => {
          const n = c.nodes.get(m.id);
          return n === undefined || !n.up || n.applied < marker!.index;
        });
        if (behind.length === 0) {
          checkAckedSurvive(c, l);
          return { commitAfterMs: committedAt - start, convergedAfterMs: c.q.now - start };
        }
      }
    }
    c.runUntil(c.q.now + 5);
  }
  const why =
    marker === null
      ? "no leader could take a proposal"
      : committedAt < 0
        ? `leader ${marker.node.id} did not commit its proposal at ${marker.index}`
        : "not every member applied the committed proposal";
  throw new Violation("liveness", `${(c.q.now - start).toFixed(0)} ms after healing: ${why}. ${c.describeNodes()}`);
}

/** Every acknowledged write up to the leader's commit index is in the leader's log, unchanged. */
function checkAckedSurvive(c: Cluster, l: SimNode): void {
  for (const i of c.checker.ackedIndices()) {
    if (i > l.commit) throw new Violation("acked-write-lost", `acknowledged index ${i} is past the final leader's commit ${l.commit}`);
    const want = c.checker.ackedChain(i)!;
    if (!l.mirror.holds(i, want)) throw new Violation("acked-write-lost", `final leader ${l.id} does not hold the acknowledged write at ${i}`);
  }
}
