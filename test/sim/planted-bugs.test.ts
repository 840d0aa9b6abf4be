/**
 * Each planted bug (RaftConfig.plantedBug) must be caught. Two angles:
 * - randomized runs with the CLI's checks catch it within a bounded number of seeds;
 * - a scripted schedule turns it into an end-to-end safety failure even with
 *   the rule checks off, while the same schedule is safe on the correct core.
 */
import { describe, expect, test } from "bun:test";
import type { PlantedBug } from "../../src/raft/types.ts";
import { doubleVoteAfterCrash, leaseReadOnDeposedLeader, twoChangesDisjointMajorities } from "./bug-scripts.ts";
import { runFigure8 } from "./figure8-script.ts";
import { forwardedReadChaos, leaseChaos } from "./lab-scenarios.ts";
import { runSeed } from "./run-seed.ts";
import type { Scenario } from "./scenario.ts";
import { violationOf, type InvariantName } from "./violation.ts";

interface Hunt {
  readonly bug: PlantedBug;
  readonly seeds: number;
  readonly minCaught: number;
  readonly expect: readonly InvariantName[];
  readonly tweak?: (s: Scenario) => Scenario;
  readonly rules?: boolean;
}

const HUNTS: readonly Hunt[] = [
  { bug: "commit-previous-term", seeds: 40, minCaught: 3, expect: ["current-term-commit"] },
  { bug: "vote-before-persist", seeds: 5, minCaught: 5, expect: ["persist-before-send"] },
  {
    bug: "truncate-on-stale-append",
    seeds: 20,
    minCaught: 5,
    rules: false,
    expect: ["log-truncation", "commit-monotonic", "durability-claim", "commit-without-durable-majority", "leader-completeness", "state-machine-safety", "commit-agreement"],
  },
  { bug: "lease-read-without-check-quorum", seeds: 30, minCaught: 3, expect: ["stale-read"], tweak: leaseChaos },
  { bug: "two-membership-changes-at-once", seeds: 60, minCaught: 3, expect: ["single-conf-change"] },
  { bug: "forwarded-read-without-quorum", seeds: 60, minCaught: 3, expect: ["stale-read"], tweak: forwardedReadChaos },
];

test("the real forwarded-read shortcut (requester + leader must be a quorum) survives the scenario that catches the broken one", () => {
  for (let seed = 1; seed <= 60; seed++) expect(runSeed(seed, { tweak: forwardedReadChaos }).violation).toBeNull();
});

describe("planted bugs are caught by randomized runs", () => {
  for (const h of HUNTS) {
    test(`${h.bug}: at least ${h.minCaught} of seeds 1–${h.seeds}${h.rules === false ? " (consequences only)" : ""}`, () => {
      const caught: string[] = [];
      for (let seed = 1; seed <= h.seeds; seed++) {
        const r = runSeed(seed, { bug: h.bug, ...(h.tweak ? { tweak: h.tweak } : {}), ...(h.rules === false ? { checks: { rules: false } } : {}) });
        if (r.violation) {
          expect(h.expect).toContain(r.violation.invariant);
          caught.push(`${seed}:${r.violation.invariant}`);
        }
      }
      expect(caught.length).toBeGreaterThanOrEqual(h.minCaught);
    }, 60_000);
  }
});

describe("planted bugs as end-to-end failures (rule checks off)", () => {
  test("commit-previous-term: Figure 8 — a later leader lacks the entry the old leader counted committed", () => {
    expect(violationOf(() => runFigure8({ checks: { rules: false } }))).toBeNull();
    expect(violationOf(() => runFigure8({ bug: "commit-previous-term", checks: { rules: false } }))?.invariant).toBe("leader-completeness");
  });

  test("vote-before-persist: a crash forgets a sent vote and the voter elects a second leader in the same term", () => {
    expect(doubleVoteAfterCrash({}).leadersOfTerm1.length).toBeLessThanOrEqual(1);
    expect(violationOf(() => doubleVoteAfterCrash({ bug: "vote-before-persist" }))?.invariant).toBe("election-safety");
  });

  test("lease-read-without-check-quorum: a deposed leader serves a lease read older than an acknowledged write", () => {
    expect(leaseReadOnDeposedLeader({}).served).toBe(false);
    expect(violationOf(() => leaseReadOnDeposedLeader({ bug: "lease-read-without-check-quorum" }))?.invariant).toBe("stale-read");
  });

  test("two-membership-changes-at-once: old and new configurations elect disjoint majorities and a committed entry is lost", () => {
    expect(twoChangesDisjointMajorities({}).secondAccepted).toBe(false);
    expect(violationOf(() => twoChangesDisjointMajorities({ bug: "two-membership-changes-at-once" }))?.invariant).toBe("leader-completeness");
  });

  test("truncate-on-stale-append: reordered old appends cut committed suffixes (seen as commit going back)", () => {
    const invariants = new Set<string>();
    for (let seed = 1; seed <= 20; seed++) {
      const r = runSeed(seed, { bug: "truncate-on-stale-append", checks: { rules: false } });
      if (r.violation) invariants.add(r.violation.invariant);
      expect(runSeed(seed, { checks: { rules: false } }).violation).toBeNull();
    }
    expect([...invariants]).toContain("commit-monotonic");
  }, 60_000);
});
