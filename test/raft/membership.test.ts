import { describe, expect, test } from "bun:test";
import { applyConfChange, rejectConfChange } from "../../src/raft/membership.ts";
import type { Member, Membership } from "../../src/raft/types.ts";
import { TestCluster } from "./test-cluster.ts";

const ams = (id: string) => ({ id, region: "ams" });
const ids = (m: Membership) => m.members.map((x) => `${x.id}:${x.role}`).sort();

describe("membership values", () => {
  const base: Membership = { members: [{ id: "a", role: "voter", region: "ams" }] };

  test("changes apply deterministically", () => {
    let m = applyConfChange(base, { op: "add-learner", member: ams("b") });
    expect(ids(m)).toEqual(["a:voter", "b:learner"]);
    m = applyConfChange(m, { op: "promote", id: "b" });
    expect(ids(m)).toEqual(["a:voter", "b:voter"]);
    m = applyConfChange(m, { op: "remove", id: "a" });
    expect(ids(m)).toEqual(["b:voter"]);
    // A learner add for an existing voter never demotes it.
    expect(ids(applyConfChange(m, { op: "add-learner", member: ams("b") }))).toEqual(["b:voter"]);
  });

  test("the leader refuses changes that make no sense", () => {
    expect(rejectConfChange(base, { op: "add-voter", member: ams("a") })).not.toBeNull();
    expect(rejectConfChange(base, { op: "promote", id: "a" })).not.toBeNull();
    expect(rejectConfChange(base, { op: "remove", id: "zz" })).not.toBeNull();
    expect(rejectConfChange(base, { op: "remove", id: "a" })).toBe("cannot remove the last voter");
    expect(rejectConfChange(base, { op: "add-voter", member: ams("b") })).toBeNull();
  });
});

describe("membership changes through the log", () => {
  test("add a learner, let it catch up, promote it: it then counts toward commit", () => {
    const c = new TestCluster(["a", "b"]);
    c.elect("a");
    c.propose("a", "1");
    c.stabilize();
    const all: Member[] = [
      { id: "a", role: "voter", region: "ams" },
      { id: "b", role: "voter", region: "ams" },
    ];
    c.addNode("d", all);
    expect(c.raft("a").proposeConfChange({ op: "add-learner", member: ams("d") }).ok).toBe(true);
    c.stabilize();
    expect(c.appliedTexts("d")).toEqual(["1"]);
    expect(ids(c.raft("d").status().membership)).toEqual(["a:voter", "b:voter", "d:learner"]);
    // A learner does not count: with b gone, nothing commits.
    c.isolate("b");
    c.propose("a", "2");
    c.stabilize();
    expect(c.appliedTexts("a")).toEqual(["1"]);
    c.heal();
    c.tickAll();
    c.stabilize();
    expect(c.raft("a").proposeConfChange({ op: "promote", id: "d" }).ok).toBe(true);
    c.stabilize();
    // Now a + d are a majority of three.
    c.isolate("b");
    c.propose("a", "3");
    c.stabilize();
    expect(c.appliedTexts("a")).toEqual(["1", "2", "3"]);
    expect(c.appliedTexts("d")).toEqual(["1", "2", "3"]);
  });

  test("a configuration takes effect when appended, before it commits (thesis §4.1)", () => {
    const c = new TestCluster(["a", "b", "c"]);
    c.elect("a");
    c.isolate("b");
    c.isolate("c");
    const r = c.raft("a").proposeConfChange({ op: "remove", id: "c" });
    expect(r.ok).toBe(true);
    expect(c.raft("a").status().commit).toBeLessThan(r.ok ? r.index : 0);
    expect(ids(c.raft("a").status().membership)).toEqual(["a:voter", "b:voter"]);
    expect(c.raft("a").status().progress?.map((p) => p.id).sort()).toEqual(["a", "b"]);
  });

  test("only one change may be pending", () => {
    const c = new TestCluster(["a", "b", "c"]);
    c.elect("a");
    c.isolate("b");
    c.isolate("c");
    expect(c.raft("a").proposeConfChange({ op: "add-learner", member: ams("d") }).ok).toBe(true);
    expect(c.raft("a").proposeConfChange({ op: "add-learner", member: ams("e") })).toEqual({
      ok: false,
      reason: "conf-change-pending",
      leader: "a",
    });
    c.heal();
    c.tickAll();
    c.stabilize();
    expect(c.raft("a").proposeConfChange({ op: "add-learner", member: ams("e") }).ok).toBe(true);
  });

  test("planted bug two-membership-changes-at-once lets a second change in", () => {
    const c = new TestCluster(["a", "b", "c"], { config: { plantedBug: "two-membership-changes-at-once" } });
    c.elect("a");
    c.isolate("b");
    c.isolate("c");
    expect(c.raft("a").proposeConfChange({ op: "add-voter", member: ams("d") }).ok).toBe(true);
    expect(c.raft("a").proposeConfChange({ op: "add-voter", member: ams("e") }).ok).toBe(true);
  });

  test("a new leader may not change membership until an entry of its term commits", () => {
    const c = new TestCluster(["a", "b", "c"]);
    c.electOnly("a");
    expect(c.raft("a").proposeConfChange({ op: "add-learner", member: ams("d") })).toMatchObject({
      ok: false,
      reason: "conf-change-pending",
    });
    c.stabilize();
    expect(c.raft("a").proposeConfChange({ op: "add-learner", member: ams("d") }).ok).toBe(true);
  });

  test("invalid changes are refused", () => {
    const c = new TestCluster(["a", "b", "c"]);
    c.elect("a");
    expect(c.raft("a").proposeConfChange({ op: "promote", id: "b" })).toMatchObject({
      ok: false,
      reason: "invalid-conf-change",
    });
  });

  test("a removed leader keeps leading until the removal commits, then steps down; the rest elect a leader", () => {
    const c = new TestCluster(["a", "b", "c"]);
    c.elect("a");
    c.node("b").holdPersist = true;
    c.node("c").holdPersist = true;
    const r = c.raft("a").proposeConfChange({ op: "remove", id: "a" });
    expect(r.ok).toBe(true);
    c.stabilize();
    expect(c.raft("a").status().role).toBe("leader");
    c.release("b");
    c.release("c");
    c.stabilize();
    expect(c.raft("a").status().role).toBe("follower");
    // b and c learned the removal committed before a stepped down.
    expect(c.raft("b").status().commit).toBe(r.ok ? r.index : -1);
    // a no longer campaigns.
    c.tick("a", 100);
    expect(c.raft("a").status().role).toBe("follower");
    for (let i = 0; i < 40 && c.leaders().length === 0; i++) {
      c.tick("b");
      c.tick("c");
      c.stabilize();
    }
    expect(c.leaders().length).toBe(1);
    expect(["b", "c"]).toContain(c.leaders()[0]);
  });

  test("a truncated conf entry reverts the configuration on the follower", () => {
    const c = new TestCluster(["a", "b", "c"]);
    const b = c.raft("b");
    b.step({
      type: "append",
      from: "a",
      to: "b",
      term: 1,
      prevIndex: 0,
      prevTerm: 0,
      commit: 0,
      entries: [
        { type: "noop", term: 1, index: 1 },
        { type: "conf", term: 1, index: 2, change: { op: "remove", id: "c" } },
      ],
    });
    expect(ids(b.status().membership)).toEqual(["a:voter", "b:voter"]);
    b.step({
      type: "append",
      from: "c",
      to: "b",
      term: 2,
      prevIndex: 1,
      prevTerm: 1,
      commit: 0,
      entries: [{ type: "noop", term: 2, index: 2 }],
    });
    expect(ids(b.status().membership)).toEqual(["a:voter", "b:voter", "c:voter"]);
  });
});
