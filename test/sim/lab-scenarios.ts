/**
 * Scenario shapes after MIT 6.824's Raft lab tests (2A–2D) and etcd-io/raft's
 * testdata, as adjustments of a seed's drawn scenario (runSeed's `tweak`).
 */
import type { NodeId } from "../../src/raft/types.ts";
import type { Placement } from "./cluster.ts";
import { NO_FAULTS } from "./network.ts";
import type { Scenario } from "./scenario.ts";

function oneRegion(n: number, first = 1): Placement[] {
  return Array.from({ length: n }, (_, i) => ({ id: `n${first + i}` as NodeId, region: "A" }));
}

const ONE_REGION_LATENCY = { A: { A: 1 } };

/** Plain Raft as the lab implements it: no pre-vote, no check-quorum, no leader placement. */
function plainRaft(s: Scenario): Scenario {
  return { ...s, core: { ...s.core, preVote: false, checkQuorum: false, preferredRegion: null } };
}

/** 6.824 TestFigure82C: five servers, a reliable network, leaders crash and restart while clients write. */
export function figure8Reliable(s: Scenario): Scenario {
  return plainRaft({
    ...s,
    voters: oneRegion(5),
    spares: [],
    regions: ["A"],
    latencyMs: ONE_REGION_LATENCY,
    faults: NO_FAULTS,
    faultKinds: ["crash"],
    nemesisMeanMs: 60,
    proposeMeanMs: 3,
    confChangeMeanMs: 0,
    transferMeanMs: 0,
    chaosMs: 2000,
  });
}

/** 6.824 TestFigure8Unreliable2C: the same on a network that loses, duplicates and long-delays messages, with partitions. */
export function figure8Unreliable(s: Scenario): Scenario {
  return {
    ...figure8Reliable(s),
    faults: { loss: 0.1, duplicate: 0.05, reorder: 0.25, reorderMs: 250 },
    faultKinds: ["crash", "isolate-leader", "partition", "heal"],
  };
}

/** 6.824 TestUnreliableChurn2C / TestReliableChurn2C: servers crash, restart and get cut off at random under a high concurrent client load. */
export function churn(s: Scenario): Scenario {
  return {
    ...s,
    voters: oneRegion(5),
    spares: oneRegion(2, 6),
    regions: ["A"],
    latencyMs: ONE_REGION_LATENCY,
    faults: { loss: 0.05, duplicate: 0.02, reorder: 0.1, reorderMs: 40 },
    faultKinds: ["crash", "partition", "isolate-leader", "one-way", "heal"],
    nemesisMeanMs: 50,
    faultMeanMs: 100,
    proposeMeanMs: 1,
    readMeanMs: 3,
    confChangeMeanMs: 200,
    transferMeanMs: 300,
    chaosMs: 1500,
  };
}

/** Leases under pressure (etcd testdata's lease / check-quorum cases): deposed leaders keep getting lease reads while the rest move on. */
export function leaseChaos(s: Scenario): Scenario {
  return {
    ...s,
    voters: oneRegion(3),
    spares: [],
    regions: ["A"],
    latencyMs: ONE_REGION_LATENCY,
    faults: NO_FAULTS,
    faultKinds: ["isolate-leader", "partition", "partial", "heal"],
    nemesisMeanMs: 100,
    faultMeanMs: 300,
    proposeMeanMs: 3,
    readMeanMs: 2,
    leaseReadShare: 0.9,
    confChangeMeanMs: 0,
    transferMeanMs: s.transferMeanMs > 0 ? 200 : 0,
    chaosMs: 1500,
  };
}

/**
 * Five voters in one region, the leader isolated or partitioned often, reads
 * through the log's ReadIndex only (no lease) and half of them at followers:
 * where a leader that answered a forwarded read on the requester's word alone
 * (without a quorum) serves a stale read.
 */
export function forwardedReadChaos(s: Scenario): Scenario {
  return { ...leaseChaos(s), voters: oneRegion(5), leaseReadShare: 0 };
}
