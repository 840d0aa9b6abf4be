import { describe, expect, test } from "bun:test";
import { TestCluster, seededRandom } from "./test-cluster.ts";

describe("ReadIndex (thesis §6.4)", () => {
  test("refused until the leader's no-op commits", () => {
    const c = new TestCluster(["a", "b", "c"]);
    c.electOnly("a");
    c.raft("a").readIndex("early");
    c.flush();
    expect(c.node("a").readStates).toEqual([{ ctx: "early", ok: false, reason: "not-ready" }]);
  });

  test("confirmed by a heartbeat round answered by a quorum, at the commit index", () => {
    const c = new TestCluster(["a", "b", "c"]);
    c.elect("a");
    c.propose("a", "w");
    c.stabilize();
    c.raft("a").readIndex("r");
    c.flush();
    expect(c.node("a").readStates).toEqual([]);
    const hbs = c.network.filter((m) => m.type === "heartbeat");
    expect(hbs).toHaveLength(2);
    // One answer (plus the leader itself) is a quorum of three.
    c.deliverWhere((m) => m.type === "heartbeat" && m.to === "b");
    c.deliverWhere((m) => m.type === "heartbeat-resp");
    expect(c.node("a").readStates).toEqual([{ ctx: "r", ok: true, index: 2 }]);
  });

  test("reads registered before one Ready share a single heartbeat round", () => {
    const c = new TestCluster(["a", "b", "c"]);
    c.elect("a");
    for (let i = 0; i < 10; i++) c.raft("a").readIndex(`r${i}`);
    c.flush();
    expect(c.network.filter((m) => m.type === "heartbeat")).toHaveLength(2);
    c.stabilize();
    expect(c.node("a").readStates.map((r) => r.ok)).toEqual(Array(10).fill(true));
  });

  test("a heartbeat answer for an older round does not confirm a newer read", () => {
    const c = new TestCluster(["a", "b", "c"]);
    c.elect("a");
    c.tick("a"); // periodic heartbeat round goes out
    c.flush();
    const old = c.take((m) => m.type === "heartbeat");
    c.raft("a").readIndex("r");
    c.flush();
    for (const m of old) c.deliver(m);
    c.deliverWhere((m) => m.type === "heartbeat-resp");
    expect(c.node("a").readStates).toEqual([]);
    c.stabilize();
    expect(c.node("a").readStates).toEqual([{ ctx: "r", ok: true, index: 1 }]);
  });

  test("a leader cut off from the quorum never confirms, and fails the read when it steps down", () => {
    const c = new TestCluster(["a", "b", "c"]);
    c.elect("a");
    c.isolate("a");
    c.raft("a").readIndex("r");
    for (let i = 0; i < 25; i++) {
      c.tick("a");
      c.stabilize();
    }
    expect(c.raft("a").status().role).toBe("follower");
    expect(c.node("a").readStates).toEqual([{ ctx: "r", ok: false, reason: "not-leader" }]);
  });

  test("a follower forwards its read to the leader and gets the leader's commit index", () => {
    const c = new TestCluster(["a", "b", "c"]);
    c.elect("a");
    c.propose("a", "w");
    c.stabilize();
    c.raft("c").readIndex("fr");
    c.flush();
    expect(c.network.map((m) => `${m.type}:${m.from}>${m.to}`)).toEqual(["read-index:c>a"]);
    c.stabilize();
    expect(c.node("c").readStates).toEqual([{ ctx: "fr", ok: true, index: 2 }]);
  });

  test("with three voters the forwarding follower completes the quorum: answered without a heartbeat round", () => {
    const c = new TestCluster(["a", "b", "c"]);
    c.elect("a");
    c.propose("a", "w");
    c.stabilize();
    c.raft("c").readIndex("fr");
    c.flush();
    c.deliverWhere((m) => m.type === "read-index");
    expect(c.network.map((m) => `${m.type}:${m.from}>${m.to}`)).toEqual(["read-index-resp:a>c"]);
  });

  test("with five voters the requester and the leader are not a quorum: a heartbeat round still confirms", () => {
    const c = new TestCluster(["a", "b", "c", "d", "e"]);
    c.elect("a");
    c.stabilize();
    c.raft("c").readIndex("fr");
    c.flush();
    c.deliverWhere((m) => m.type === "read-index");
    expect(c.network.filter((m) => m.type === "read-index-resp")).toEqual([]);
    expect(c.network.filter((m) => m.type === "heartbeat")).toHaveLength(4);
    c.stabilize();
    expect(c.node("c").readStates).toEqual([{ ctx: "fr", ok: true, index: 1 }]);
  });

  test("a follower without a leader fails the read at once; a not-ready leader answers with a reason", () => {
    const c = new TestCluster(["a", "b", "c"]);
    c.raft("b").readIndex("x");
    c.flush();
    expect(c.node("b").readStates).toEqual([{ ctx: "x", ok: false, reason: "no-leader" }]);
    c.elect("a");
    c.raft("b").step({ type: "read-index-resp", from: "a", to: "b", term: 1, ctx: "y", index: -1, reason: "not-ready" });
    c.flush();
    expect(c.node("b").readStates[1]).toEqual({ ctx: "y", ok: false, reason: "not-ready" });
  });

  test("single-voter clusters answer at once", () => {
    const c = new TestCluster(["solo"]);
    c.elect("solo");
    c.raft("solo").readIndex("r");
    c.flush();
    expect(c.node("solo").readStates).toEqual([{ ctx: "r", ok: true, index: 1 }]);
  });
});

describe("lease reads (thesis §6.4.1)", () => {
  test("served at once while a quorum answered within the lease, then fall back to a round", () => {
    const c = new TestCluster(["a", "b", "c"], { config: { electionTicks: 10, leaseDriftTicks: 2 } });
    c.elect("a");
    c.tick("a");
    c.stabilize();
    expect(c.raft("a").status().leaseValid).toBe(true);
    c.raft("a").readIndex("lease", { lease: true });
    c.flush();
    expect(c.node("a").readStates).toEqual([{ ctx: "lease", ok: true, index: 1 }]);
    // Cut off: the lease runs out (10 − 2 ticks after the last answered round went out).
    c.isolate("a");
    c.tick("a", 7);
    expect(c.raft("a").status().leaseValid).toBe(true);
    c.tick("a", 1);
    expect(c.raft("a").status().leaseValid).toBe(false);
    c.raft("a").readIndex("late", { lease: true });
    c.flush();
    expect(c.node("a").readStates).toHaveLength(1);
  });

  test("the lease always ends before another node can be elected", () => {
    for (let seed = 0; seed < 10; seed++) {
      const c = new TestCluster(["a", "b", "c"], {
        perNode: { b: { random: seededRandom(seed * 2 + 1) }, c: { random: seededRandom(seed * 2 + 2) } },
      });
      c.elect("a");
      c.tick("a");
      c.stabilize();
      c.isolate("a");
      for (let i = 0; i < 60; i++) {
        c.tickAll();
        c.stabilize();
        if (c.leaders().some((id) => id !== "a")) {
          expect(c.raft("a").status().leaseValid).toBe(false);
        }
      }
      expect(c.leaders().filter((id) => id !== "a")).toHaveLength(1);
    }
  });

  test("no lease without check-quorum", () => {
    const c = new TestCluster(["a", "b", "c"], { config: { checkQuorum: false } });
    c.elect("a");
    c.tick("a");
    c.stabilize();
    expect(c.raft("a").status().leaseValid).toBe(false);
    c.raft("a").readIndex("r", { lease: true });
    c.flush();
    expect(c.node("a").readStates).toEqual([]);
  });

  test("planted bug lease-read-without-check-quorum serves lease reads from a cut-off leader", () => {
    const c = new TestCluster(["a", "b", "c"], {
      config: { checkQuorum: false, plantedBug: "lease-read-without-check-quorum" },
    });
    c.elect("a");
    c.isolate("a");
    c.tick("a", 100);
    c.raft("a").readIndex("r", { lease: true });
    c.flush();
    expect(c.node("a").readStates).toEqual([{ ctx: "r", ok: true, index: 1 }]);
  });

  test("no lease after TimeoutNow went out this term, even once the transfer is abandoned", () => {
    const c = new TestCluster(["a", "b", "c"]);
    c.elect("a");
    c.tick("a");
    c.stabilize();
    expect(c.raft("a").status().leaseValid).toBe(true);
    c.raft("a").transferLeadership("b");
    c.flush();
    c.take((m) => m.type === "timeout-now"); // delayed indefinitely
    c.tick("a", 10);
    c.stabilize();
    expect(c.raft("a").status().leadTransferee).toBeNull();
    expect(c.raft("a").status().role).toBe("leader");
    expect(c.raft("a").status().leaseValid).toBe(false);
  });
});
