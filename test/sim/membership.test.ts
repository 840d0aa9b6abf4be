/**
 * Membership changes in the simulator: a learner that replicates but never
 * counts, promotion, removing the leader itself, and churn of concurrent
 * clients while servers come and go (6.824 2C churn).
 */
import { describe, expect, test } from "bun:test";
import { Harness } from "./harness.ts";
import { churn } from "./lab-scenarios.ts";
import { runSeed } from "./run-seed.ts";

describe("membership", () => {
  test("add a learner, let it catch up, promote it, then remove the leader itself", () => {
    const h = new Harness({ voters: 3, seed: 31 });
    let l = h.waitLeader();
    for (let i = 0; i < 20; i++) h.write();
    const n4 = h.c.addNode({ id: "n4", region: "A" });
    expect(l.proposeConfChange({ op: "add-learner", member: { id: "n4", region: "A" } })).toMatchObject({ ok: true });
    h.waitFor(() => n4.applied >= l.commit && l.commit > 20, 2000, "the learner to catch up");
    // A learner never counts: with two voters cut off, nothing commits although the learner has everything.
    const others = h.ids.filter((i) => i !== l.id && i !== "n4");
    const heal = h.split([l.id, "n4"], others);
    const p = h.propose(l)!;
    h.run(50);
    expect(l.commit).toBeLessThan(p.index);
    expect(n4.mirror.lastIndex).toBeGreaterThanOrEqual(p.index);
    heal();
    l = h.waitLeader();
    h.waitFor(() => l.proposeConfChange({ op: "promote", id: "n4" })?.ok === true, 1000, "the promotion to be accepted", 10);
    h.waitApplied(h.write());
    expect(l.status().membership.members.find((m) => m.id === "n4")?.role).toBe("voter");
    // The leader removes itself: it steps down once the removal commits; the rest elect a leader.
    const old = l;
    h.waitFor(() => old.proposeConfChange({ op: "remove", id: old.id })?.ok === true, 1000, "the removal to be accepted", 10);
    h.waitFor(() => !old.isLeader, 1000, "the removed leader to step down");
    const l2 = h.waitLeader(3000, h.ids.filter((i) => i !== old.id));
    expect(l2.status().membership.members.some((m) => m.id === old.id)).toBe(false);
    h.waitApplied(h.write(), h.ids.filter((i) => i !== old.id));
  });

  test("a second change is refused while one is pending", () => {
    const h = new Harness({ voters: 3, seed: 32 });
    const l = h.waitLeader();
    h.c.addNode({ id: "n4", region: "A" });
    h.c.addNode({ id: "n5", region: "A" });
    expect(l.proposeConfChange({ op: "add-learner", member: { id: "n4", region: "A" } })).toMatchObject({ ok: true });
    expect(l.proposeConfChange({ op: "add-learner", member: { id: "n5", region: "A" } })).toMatchObject({ ok: false, reason: "conf-change-pending" });
  });
});

describe("churn with concurrent clients (6.824 TestUnreliableChurn2C)", () => {
  test("servers crash, restart, are cut off, added and removed under heavy load: 25 seeds stay safe and converge", () => {
    const failures: string[] = [];
    let acked = 0;
    let crashes = 0;
    let confChanges = 0;
    for (let seed = 7000; seed < 7025; seed++) {
      const r = runSeed(seed, { tweak: churn });
      acked += r.stats.acked;
      crashes += r.stats.crashes;
      confChanges += r.stats.confChanges;
      if (r.violation) failures.push(`seed ${seed}: ${r.violation.message}`);
    }
    expect(failures).toEqual([]);
    expect(acked).toBeGreaterThan(25 * 100);
    expect(crashes).toBeGreaterThan(25 * 5);
    expect(confChanges).toBeGreaterThan(25);
  }, 60_000);
});
