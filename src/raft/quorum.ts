/**
 * Quorum arithmetic over the voters of a configuration. One function answers
 * "what is the highest index held under requirement R": the commit index
 * (majority), per-write durability (remote-region, all), and the highest
 * heartbeat round a quorum has answered (ReadIndex / lease) all use it.
 * Learners are never passed in: they do not count.
 */
import type { Durability, Index, Member, NodeId } from "./types.ts";

export function quorumSize(voterCount: number): number {
  return Math.floor(voterCount / 2) + 1;
}

/**
 * The highest index i such that the voters holding ≥ i satisfy `requirement`:
 * - majority: a majority of voters;
 * - all: every voter;
 * - remote-region: a majority, and among them (or besides them) at least one
 *   voter outside `leaderRegion`. With no voter outside the leader's region
 *   the requirement cannot be met by geography, so the strongest available
 *   (every voter) is used instead.
 * Zero for an empty voter set (nothing is held by nobody).
 */
export function indexHeldBy(
  voters: readonly Member[],
  indexOf: (id: NodeId) => Index,
  requirement: Durability,
  leaderRegion: string,
): Index {
  if (voters.length === 0) return 0;
  const held = voters.map((v) => indexOf(v.id)).sort((a, b) => b - a);
  const majority = held[quorumSize(voters.length) - 1];
  const all = held[held.length - 1];
  switch (requirement) {
    case "majority":
      return majority;
    case "all":
      return all;
    case "remote-region": {
      const remote = voters.filter((v) => v.region !== leaderRegion);
      if (remote.length === 0) return all;
      const bestRemote = Math.max(...remote.map((v) => indexOf(v.id)));
      return Math.min(majority, bestRemote);
    }
  }
}

export type VoteOutcome = "won" | "lost" | "pending";

export function voteOutcome(voters: readonly Member[], granted: ReadonlyMap<NodeId, boolean>): VoteOutcome {
  let yes = 0;
  let no = 0;
  for (const v of voters) {
    const g = granted.get(v.id);
    if (g === true) yes++;
    else if (g === false) no++;
  }
  const q = quorumSize(voters.length);
  if (yes >= q) return "won";
  if (voters.length - no < q) return "lost";
  return "pending";
}
