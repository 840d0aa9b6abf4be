/**
 * Randomized election timeouts (Raft paper §5.2) with the leader-placement
 * penalty: a voter outside the preferred region waits extra election timeouts,
 * so that a preferred-region voter normally wins first. The penalty is waived
 * when the configuration has no voter in the preferred region (someone must
 * lead).
 */
import { findMember, voters } from "./membership.ts";
import type { Membership, NodeId, RaftConfig } from "./types.ts";

export function randomizedElectionTimeout(config: RaftConfig, membership: Membership, self: NodeId): number {
  const base = config.electionTicks;
  let ticks = base + Math.floor(config.random() * base);
  if (isPenalized(config, membership, self)) ticks += Math.round(base * config.nonPreferredElectionPenalty);
  return ticks;
}

export function isPenalized(config: RaftConfig, membership: Membership, self: NodeId): boolean {
  const preferred = config.preferredRegion;
  if (preferred === null || config.nonPreferredElectionPenalty <= 0) return false;
  const me = findMember(membership, self);
  if (!me || me.region === preferred) return false;
  return voters(membership).some((v) => v.region === preferred);
}
