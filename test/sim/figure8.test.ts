/**
 * Figure 8 of the Raft paper (scripted), and 6.824's randomized Figure 8
 * tests on a reliable and an unreliable network.
 */
import { describe, expect, test } from "bun:test";
import { runFigure8 } from "./figure8-script.ts";
import { figure8Reliable, figure8Unreliable } from "./lab-scenarios.ts";
import { runSeed } from "./run-seed.ts";
import { violationOf } from "./violation.ts";

describe("Figure 8 (scripted)", () => {
  test("an old-term entry held by a majority is not committed by counting, and a later leader may replace it", () => {
    const o = runFigure8();
    expect(o.oldLeaderCommittedX).toBe(false);
    // n5 led after n1 and overwrote X's slot everywhere: that was safe only because X never committed.
    const n5 = o.h.node("n5");
    for (const id of ["n2", "n3", "n4"]) expect(o.h.node(id).mirror.term(o.xIndex)).toBe(n5.mirror.term(o.xIndex));
    expect(n5.mirror.term(o.xIndex)).not.toBe(o.xTerm);
  });

  test("commit-previous-term: counting replicas of an old-term entry is caught as the rule breach", () => {
    const v = violationOf(() => runFigure8({ bug: "commit-previous-term" }));
    expect(v?.invariant).toBe("current-term-commit");
  });

  test("commit-previous-term: with rule checks off, the next leader lacks a committed entry", () => {
    const v = violationOf(() => runFigure8({ bug: "commit-previous-term", checks: { rules: false } }));
    expect(v?.invariant).toBe("leader-completeness");
  });
});

describe("Figure 8, randomized (6.824 2C)", () => {
  const seeds = Array.from({ length: 25 }, (_, i) => 9000 + i);
  for (const [name, tweak] of [
    ["reliable network", figure8Reliable],
    ["unreliable network", figure8Unreliable],
  ] as const) {
    test(`${name}: leaders crash under load, ${seeds.length} seeds stay safe and converge`, () => {
      const failures: string[] = [];
      let acked = 0;
      let elections = 0;
      for (const seed of seeds) {
        const r = runSeed(seed, { tweak });
        acked += r.stats.acked;
        elections += r.stats.elections;
        if (r.violation) failures.push(`seed ${seed}: ${r.violation.message}`);
      }
      expect(failures).toEqual([]);
      expect(acked).toBeGreaterThan(seeds.length * 50);
      expect(elections).toBeGreaterThan(seeds.length * 3);
    }, 60_000);
  }
});
