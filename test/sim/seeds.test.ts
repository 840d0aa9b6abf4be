/**
 * The randomized simulation in the default suite: 500 seeds, each a cluster
 * under crashes, partitions, message loss/duplication/reordering, slow disks,
 * membership changes, leadership transfers and client reads/writes, checked
 * at every step and required to converge after healing.
 */
import { describe, expect, test } from "bun:test";
import { runSeed } from "./run-seed.ts";

const SEEDS = 500;
const BATCH = 50;

describe("randomized simulation", () => {
  for (let from = 1; from <= SEEDS; from += BATCH) {
    const to = Math.min(SEEDS, from + BATCH - 1);
    test(`seeds ${from}–${to} keep every invariant and converge after healing`, () => {
      const failures: string[] = [];
      let acked = 0;
      for (let seed = from; seed <= to; seed++) {
        const r = runSeed(seed);
        acked += r.stats.acked;
        if (r.violation) {
          failures.push(`seed ${seed}: ${r.violation.invariant}: ${r.violation.detail}\n  replay: npm run sim -- --seed ${seed} --trace`);
        }
      }
      expect(failures).toEqual([]);
      // The batch did real work (a run where nothing commits would check nothing).
      expect(acked).toBeGreaterThan(BATCH * 20);
    }, 60_000);
  }
});
