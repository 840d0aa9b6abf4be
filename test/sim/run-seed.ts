/**
 * One randomized run: build the cluster a seed describes, let clients,
 * operator and nemesis loose for the chaos phase, heal, and demand liveness.
 * Every safety invariant is checked continuously along the way.
 */
import type { PlantedBug } from "../../src/raft/types.ts";
import { Cluster } from "./cluster.ts";
import type { CheckerOptions } from "./invariants.ts";
import { awaitConvergence, healEverything } from "./liveness.ts";
import { Nemesis } from "./nemesis.ts";
import { randomScenario, type Scenario } from "./scenario.ts";
import type { NodeSettings } from "./sim-node.ts";
import type { RunStats } from "./stats.ts";
import { Violation } from "./violation.ts";
import { Workload } from "./workload.ts";

export interface SeedOptions {
  readonly bug?: PlantedBug;
  readonly trace?: (line: string) => void;
  /** Adjusts the drawn scenario (scenario tests pin some knobs). */
  readonly tweak?: (s: Scenario) => Scenario;
  readonly checks?: CheckerOptions;
}

export interface SeedResult {
  readonly seed: number;
  readonly violation: Violation | null;
  /** Simulated time reached (ms). */
  readonly simMs: number;
  readonly steps: number;
  readonly stats: RunStats;
}

export function buildCluster(s: Scenario, trace?: (line: string) => void, checks?: CheckerOptions): Cluster {
  return new Cluster({
    seed: s.seed,
    voters: s.voters,
    geo: {
      latency: (a, b) => s.latencyMs[a]?.[b] ?? 10,
      jitter: s.jitter,
    },
    faults: s.faults,
    disk: { fsyncMs: (rng) => s.fsyncMs * (0.75 + rng.next() * 0.5) },
    settings: (p): NodeSettings => ({
      id: p.id,
      region: p.region,
      raft: s.core,
      tickMs: s.tickMs,
      compactEvery: s.compactEvery,
      compactKeep: s.compactKeep,
    }),
    snapshotTransferMs: s.snapshotTransferMs,
    maxSteps: s.maxSteps,
    ...(trace ? { trace } : {}),
    ...(checks ? { checks } : {}),
  });
}

export function runSeed(seed: number, opts: SeedOptions = {}): SeedResult {
  const drawn = randomScenario(seed, opts.bug);
  const s = opts.tweak ? opts.tweak(drawn) : drawn;
  const c = buildCluster(s, opts.trace, opts.checks);
  let violation: Violation | null = null;
  try {
    c.trace(`scenario ${JSON.stringify({ ...s, voters: s.voters.map((v) => `${v.id}@${v.region}`), spares: s.spares.map((v) => `${v.id}@${v.region}`) })}`);
    c.start();
    const workload = new Workload(c, s, c.rng.fork(11));
    const nemesis = new Nemesis(c, s, c.rng.fork(12));
    workload.start();
    workload.watchRemovals();
    nemesis.start();
    c.runUntil(s.chaosMs);
    workload.stop();
    nemesis.stop();
    healEverything(c);
    awaitConvergence(c, s.stallMs, s.convergeCapMs);
  } catch (e) {
    if (!(e instanceof Violation)) throw e;
    violation = e;
    c.trace(`VIOLATION ${e.message}`);
  }
  return { seed, violation, simMs: c.q.now, steps: c.q.steps, stats: c.stats };
}
