/**
 * The Raft paper's Figure 8, scripted on five nodes. An entry X of an old
 * term reaches a majority only after its leader was replaced once; if the
 * leader then counted replicas to commit X (instead of waiting for an entry of
 * its own term), a later leader without X overwrites it.
 *
 *   (a) n1 leads, X at index i reaches n2 only          n1 n2 | n3 n4 n5
 *   (b) n1 crashes; n5 leads (n3, n4 vote), appends at i, cut off before it replicates
 *   (c) n5 crashes; n1 restarts and leads, sends X (one entry per message) to n3, n4;
 *       the moment a majority holds X, n1 is cut off (its own-term entry is still in flight)
 *   (d) n1 crashes; n5 restarts and leads with n2–n4 (its last term is higher), overwriting i
 */
import type { CheckerOptions } from "./invariants.ts";
import { Harness } from "./harness.ts";
import type { PlantedBug } from "../../src/raft/types.ts";

export interface Figure8Outcome {
  readonly h: Harness;
  /** Index of the contested entry X. */
  readonly xIndex: number;
  readonly xTerm: number;
  /** Whether n1 counted X committed in step (c). */
  readonly oldLeaderCommittedX: boolean;
}

export function runFigure8(opts: { seed?: number; bug?: PlantedBug; checks?: CheckerOptions; trace?: boolean } = {}): Figure8Outcome {
  const h = new Harness({
    voters: 5,
    seed: opts.seed ?? 1,
    jitter: 0.1,
    // One entry per append and one append in flight, so X and the new leader's no-op travel separately.
    // As in the paper: no pre-vote or leases, so the script decides who campaigns when.
    core: { preVote: false, checkQuorum: false, maxMsgBytes: 1, maxInflightMsgs: 1, ...(opts.bug ? { plantedBug: opts.bug } : {}) },
    ...(opts.checks ? { checks: opts.checks } : {}),
    ...(opts.trace ? { trace: true } : {}),
  });
  const n1 = h.node("n1");
  const n2 = h.node("n2");
  const n5 = h.node("n5");

  // (a)
  h.elect("n1");
  h.write();
  const healA = h.split(["n1", "n2"], ["n3", "n4", "n5"]);
  const x = h.propose(n1);
  if (x === null) throw new Error("n1 refused X");
  h.waitFor(() => n2.disk.log.lastIndex >= x.index, 500, "X to reach n2's disk");
  h.crash("n1");
  healA();

  // (b) n2 is kept away so it cannot vote for n5 (it would not: its log has X).
  const healB = h.isolate("n2");
  electWithoutCommit(h, "n5");
  // n5's own no-op sits at X's index; cut n5 off the instant it exists (its appends are still in flight).
  if (n5.mirror.lastIndex < x.index) throw new Error("n5 has nothing at X's index");
  // Kept cut until n5 restarts, so its in-flight appends are lost.
  const cutN5 = h.isolate("n5");
  h.waitFor(() => n5.disk.log.lastIndex >= x.index, 100, "n5's entry at X's index to be durable", 0.05);
  h.crash("n5");
  healB();

  // (c) n1 back; n5 down. n1 must be elected by n2 and n3/n4 after their lease on n5 lapses.
  h.restart("n1");
  const n1Term = electWithoutCommit(h, "n1");
  // Wait until n3 and n4 acknowledged X to n1 — then cut n1 off before its own-term entry lands.
  h.waitFor(
    () => {
      if (!n1.isLeader || n1.term !== n1Term) throw new Error("n1 lost leadership during step (c)");
      const p = n1.status().progress ?? [];
      const holders = p.filter((x2) => x2.match >= x.index).length;
      return holders >= 3;
    },
    1000,
    "a majority to acknowledge X to n1",
    0.05,
  );
  const oldLeaderCommittedX = n1.commit >= x.index;
  h.isolate("n1");
  h.crash("n1");

  // (d)
  cutN5();
  h.restart("n5");
  h.elect("n5");
  h.heal();
  h.waitApplied(n5.commit, ["n2", "n3", "n4", "n5"]);
  return { h, xIndex: x.index, xTerm: x.term, oldLeaderCommittedX };
}

/** Campaigns until `id` is leader (its own-term entry need not be committed); returns its term. */
function electWithoutCommit(h: Harness, id: string): number {
  const n = h.node(id);
  const deadline = h.now + 3000;
  while (h.now < deadline) {
    if (n.isLeader) return n.term;
    if (n.up) n.campaign();
    h.c.runUntilTrue(() => n.isLeader, h.now + 5, 0.05);
  }
  throw new Error(`${id} did not become leader: ${h.c.describeNodes()}`);
}
