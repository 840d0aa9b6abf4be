/**
 * The shape of one randomized run, drawn from its seed: cluster size and
 * geography, core knobs, disk speed, fault mix and client load.
 */
import type { PlantedBug, RaftConfig } from "../../src/raft/types.ts";
import type { Placement } from "./cluster.ts";
import { churn, figure8Reliable, figure8Unreliable, leaseChaos } from "./lab-scenarios.ts";
import { ALL_FAULTS, type FaultKind } from "./nemesis.ts";
import type { LinkFaults } from "./network.ts";
import { Prng } from "./prng.ts";

export type CoreKnobs = Omit<RaftConfig, "id" | "random">;

export interface Scenario {
  readonly seed: number;
  readonly voters: readonly Placement[];
  /** Nodes the operator may add later (as learners, then promote). */
  readonly spares: readonly Placement[];
  readonly regions: readonly string[];
  /** One-way latency between regions, ms (intra-region on the diagonal). */
  readonly latencyMs: Readonly<Record<string, Readonly<Record<string, number>>>>;
  readonly jitter: number;
  readonly tickMs: number;
  readonly core: CoreKnobs;
  readonly fsyncMs: number;
  readonly compactEvery: number;
  readonly compactKeep: number;
  readonly snapshotTransferMs: number;
  /** Faults on while chaos lasts. */
  readonly faults: LinkFaults;
  readonly chaosMs: number;
  /** Mean ms between fault actions (crash, partition, heal, slow disk, …); 0 disables the nemesis. */
  readonly nemesisMeanMs: number;
  /** Which faults the nemesis draws from. */
  readonly faultKinds: readonly FaultKind[];
  /** Mean duration of one fault (partition, slow disk, loss burst). */
  readonly faultMeanMs: number;
  readonly proposeMeanMs: number;
  readonly readMeanMs: number;
  readonly leaseReadShare: number;
  readonly confChangeMeanMs: number;
  readonly transferMeanMs: number;
  /** After healing, the cluster may not go this long without committing or applying anything… */
  readonly stallMs: number;
  /** …and must have elected a leader, committed a fresh proposal and brought every member up to it within this. */
  readonly convergeCapMs: number;
  readonly maxSteps: number;
}

export function randomScenario(seed: number, bug: PlantedBug | undefined): Scenario {
  const rng = new Prng(seed).fork(7);
  const regionCount = rng.pick([1, 2, 2, 3]);
  const regions = ["A", "B", "C"].slice(0, regionCount);
  const latencyMs: Record<string, Record<string, number>> = {};
  for (const a of regions) latencyMs[a] = {};
  for (const a of regions) {
    for (const b of regions) {
      if (a > b) continue;
      const v = a === b ? rng.range(0.2, 2) : rng.range(4, 20);
      latencyMs[a]![b] = v;
      latencyMs[b]![a] = v;
    }
  }
  const voterCount = rng.chance(0.6) ? 3 : 5;
  const spareCount = rng.intIn(0, 2);
  const place = (i: number): Placement => ({ id: `n${i}`, region: rng.pick(regions) });
  const voters = Array.from({ length: voterCount }, (_, i) => place(i + 1));
  const spares = Array.from({ length: spareCount }, (_, i) => place(voterCount + i + 1));
  const electionTicks = 10;
  const checkQuorum = rng.chance(0.85);
  const core: CoreKnobs = {
    electionTicks,
    heartbeatTicks: rng.pick([1, 1, 2, 3]),
    preVote: rng.chance(0.85),
    checkQuorum,
    preferredRegion: rng.chance(0.3) ? rng.pick(regions) : null,
    nonPreferredElectionPenalty: 1,
    leaseDriftTicks: 2,
    maxInflightMsgs: rng.pick([1, 2, 4, 16, 256]),
    maxInflightBytes: rng.pick([512, 4096, 1 << 20]),
    maxMsgBytes: rng.pick([64, 512, 1 << 16]),
    ...(rng.chance(0.3) ? { maxUncommittedBytes: rng.pick([1024, 16384]) } : {}),
    ...(bug !== undefined ? { plantedBug: bug } : {}),
  };
  const lossy = rng.chance(0.6);
  const faults: LinkFaults = lossy
    ? { loss: rng.pick([0.01, 0.05, 0.15]), duplicate: rng.pick([0, 0.02, 0.1]), reorder: rng.pick([0.02, 0.1, 0.3]), reorderMs: rng.range(5, 60) }
    : { loss: 0, duplicate: 0, reorder: 0, reorderMs: 0 };
  const base: Scenario = {
    seed,
    voters,
    spares,
    regions,
    latencyMs,
    jitter: rng.range(0.05, 0.6),
    tickMs: 10,
    core,
    fsyncMs: rng.pick([0.1, 0.5, 2, 8]),
    compactEvery: rng.pick([0, 4, 16, 64]),
    compactKeep: rng.pick([0, 2, 10]),
    snapshotTransferMs: rng.range(2, 30),
    faults,
    chaosMs: rng.range(800, 1800),
    nemesisMeanMs: rng.pick([40, 80, 150, 300]),
    faultMeanMs: rng.pick([40, 120, 400]),
    faultKinds: ALL_FAULTS,
    proposeMeanMs: rng.pick([2, 5, 10, 20]),
    readMeanMs: rng.pick([4, 10, 25]),
    leaseReadShare: rng.pick([0.1, 0.5, 0.9]),
    confChangeMeanMs: rng.chance(0.5) ? rng.pick([100, 250, 500]) : 0,
    transferMeanMs: rng.chance(0.5) ? rng.pick([150, 400]) : 0,
    stallMs: 5000,
    convergeCapMs: 60_000,
    maxSteps: 600_000,
  };
  // A fifth of the seeds take one of the lab-test shapes instead of the general mix.
  const shape = rng.next();
  if (shape < 0.05) return figure8Reliable(base);
  if (shape < 0.1) return figure8Unreliable(base);
  if (shape < 0.15) return churn(base);
  if (shape < 0.2) return leaseChaos(base);
  return base;
}
