/**
 * Scripted schedules that turn each planted bug into an end-to-end safety
 * failure (run with rule checks off, so the failure is the consequence, not
 * the breached rule). With a correct core the same schedules stay safe.
 */
import type { PlantedBug } from "../../src/raft/types.ts";
import { Harness } from "./harness.ts";
import type { SimNode } from "./sim-node.ts";

export interface ScriptOptions {
  readonly bug?: PlantedBug;
  readonly rules?: boolean;
  readonly seed?: number;
}

function harness(o: ScriptOptions, voters: number, core: Record<string, unknown>): Harness {
  return new Harness({
    voters,
    seed: o.seed ?? 1,
    core: { ...core, ...(o.bug ? { plantedBug: o.bug } : {}) },
    checks: { rules: o.rules ?? false },
  });
}

/**
 * A voter grants n1 its vote, crashes before the vote is durable, and after
 * restarting grants n3 its vote in the same term (n3 never heard of n1's
 * candidacy). Votes must be durable before they are sent (Figure 2).
 * Returns the leaders seen for term 1.
 */
export function doubleVoteAfterCrash(o: ScriptOptions): { leadersOfTerm1: string[] } {
  const h = harness(o, 3, { preVote: false, checkQuorum: false });
  const [n1, n2, n3] = ["n1", "n2", "n3"].map((id) => h.node(id)) as [SimNode, SimNode, SimNode];
  const leaders = new Set<string>();
  const note = (): void => {
    for (const n of [n1, n2, n3]) if (n.isLeader && n.term === 1) leaders.add(n.id);
  };
  // n2's disk is slow: its vote stays in flight for a while.
  n2.disk.slowUntil = Number.POSITIVE_INFINITY;
  n2.disk.slowExtraMs = 60;
  h.split(["n1"], ["n3"]);
  n1.campaign();
  h.c.runUntilTrue(() => n1.isLeader, h.now + 5, 0.05);
  note();
  h.split(["n1"], ["n2"]);
  h.crash("n2");
  n2.disk.slowUntil = 0;
  h.restart("n2");
  n3.campaign();
  h.c.runUntilTrue(() => {
    note();
    return n3.isLeader;
  }, h.now + 50, 0.05);
  note();
  return { leadersOfTerm1: [...leaders].sort() };
}

/**
 * n1 leads without check-quorum and is cut off; n2/n3 elect a new leader that
 * acknowledges a write; then a client asks n1 for a lease read. A lease is
 * only sound with check-quorum (thesis §6.4.1). Returns whether n1 served it.
 */
export function leaseReadOnDeposedLeader(o: ScriptOptions): { served: boolean } {
  const h = harness(o, 3, { preVote: true, checkQuorum: false });
  h.elect("n1");
  h.write();
  h.isolate("n1");
  h.waitLeader(3000, ["n2", "n3"]);
  h.write();
  const n1 = h.node("n1");
  const before = h.c.stats.readsServed;
  if (!n1.isLeader) throw new Error("n1 stopped leading (the script needs a deposed leader that does not know it)");
  n1.read("stale-lease", true);
  h.run(50);
  return { served: h.c.stats.readsServed > before };
}

/**
 * n1 adds two voters at once while cut off from the old members: the new
 * configuration's majority {n1, n4, n5} and the old one's {n2, n3} do not
 * intersect, so both sides make progress (thesis §4.1: one change at a time).
 * Returns whether the second change was accepted.
 */
export function twoChangesDisjointMajorities(o: ScriptOptions): { secondAccepted: boolean } {
  const h = harness(o, 3, { preVote: true, checkQuorum: true });
  const n1 = h.elect("n1");
  h.write();
  h.c.addNode({ id: "n4", region: "A" });
  h.c.addNode({ id: "n5", region: "A" });
  h.split(["n1", "n4", "n5"], ["n2", "n3"]);
  const a = n1.proposeConfChange({ op: "add-voter", member: { id: "n4", region: "A" } });
  const b = n1.proposeConfChange({ op: "add-voter", member: { id: "n5", region: "A" } });
  if (!a?.ok) throw new Error(`first change refused: ${JSON.stringify(a)}`);
  // A write that only the new configuration's majority can commit.
  h.propose(n1);
  h.run(100);
  h.waitLeader(3000, ["n2", "n3"]);
  h.run(100);
  return { secondAccepted: b?.ok === true };
}
