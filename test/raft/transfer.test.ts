import { describe, expect, test } from "bun:test";
import { TestCluster, text } from "./test-cluster.ts";

describe("leadership transfer (thesis §3.10)", () => {
  test("the target gets TimeoutNow, skips pre-vote, overrides the voters' lease and wins", () => {
    const c = new TestCluster(["a", "b", "c"]);
    c.elect("a");
    expect(c.raft("a").transferLeadership("b")).toBe(true);
    c.flush();
    expect(c.network.filter((m) => m.type === "timeout-now").map((m) => m.to)).toEqual(["b"]);
    c.deliverWhere((m) => m.type === "timeout-now");
    expect(c.raft("b").status().role).toBe("candidate");
    const votes = c.network.filter((m) => m.type === "vote");
    expect(votes.every((m) => m.type === "vote" && !m.pre && m.transfer)).toBe(true);
    c.stabilize();
    expect(c.leaders()).toEqual(["b"]);
    expect(c.raft("b").status().term).toBe(2);
    expect(c.raft("a").status().leader).toBe("b");
  });

  test("the leader refuses proposals and reads while transferring", () => {
    const c = new TestCluster(["a", "b", "c"]);
    c.elect("a");
    c.isolate("b");
    c.raft("a").transferLeadership("b");
    expect(c.raft("a").status().leadTransferee).toBe("b");
    expect(c.raft("a").propose(text("x"))).toEqual({ ok: false, reason: "transferring", leader: "a" });
    c.raft("a").readIndex("r1");
    expect(c.raft("a").ready().readStates).toEqual([{ ctx: "r1", ok: false, reason: "transferring" }]);
  });

  test("a lagging target is caught up first, then gets TimeoutNow", () => {
    const c = new TestCluster(["a", "b", "c"]);
    c.elect("a");
    c.isolate("b");
    for (let i = 0; i < 5; i++) c.propose("a", `e${i}`);
    c.stabilize();
    c.heal();
    c.raft("a").transferLeadership("b");
    c.flush();
    expect(c.network.some((m) => m.type === "timeout-now")).toBe(false);
    c.stabilize();
    expect(c.leaders()).toEqual(["b"]);
    expect(c.appliedTexts("b")).toEqual(["e0", "e1", "e2", "e3", "e4"]);
  });

  test("an unreachable target: the transfer is abandoned after an election timeout", () => {
    const c = new TestCluster(["a", "b", "c"]);
    c.elect("a");
    c.isolate("b");
    c.raft("a").transferLeadership("b");
    c.tick("a", 9);
    expect(c.raft("a").status().leadTransferee).toBe("b");
    c.tick("a", 1);
    expect(c.raft("a").status().leadTransferee).toBeNull();
    expect(c.raft("a").propose(text("x")).ok).toBe(true);
  });

  test("transfers to itself, learners and strangers are refused; followers cannot transfer", () => {
    const c = new TestCluster(["a", "b", "l"], { learners: ["l"] });
    c.elect("a");
    expect(c.raft("a").transferLeadership("a")).toBe(false);
    expect(c.raft("a").transferLeadership("l")).toBe(false);
    expect(c.raft("a").transferLeadership("zz")).toBe(false);
    expect(c.raft("b").transferLeadership("b")).toBe(false);
  });

  test("a transfer target outside the preferred region is not delayed by the penalty", () => {
    const c = new TestCluster(["a", "b", "c"], {
      regions: { a: "ams", b: "ams", c: "iad" },
      config: { preferredRegion: "ams", nonPreferredElectionPenalty: 3 },
    });
    c.elect("a");
    c.raft("a").transferLeadership("c");
    c.stabilize();
    expect(c.leaders()).toEqual(["c"]);
  });

  test("transfer back to the preferred region once it is caught up", () => {
    const c = new TestCluster(["a", "b", "c"], {
      regions: { a: "ams", b: "ams", c: "iad" },
      config: { preferredRegion: "ams", nonPreferredElectionPenalty: 1 },
    });
    c.elect("c");
    c.propose("c", "w");
    c.stabilize();
    const target = c.raft("c").status().progress?.find((p) => p.region === "ams" && p.match === c.raft("c").status().lastIndex);
    expect(target).toBeDefined();
    c.raft("c").transferLeadership(target?.id ?? "");
    c.stabilize();
    expect(c.leaders()).toEqual([target?.id ?? ""]);
  });
});
