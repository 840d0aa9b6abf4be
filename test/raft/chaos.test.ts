import { describe, expect, test } from "bun:test";
import { runChaos } from "./chaos.ts";

describe("randomized faults against the core", () => {
  test("no safety violation and the cluster recovers, over 40 seeds", () => {
    let commits = 0;
    let reads = 0;
    for (let seed = 1; seed <= 40; seed++) {
      const r = runChaos(seed, 1200);
      expect(r.violation).toBeNull();
      commits += r.commits;
      reads += r.reads;
    }
    // The run must actually exercise commits and reads.
    expect(commits).toBeGreaterThan(100);
    expect(reads).toBeGreaterThan(50);
  }, 60_000);
});
