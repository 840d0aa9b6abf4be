import { describe, expect, test } from "bun:test";
import { TestCluster } from "./test-cluster.ts";

describe("pre-vote (thesis §9.6)", () => {
  test("a partitioned node does not inflate its term and cannot disrupt the leader when it rejoins", () => {
    const c = new TestCluster(["a", "b", "c"]);
    c.elect("a");
    const term = c.raft("a").status().term;
    c.isolate("c");
    for (let i = 0; i < 100; i++) {
      c.tickAll();
      c.stabilize();
    }
    expect(c.raft("c").status().term).toBe(term);
    expect(c.raft("c").status().role).toBe("pre-candidate");
    c.heal();
    for (let i = 0; i < 5; i++) {
      c.tickAll();
      c.stabilize();
    }
    expect(c.raft("a").status().role).toBe("leader");
    expect(c.raft("a").status().term).toBe(term);
    expect(c.raft("c").status().leader).toBe("a");
  });

  test("a pre-candidate forgets its leader", () => {
    const c = new TestCluster(["a", "b", "c"]);
    c.elect("a");
    expect(c.raft("b").status().leader).toBe("a");
    c.isolate("b");
    c.tick("b", 30);
    expect(c.raft("b").status().role).toBe("pre-candidate");
    expect(c.raft("b").status().leader).toBeNull();
  });

  test("pre-vote request uses term+1 but changes neither side's term or vote", () => {
    const c = new TestCluster(["a", "b", "c"], { config: { checkQuorum: false } });
    c.raft("a").campaign();
    c.flush();
    const votes = c.network.filter((m) => m.type === "vote");
    expect(votes).toHaveLength(2);
    for (const v of votes) {
      expect(v.type === "vote" && v.pre).toBe(true);
      expect(v.term).toBe(1);
    }
    expect(c.raft("a").status().term).toBe(0);
    c.deliverWhere((m) => m.type === "vote");
    expect(c.raft("b").status().term).toBe(0);
    expect(c.raft("b").status().vote).toBeNull();
    // Pre-vote grants do not depend on durable state: they go out at once.
    expect(c.network.filter((m) => m.type === "vote-resp" && m.pre && m.granted)).toHaveLength(2);
  });

  test("granting a pre-vote does not reset the election timer", () => {
    const c = new TestCluster(["a", "b", "c"], { config: { checkQuorum: false, random: () => 0 } });
    c.tick("b", 9); // one tick before b's timeout
    c.raft("a").campaign();
    c.flush();
    c.deliverWhere((m) => m.type === "vote" && m.to === "b");
    c.tick("b", 1);
    expect(c.raft("b").status().role).toBe("pre-candidate");
  });

  test("granting a real vote resets the election timer", () => {
    const c = new TestCluster(["a", "b", "c"], { config: { checkQuorum: false, preVote: false, random: () => 0 } });
    c.tick("b", 9);
    c.raft("a").campaign();
    c.flush();
    c.deliverWhere((m) => m.type === "vote" && m.to === "b");
    c.tick("b", 1);
    expect(c.raft("b").status().role).toBe("follower");
  });

  test("a rejected pre-vote carrying a higher term moves the pre-candidate to that term as a follower", () => {
    const c = new TestCluster(["a", "b", "c"], { config: { checkQuorum: false } });
    const a = c.raft("a");
    a.campaign();
    a.step({ type: "vote-resp", from: "b", to: "a", term: 5, pre: true, granted: false });
    expect(a.status().role).toBe("follower");
    expect(a.status().term).toBe(5);
  });

  test("a pre-candidate that wins the pre-vote becomes a candidate at term+1", () => {
    const c = new TestCluster(["a", "b", "c"]);
    c.raft("a").campaign();
    c.flush();
    c.deliverWhere((m) => m.type === "vote" && m.to === "b");
    c.deliverWhere((m) => m.type === "vote-resp" && m.to === "a");
    expect(c.raft("a").status().role).toBe("candidate");
    expect(c.raft("a").status().term).toBe(1);
  });

  test("a stale pre-vote request gets a rejection with the current term", () => {
    const c = new TestCluster(["a", "b", "c"]);
    c.elect("a");
    const b = c.raft("b");
    b.step({ type: "vote", from: "c", to: "b", term: 0, pre: true, lastIndex: 9, lastTerm: 9, transfer: false });
    const rd = b.ready();
    expect(rd.messages).toEqual([{ type: "vote-resp", from: "b", to: "c", term: 1, pre: true, granted: false }]);
  });
});

describe("check-quorum (thesis §6.2) and leader leases on voters", () => {
  test("a leader that cannot hear from a quorum steps down after an election timeout", () => {
    const c = new TestCluster(["a", "b", "c"]);
    c.elect("a");
    c.isolate("a");
    for (let i = 0; i < 9; i++) c.tick("a");
    expect(c.raft("a").status().role).toBe("leader");
    for (let i = 0; i < 11; i++) c.tick("a");
    expect(c.raft("a").status().role).toBe("follower");
  });

  test("without check-quorum an isolated leader stays leader", () => {
    const c = new TestCluster(["a", "b", "c"], { config: { checkQuorum: false } });
    c.elect("a");
    c.isolate("a");
    c.tick("a", 50);
    expect(c.raft("a").status().role).toBe("leader");
  });

  test("voters that heard from the leader recently ignore higher-term vote requests", () => {
    const c = new TestCluster(["a", "b", "c"], { config: { preVote: false } });
    c.elect("a");
    const b = c.raft("b");
    b.step({ type: "vote", from: "c", to: "b", term: 2, pre: false, lastIndex: 99, lastTerm: 1, transfer: false });
    expect(b.status().term).toBe(1);
    expect(b.hasReady()).toBe(false);
    // The transfer flag (TimeoutNow) overrides the lease.
    b.step({ type: "vote", from: "c", to: "b", term: 2, pre: false, lastIndex: 99, lastTerm: 1, transfer: true });
    expect(b.status().term).toBe(2);
    expect(b.status().vote).toBe("c");
  });

  test("once the election timeout passes without the leader, the same vote is granted", () => {
    const c = new TestCluster(["a", "b", "c"], { config: { preVote: false, random: () => 0.99 } });
    c.elect("a");
    const b = c.raft("b");
    c.tick("b", 10);
    b.step({ type: "vote", from: "c", to: "b", term: 2, pre: false, lastIndex: 99, lastTerm: 1, transfer: false });
    expect(b.status().vote).toBe("c");
  });

  test("a restarted voter waits an election timeout before granting votes (its lease promise may still run)", () => {
    const c = new TestCluster(["a", "b", "c"], { config: { preVote: false } });
    c.elect("a");
    c.crash("b");
    c.restart("b");
    const b = c.raft("b");
    const req = { type: "vote", from: "c", to: "b", term: 2, pre: false, lastIndex: 99, lastTerm: 1, transfer: false } as const;
    b.step(req);
    expect(b.status().term).toBe(1);
    expect(b.status().vote).toBe("a");
    c.tick("b", 10);
    b.step(req);
    expect(b.status().vote).toBe("c");
  });

  test("a deposed leader in a minority learns the new term from the stale-term reply", () => {
    const c = new TestCluster(["a", "b", "c"]);
    c.elect("a");
    c.isolate("a");
    for (let i = 0; i < 200 && c.leaders().filter((id) => id !== "a").length === 0; i++) {
      c.tick("b");
      c.tick("c");
      c.stabilize();
    }
    const leader = c.leaders().filter((id) => id !== "a");
    expect(leader).toHaveLength(1);
    c.heal();
    c.tick("a");
    c.stabilize();
    expect(c.raft("a").status().role).toBe("follower");
    expect(c.raft("a").status().term).toBe(c.raft(leader[0]).status().term);
  });
});
