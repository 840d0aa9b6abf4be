/**
 * Log replication scenarios after 6.824 lab 2B and 2D: a partitioned leader
 * rejoining, fast backup over 50 divergent entries, snapshot installation
 * after a disconnect or a crash.
 */
import { describe, expect, test } from "bun:test";
import { Harness } from "./harness.ts";
import type { SimNode } from "./sim-node.ts";

describe("partitioned leader rejoining (6.824 TestRejoin2B)", () => {
  test("the old leader's uncommitted entries are replaced and every acknowledged write survives", () => {
    const h = new Harness({ voters: 3, seed: 11 });
    const l1 = h.waitLeader();
    h.write();
    const heal1 = h.isolate(l1.id);
    const rogue = [h.propose(l1), h.propose(l1), h.propose(l1)];
    expect(rogue.every((p) => p !== null)).toBe(true);
    const l2 = h.waitLeader(3000, h.ids.filter((x) => x !== l1.id));
    const l2Term = l2.term;
    const w2 = h.write();
    // l2 now cut off; l1 comes back and must learn it is no longer leader.
    heal1();
    const heal2 = h.isolate(l2.id);
    const l3 = h.waitLeader(3000, h.ids.filter((x) => x !== l2.id));
    const w3 = h.write();
    heal2();
    h.waitApplied(w3);
    // Every node holds the new leaders' entries where l1 had put its own.
    for (const p of rogue) for (const n of h.c.nodes.values()) expect(n.mirror.term(p!.index)).not.toBe(p!.term);
    expect(l1.isLeader).toBe(false);
    expect(h.c.checker.isAcked(w2)).toBe(true);
    expect(l3.term).toBeGreaterThan(l2Term);
  });
});

describe("fast backup (6.824 TestBackup2B)", () => {
  test("a leader brings back followers whose logs diverge by 50 entries in a few round trips", () => {
    const h = new Harness({ voters: 5, seed: 12, core: { maxMsgBytes: 1 << 20 } });
    const l1 = h.waitLeader();
    h.write();
    const f1 = h.ids.find((x) => x !== l1.id)!;
    const others = h.ids.filter((x) => x !== l1.id && x !== f1);
    // l1 and f1 take 50 entries that never commit.
    const healA = h.split([l1.id, f1], others);
    for (let i = 0; i < 50; i++) expect(h.propose(l1)).not.toBeNull();
    h.run(20);
    // The other three elect a leader and commit 50 entries.
    const l2 = h.waitLeader(3000, others);
    let last = 0;
    for (let i = 0; i < 50; i++) last = h.write();
    // l2 and one more are cut off and take 50 uncommitted entries of their own.
    const o2 = others.find((x) => x !== l2.id)!;
    const rejectsBefore = h.c.stats.appendRejects;
    healA();
    const healB = h.split([l2.id, o2], h.ids.filter((x) => x !== l2.id && x !== o2));
    for (let i = 0; i < 50; i++) h.propose(l2);
    h.run(20);
    // l1, f1 and the third node form the new majority; l1/f1 must be repaired first.
    const l3 = h.waitLeader(3000, h.ids.filter((x) => x !== l2.id && x !== o2));
    for (let i = 0; i < 50; i++) last = h.write();
    healB();
    h.waitApplied(last);
    const rejects = h.c.stats.appendRejects - rejectsBefore;
    // Entry-by-entry backtracking would need ~50 rejections per divergent follower; term hints skip whole terms.
    expect(rejects).toBeLessThanOrEqual(8);
    expect(l3.commit).toBeGreaterThanOrEqual(last);
  });
});

describe("snapshots (6.824 lab 2D)", () => {
  function snapshotCatchUp(crash: boolean): { h: Harness; lagger: SimNode; sentBefore: number; last: number } {
    const h = new Harness({ voters: 3, seed: 13, compactEvery: 10, compactKeep: 0 });
    const l = h.waitLeader();
    h.write();
    const lagger = h.node(h.ids.find((x) => x !== l.id)!);
    const heal = h.isolate(lagger.id);
    if (crash) h.crash(lagger.id);
    let last = 0;
    for (let i = 0; i < 80; i++) last = h.write();
    // The leader compacted past everything the lagger has.
    expect(l.disk.log.snapIndex).toBeGreaterThan(lagger.disk.log.lastIndex);
    const sentBefore = h.c.stats.snapshotsSent;
    heal();
    if (crash) h.restart(lagger.id);
    h.waitApplied(last);
    return { h, lagger, sentBefore, last };
  }

  test("a follower that missed compacted entries is brought back by a snapshot", () => {
    const { h, lagger, sentBefore, last } = snapshotCatchUp(false);
    expect(h.c.stats.snapshotsSent).toBeGreaterThan(sentBefore);
    expect(lagger.disk.log.snapIndex).toBeGreaterThan(0);
    expect(lagger.applied).toBeGreaterThanOrEqual(last);
  });

  test("the same after the follower crashed and restarted meanwhile", () => {
    const { h, lagger, sentBefore, last } = snapshotCatchUp(true);
    expect(h.c.stats.snapshotsSent).toBeGreaterThan(sentBefore);
    expect(lagger.applied).toBeGreaterThanOrEqual(last);
    // And it survives another crash with the installed snapshot as its base.
    h.crash(lagger.id);
    h.restart(lagger.id);
    h.waitApplied(h.write());
  });
});
