/**
 * Raft paper §5.4.2, Figure 8, driven message by message on a 5-node cluster.
 * Indexes are shifted by one against the paper because every new leader
 * appends a no-op: index 2 plays the paper's index 2.
 */
import { describe, expect, test } from "bun:test";
import type { Entry, PlantedBug } from "../../src/raft/types.ts";
import { TestCluster } from "./test-cluster.ts";

const ids = ["s1", "s2", "s3", "s4", "s5"];

function scenario(plantedBug?: PlantedBug): TestCluster {
  const c = new TestCluster(ids, {
    // One entry per append, so index 2 and the new leader's no-op travel separately.
    config: { preVote: false, checkQuorum: false, maxMsgBytes: 1, plantedBug },
  });
  // (a) s1 leads term 1; x at index 2 reaches only s2.
  c.elect("s1");
  c.propose("s1", "x");
  c.flush();
  c.deliverWhere((m) => m.to === "s2" && m.type === "append");
  c.network = [];
  expect(c.raft("s2").status().lastIndex).toBe(2);

  // (b) s1 crashes; s5 wins term 2 with s3 and s4, appends its no-op at index 2, and crashes before sending it.
  c.crash("s1");
  c.raft("s5").campaign();
  c.flush();
  c.deliverWhere((m) => m.type === "vote");
  c.deliverWhere((m) => m.type === "vote-resp");
  expect(c.raft("s5").status().role).toBe("leader");
  expect(c.raft("s5").status().term).toBe(2);
  c.crash("s5");
  expect(c.node("s5").disk.entries.map((e) => [e.index, e.term])).toEqual([
    [1, 1],
    [2, 2],
  ]);

  // (c) s1 restarts and wins term 3; it copies x (term 1) to s3, but its own
  // term-3 no-op at index 3 reaches nobody.
  c.restart("s1");
  // (A probe that the receiver must reject to learn it lacks index 2 still passes.)
  c.dropIf = (m) =>
    m.type === "append" && m.entries.some((e) => e.index === 3) && c.raft(m.to).status().lastIndex >= 2;
  for (let i = 0; i < 5 && c.raft("s1").status().role !== "leader"; i++) {
    c.raft("s1").campaign();
    c.stabilize();
  }
  expect(c.raft("s1").status().role).toBe("leader");
  expect(c.raft("s1").status().term).toBe(3);
  for (const id of ["s1", "s2", "s3"]) expect(c.raft(id).status().lastIndex).toBeGreaterThanOrEqual(2);
  return c;
}

function entryAt(c: TestCluster, id: string, index: number): Entry | undefined {
  return c.node(id).applied.find((e) => e.index === index);
}

describe("Figure 8: entries of earlier terms are not committed by counting", () => {
  test("x is on a majority but stays uncommitted; s5 may then overwrite it safely", () => {
    const c = scenario();
    expect(c.raft("s1").status().commit).toBe(1);
    expect(entryAt(c, "s1", 2)).toBeUndefined();

    // (d) s1 crashes; s5 restarts and wins with s2, s3, s4 (its last term 2 beats their 1).
    c.crash("s1");
    c.dropIf = null;
    c.restart("s5");
    for (let i = 0; i < 5 && c.raft("s5").status().role !== "leader"; i++) {
      c.raft("s5").campaign();
      c.stabilize();
    }
    expect(c.raft("s5").status().role).toBe("leader");
    c.stabilize();
    // Index 2 is now s5's no-op everywhere, and nobody ever applied x.
    for (const id of ["s2", "s3", "s4", "s5"]) {
      expect(entryAt(c, id, 2)).toMatchObject({ type: "noop", term: 2 });
    }
    expect(ids.flatMap((id) => c.appliedTexts(id))).toEqual([]);
  });

  test("once s1's own-term entry reaches a majority, x commits and s5 can no longer win", () => {
    const c = scenario();
    c.dropIf = null;
    c.tickAll();
    c.stabilize();
    expect(c.raft("s1").status().commit).toBe(3);
    expect(c.appliedTexts("s1")).toEqual(["x"]);
    c.crash("s1");
    c.restart("s5");
    for (let i = 0; i < 5; i++) {
      c.raft("s5").campaign();
      c.stabilize();
    }
    expect(c.raft("s5").status().role).not.toBe("leader");
  });

  test("planted bug commit-previous-term commits x by counting, and s5 then overwrites a committed entry", () => {
    const c = scenario("commit-previous-term");
    expect(c.raft("s1").status().commit).toBe(2);
    expect(entryAt(c, "s1", 2)).toMatchObject({ type: "normal", term: 1 });
    c.crash("s1");
    c.dropIf = null;
    c.restart("s5");
    for (let i = 0; i < 5 && c.raft("s5").status().role !== "leader"; i++) {
      c.raft("s5").campaign();
      c.stabilize();
    }
    expect(c.raft("s5").status().role).toBe("leader");
    c.stabilize();
    // State machine safety is violated: two nodes applied different entries at index 2.
    expect(entryAt(c, "s5", 2)).toMatchObject({ type: "noop", term: 2 });
    expect(entryAt(c, "s1", 2)).toMatchObject({ type: "normal", term: 1 });
  });
});
