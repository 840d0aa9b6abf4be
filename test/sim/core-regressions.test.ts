/**
 * Core bugs the simulator found, pinned as scripted scenarios (the seeds that
 * found them drew different scenarios once the generator changed).
 */
import { describe, expect, test } from "bun:test";
import { Harness } from "./harness.ts";

describe("core regressions found by the simulator", () => {
  test("a stale candidate in the preferred region cannot keep the others from ever campaigning (rejected votes do not reset election timers)", () => {
    // n1 is the only preferred-region voter, so n2 and n3 wait an extra election timeout; no pre-vote.
    const h = new Harness({
      voters: [
        { id: "n1", region: "B" },
        { id: "n2", region: "A" },
        { id: "n3", region: "A" },
      ],
      seed: 41,
      core: { preVote: false, checkQuorum: true, preferredRegion: "B", nonPreferredElectionPenalty: 1 },
    });
    const healN1 = h.isolate("n1");
    const l = h.waitLeader(3000, ["n2", "n3"]);
    const firstTerm = l.term;
    for (let i = 0; i < 10; i++) h.write();
    // The leader dies as n1 (behind, campaigning every 100–190 ms with bumped terms) comes back.
    h.crash(l.id);
    healN1();
    h.run(50);
    h.restart(l.id);
    const l2 = h.waitLeader(3000, ["n2", "n3"]);
    h.waitApplied(h.write());
    expect(l2.term).toBeGreaterThan(firstTerm);
  });

  test("a leader removing itself still counts its own region for remote-region durability", () => {
    const h = new Harness({
      voters: [
        { id: "n1", region: "A" },
        { id: "n2", region: "A" },
        { id: "n3", region: "A" },
        { id: "n4", region: "B" },
      ],
      seed: 42,
    });
    const l = h.elect("n1");
    h.write();
    // Nothing reaches region B from here on.
    h.c.net.both("n1", "n4");
    h.c.net.both("n2", "n4");
    h.c.net.both("n3", "n4");
    // Writes committed in region A alone are not remote-region durable.
    for (let i = 0; i < 3; i++) h.write();
    const before = l.durableIndex("remote-region");
    expect(before).toBeLessThan(l.commit);
    expect(l.proposeConfChange({ op: "remove", id: "n1" })).toMatchObject({ ok: true });
    h.propose(l);
    // While n1 still leads (until its removal commits), nothing new may count as held in another region.
    let claimed = before;
    h.waitFor(
      () => {
        if (l.isLeader) claimed = Math.max(claimed, l.durableIndex("remote-region"));
        return !l.isLeader;
      },
      1000,
      "the removal to commit and n1 to step down",
      0.1,
    );
    expect(claimed).toBe(before);
  });

  test("a candidate does not lead before its term is durable, so a crash cannot make it lead the same term twice", () => {
    const h = new Harness({ voters: 3, seed: 43, core: { preVote: false, checkQuorum: false }, checks: { rules: false } });
    const n3 = h.node("n3");
    // n3's disk is slow: the votes of n1 and n2 arrive long before its own term is written.
    n3.disk.slowUntil = Number.POSITIVE_INFINITY;
    n3.disk.slowExtraMs = 200;
    n3.campaign();
    let ledBeforeDurable = false;
    h.c.runUntilTrue(() => {
      if (n3.isLeader && n3.disk.hardState.term < n3.term) ledBeforeDurable = true;
      return n3.isLeader;
    }, h.now + 10, 0.05);
    expect(ledBeforeDurable).toBe(false);
    // Crash before the write lands; after the restart n3 campaigns again (election-safety would fire on a second reign).
    h.crash("n3");
    n3.disk.slowUntil = 0;
    h.restart("n3");
    n3.campaign();
    h.run(200);
    h.waitApplied(h.write());
  });
});
