import { describe, expect, test } from "bun:test";
import { Raft } from "../../src/raft/raft.ts";
import { TestCluster, baseConfig } from "./test-cluster.ts";

describe("elections", () => {
  test("a follower campaigns after its randomized timeout and wins; the leader appends a no-op", () => {
    const c = new TestCluster(["a", "b", "c"], { config: { preVote: false } });
    // Everyone starts a follower; tick only a until it campaigns.
    let ticks = 0;
    while (c.raft("a").status().role === "follower") {
      c.tick("a");
      ticks++;
      expect(ticks).toBeLessThan(20);
    }
    expect(ticks).toBeGreaterThanOrEqual(10);
    expect(c.raft("a").status().role).toBe("candidate");
    expect(c.raft("a").status().term).toBe(1);
    c.stabilize();
    const s = c.raft("a").status();
    expect(s.role).toBe("leader");
    expect(s.lastIndex).toBe(1);
    expect(c.node("a").applied.map((e) => e.type)).toEqual(["noop"]);
    for (const id of ["b", "c"]) {
      expect(c.raft(id).status().leader).toBe("a");
      expect(c.node(id).applied.map((e) => e.type)).toEqual(["noop"]);
    }
  });

  test("randomized election timeout is drawn from config.random in [E, 2E)", () => {
    for (const [r, expected] of [
      [0, 10],
      [0.55, 15],
      [0.999, 19],
    ] as const) {
      const c = new TestCluster(["a", "b", "c"], { config: { preVote: false, random: () => r } });
      let ticks = 0;
      while (c.raft("a").status().role === "follower") {
        c.tick("a");
        ticks++;
      }
      expect(ticks).toBe(expected);
    }
  });

  test("single-voter cluster bootstraps with campaign() and commits its own entries after persist", () => {
    const c = new TestCluster(["solo"]);
    c.elect("solo");
    const r = c.propose("solo", "x");
    expect(r.ok).toBe(true);
    c.stabilize();
    expect(c.appliedTexts("solo")).toEqual(["x"]);
  });

  test("a candidate counts its own vote only after it is durable", () => {
    const c = new TestCluster(["solo"], { config: { preVote: false } });
    const n = c.node("solo");
    n.holdPersist = true;
    c.raft("solo").campaign();
    c.stabilize();
    expect(c.raft("solo").status().role).toBe("candidate");
    c.persistHeld("solo");
    c.stabilize();
    expect(c.raft("solo").status().role).toBe("leader");
  });

  test("vote grants leave only after the hard state is durable (messagesAfterPersist)", () => {
    const c = new TestCluster(["a", "b", "c"], { config: { preVote: false } });
    c.raft("a").campaign();
    c.flush();
    const b = c.raft("b");
    for (const m of c.take((m) => m.to === "b")) b.step(m);
    const rd = b.ready();
    expect(rd.messages.filter((m) => m.type === "vote-resp")).toEqual([]);
    const grants = rd.messagesAfterPersist.filter((m) => m.type === "vote-resp");
    expect(grants).toHaveLength(1);
    expect(rd.hardState).toEqual({ term: 1, vote: "a", commit: 0 });
  });

  test("planted bug vote-before-persist: grant sent at once and vote never reaches the disk", () => {
    const c = new TestCluster(["a", "b", "c"], { config: { preVote: false, plantedBug: "vote-before-persist" } });
    c.raft("a").campaign();
    c.flush();
    const b = c.raft("b");
    for (const m of c.take((m) => m.to === "b")) b.step(m);
    const rd = b.ready();
    expect(rd.messages.some((m) => m.type === "vote-resp" && m.granted)).toBe(true);
    expect(rd.hardState?.vote).toBeNull();
  });

  test("each node votes at most once per term, and the vote survives a restart", () => {
    const c = new TestCluster(["a", "b", "c"], { config: { preVote: false, checkQuorum: false } });
    c.raft("a").campaign();
    c.raft("c").campaign();
    c.flush();
    // b sees a's request first, then c's, both for term 1.
    c.deliverWhere((m) => m.to === "b" && m.from === "a");
    c.deliverWhere((m) => m.to === "b" && m.from === "c");
    c.flush();
    const grants = c.sent.filter((m) => m.from === "b" && m.type === "vote-resp" && m.granted);
    expect(grants.map((m) => m.to)).toEqual(["a"]);
    c.crash("b");
    c.restart("b");
    const b = c.raft("b");
    b.step({ type: "vote", from: "c", to: "b", term: 1, pre: false, lastIndex: 0, lastTerm: 0, transfer: false });
    const rd = b.ready();
    expect(rd.messagesAfterPersist).toEqual([
      { type: "vote-resp", from: "b", to: "c", term: 1, pre: false, granted: false },
    ]);
  });

  test("votes are refused to candidates whose log is behind (§5.4.1)", () => {
    const c = new TestCluster(["a", "b", "c"], { config: { checkQuorum: false } });
    c.elect("a");
    c.propose("a", "1");
    c.stabilize();
    // c misses the next entry.
    c.isolate("c");
    c.propose("a", "2");
    c.stabilize();
    c.heal();
    c.crash("a");
    // c campaigns with a shorter log: b refuses.
    c.raft("c").campaign();
    c.stabilize();
    expect(c.raft("c").status().role).not.toBe("leader");
    c.raft("b").campaign();
    c.stabilize();
    expect(c.raft("b").status().role).toBe("leader");
  });

  test("a higher term in a reply deposes a leader", () => {
    const c = new TestCluster(["a", "b", "c"], { config: { preVote: false, checkQuorum: false } });
    c.elect("a");
    const a = c.raft("a");
    a.step({ type: "append-resp", from: "b", to: "a", term: 7, index: 0, reject: true, hintIndex: 0, hintTerm: 0 });
    expect(a.status().role).toBe("follower");
    expect(a.status().term).toBe(7);
    expect(a.propose(new Uint8Array([1]))).toEqual({ ok: false, reason: "not-leader", leader: null });
  });

  test("a rejected higher-term vote request moves the term but does not reset the election timer", () => {
    const c = new TestCluster(["a", "b", "c"], { config: { preVote: false, checkQuorum: false, random: () => 0 } });
    c.elect("a");
    c.propose("a", "x");
    c.stabilize();
    c.tick("b", 9);
    // c's log is behind: b refuses, adopts term 5, and still times out on schedule.
    c.raft("b").step({ type: "vote", from: "c", to: "b", term: 5, pre: false, lastIndex: 1, lastTerm: 1, transfer: false });
    expect(c.raft("b").status().term).toBe(5);
    expect(c.raft("b").status().vote).toBeNull();
    c.tick("b", 1);
    expect(c.raft("b").status().role).toBe("candidate");
  });

  test("learners never campaign", () => {
    const c = new TestCluster(["a", "b", "l"], { learners: ["l"] });
    c.tick("l", 100);
    expect(c.raft("l").status().role).toBe("follower");
    expect(c.network).toEqual([]);
  });

  test("at most one leader per term across many randomized elections", () => {
    for (let seed = 1; seed <= 20; seed++) {
      const c = new TestCluster(["a", "b", "c", "d", "e"], { config: { random: mulberry(seed) } });
      const leadersByTerm = new Map<number, string>();
      for (let step = 0; step < 300; step++) {
        c.tickAll();
        c.stabilize();
        if (step % 50 === 25) c.isolate(["a", "b", "c", "d", "e"][seed % 5]);
        if (step % 50 === 45) c.heal();
        for (const id of c.leaders()) {
          const t = c.raft(id).status().term;
          const prev = leadersByTerm.get(t);
          if (prev !== undefined) expect(prev).toBe(id);
          leadersByTerm.set(t, id);
        }
      }
      expect(leadersByTerm.size).toBeGreaterThan(0);
    }
  });

  test("nodes outside the preferred region wait extra election timeouts", () => {
    const members = { a: "ams", b: "ams", c: "iad" };
    const c = new TestCluster(["a", "b", "c"], {
      regions: members,
      config: { preferredRegion: "ams", nonPreferredElectionPenalty: 2, random: () => 0, preVote: false },
    });
    c.tick("c", 29);
    expect(c.raft("c").status().role).toBe("follower");
    c.tick("c", 1);
    expect(c.raft("c").status().role).toBe("candidate");
    c.tick("a", 10);
    expect(c.raft("a").status().role).toBe("candidate");
  });

  test("the penalty is waived when no voter sits in the preferred region", () => {
    const c = new TestCluster(["a", "b"], {
      regions: { a: "iad", b: "iad" },
      config: { preferredRegion: "ams", nonPreferredElectionPenalty: 2, random: () => 0, preVote: false },
    });
    c.tick("a", 10);
    expect(c.raft("a").status().role).toBe("candidate");
  });

  test("the core is deterministic given the injected random source", () => {
    const run = () => {
      const c = new TestCluster(["a", "b", "c"], { config: { random: mulberry(42) } });
      for (let i = 0; i < 60; i++) {
        c.tickAll();
        c.stabilize();
      }
      return c.sent.map((m) => `${m.type}:${m.from}>${m.to}@${m.term}`).join(",");
    };
    expect(run()).toBe(run());
  });

  test("a fresh Raft with a restored state resumes term, vote and log", () => {
    const r = new Raft(baseConfig("a"), {
      hardState: { term: 3, vote: "b", commit: 2 },
      snapshot: { index: 0, term: 0, membership: { members: [{ id: "a", role: "voter", region: "x" }] } },
      entries: [
        { type: "noop", term: 1, index: 1 },
        { type: "noop", term: 3, index: 2 },
      ],
      applied: 1,
    });
    const s = r.status();
    expect([s.term, s.vote, s.commit, s.lastIndex, s.stableIndex, s.applied]).toEqual([3, "b", 2, 2, 2, 1]);
    const rd = r.ready();
    expect(rd.committed.map((e) => e.index)).toEqual([2]);
    expect(rd.entries).toEqual([]);
    expect(rd.hardState).toBeNull();
  });
});

function mulberry(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
