import { describe, expect, test } from "bun:test";
import { indexHeldBy, quorumSize, voteOutcome } from "../../src/raft/quorum.ts";
import type { Member } from "../../src/raft/types.ts";
import { TestCluster } from "./test-cluster.ts";

const v = (id: string, region: string): Member => ({ id, role: "voter", region });

describe("indexHeldBy", () => {
  const voters = [v("a", "ams"), v("b", "ams"), v("c", "iad")];
  const at = (m: Record<string, number>) => (id: string) => m[id] ?? 0;

  test("majority is the fastest majority, whoever it is", () => {
    expect(indexHeldBy(voters, at({ a: 5, b: 9, c: 1 }), "majority", "ams")).toBe(5);
    expect(indexHeldBy(voters, at({ a: 1, b: 3, c: 7 }), "majority", "ams")).toBe(3);
    expect(indexHeldBy([...voters, v("d", "iad")], at({ a: 4, b: 4, c: 4, d: 0 }), "majority", "ams")).toBe(4);
    expect(indexHeldBy([...voters, v("d", "iad")], at({ a: 4, b: 4, c: 0, d: 0 }), "majority", "ams")).toBe(0);
  });

  test("all is the slowest voter", () => {
    expect(indexHeldBy(voters, at({ a: 5, b: 9, c: 2 }), "all", "ams")).toBe(2);
  });

  test("remote-region needs a majority and a voter outside the leader's region", () => {
    expect(indexHeldBy(voters, at({ a: 9, b: 9, c: 2 }), "remote-region", "ams")).toBe(2);
    expect(indexHeldBy(voters, at({ a: 9, b: 1, c: 7 }), "remote-region", "ams")).toBe(7);
    expect(indexHeldBy(voters, at({ a: 9, b: 3, c: 7 }), "remote-region", "ams")).toBe(7);
    // A majority bounds it even when the remote voter is ahead.
    expect(indexHeldBy(voters, at({ a: 2, b: 1, c: 9 }), "remote-region", "ams")).toBe(2);
  });

  test("remote-region with no voter elsewhere degrades to all voters", () => {
    const local = [v("a", "ams"), v("b", "ams"), v("c", "ams")];
    expect(indexHeldBy(local, at({ a: 9, b: 8, c: 3 }), "remote-region", "ams")).toBe(3);
  });

  test("empty voter sets hold nothing; quorum sizes", () => {
    expect(indexHeldBy([], () => 5, "majority", "ams")).toBe(0);
    expect([1, 2, 3, 4, 5].map(quorumSize)).toEqual([1, 2, 2, 3, 3]);
  });

  test("vote outcomes", () => {
    const g = (m: Record<string, boolean>) => new Map(Object.entries(m));
    expect(voteOutcome(voters, g({ a: true }))).toBe("pending");
    expect(voteOutcome(voters, g({ a: true, b: true }))).toBe("won");
    expect(voteOutcome(voters, g({ a: true, b: false, c: false }))).toBe("lost");
    expect(voteOutcome(voters, g({ a: true, b: false }))).toBe("pending");
    // Votes from non-voters (learners, strangers) never count.
    expect(voteOutcome(voters, g({ a: true, x: true, y: true }))).toBe("pending");
  });
});

describe("durableIndex on the leader", () => {
  function geoCluster(): TestCluster {
    const c = new TestCluster(["a", "b", "c"], { regions: { a: "ams", b: "ams", c: "iad" } });
    c.elect("a");
    return c;
  }

  test("majority equals the commit index; remote-region waits for the other region; all waits for everyone", () => {
    const c = geoCluster();
    c.node("c").holdPersist = true;
    const p = c.propose("a", "x");
    c.stabilize();
    const idx = p.ok ? p.index : -1;
    const a = c.raft("a");
    expect(a.durableIndex("majority")).toBe(idx);
    expect(a.durableIndex("remote-region")).toBe(idx - 1);
    expect(a.durableIndex("all")).toBe(idx - 1);
    c.release("c");
    c.stabilize();
    expect(a.durableIndex("remote-region")).toBe(idx);
    expect(a.durableIndex("all")).toBe(idx);
  });

  test("the leader's own durability counts only after persisted()", () => {
    const c = geoCluster();
    c.node("a").holdPersist = true;
    const p = c.propose("a", "x");
    c.stabilize();
    const idx = p.ok ? p.index : -1;
    const a = c.raft("a");
    expect(a.durableIndex("majority")).toBe(idx);
    expect(a.durableIndex("all")).toBe(idx - 1);
    c.release("a");
    expect(a.durableIndex("all")).toBe(idx);
  });

  test("never above the commit index (an earlier-term entry held everywhere is not yet safe)", () => {
    const c = geoCluster();
    c.node("a").holdPersist = true;
    c.node("b").holdPersist = true;
    c.node("c").holdPersist = true;
    c.propose("a", "x");
    c.stabilize();
    expect(c.raft("a").durableIndex("all")).toBe(1);
  });

  test("zero on followers; learners are not part of all", () => {
    const c = new TestCluster(["a", "b", "l"], { learners: ["l"] });
    c.elect("a");
    c.isolate("l");
    c.propose("a", "x");
    c.stabilize();
    expect(c.raft("b").durableIndex("majority")).toBe(0);
    expect(c.raft("a").durableIndex("all")).toBe(2);
  });
});
