import { describe, expect, test } from "bun:test";
import { Raft } from "../../src/raft/raft.ts";
import type { Entry, Member, SnapshotMsg } from "../../src/raft/types.ts";
import { TestCluster, baseConfig } from "./test-cluster.ts";

const members: Member[] = ["a", "b", "c"].map((id) => ({ id, role: "voter", region: "ams" }));

function followerWith(entries: Entry[], commit: number): Raft {
  return new Raft(baseConfig("b"), {
    hardState: { term: 1, vote: null, commit },
    snapshot: { index: 0, term: 0, membership: { members } },
    entries,
    applied: commit,
  });
}

const noops = (from: number, to: number, term: number): Entry[] =>
  Array.from({ length: to - from + 1 }, (_, i) => ({ type: "noop", index: from + i, term }));

function snapshotMsg(index: number, term: number, m: Member[] = members): SnapshotMsg {
  return { type: "snapshot", from: "a", to: "b", term: 1, meta: { index, term, membership: { members: m } } };
}

describe("compaction", () => {
  test("compact drops the log and records term and membership at the index", () => {
    const c = new TestCluster(["a", "b", "c"]);
    c.elect("a");
    c.raft("a").proposeConfChange({ op: "add-learner", member: { id: "l", region: "iad" } });
    c.stabilize();
    for (let i = 0; i < 5; i++) c.propose("a", `e${i}`);
    c.stabilize();
    const meta = c.raft("a").compact(4);
    expect(meta).toEqual({
      index: 4,
      term: 1,
      membership: { members: [...members, { id: "l", role: "learner", region: "iad" }] },
    });
    expect(c.raft("a").status().firstIndex).toBe(5);
    expect(c.raft("a").compact(3)).toBeNull();
  });

  test("compact never drops entries that are not committed and durable here", () => {
    const c = new TestCluster(["a", "b", "c"]);
    c.elect("a");
    c.node("a").holdPersist = true;
    c.propose("a", "x");
    c.stabilize();
    expect(c.raft("a").status().commit).toBe(2);
    expect(c.raft("a").compact(2)?.index).toBe(1);
  });
});

describe("snapshot install (receiver)", () => {
  test("a snapshot past the log replaces it; the Ready records it and the ack leaves after persist", () => {
    const b = followerWith(noops(1, 3, 1), 3);
    b.step(snapshotMsg(10, 1));
    const rd = b.ready();
    expect(rd.snapshot?.index).toBe(10);
    expect(rd.hardState?.commit).toBe(10);
    expect(rd.committed).toEqual([]);
    expect(rd.messagesAfterPersist).toEqual([
      { type: "append-resp", from: "b", to: "a", term: 1, index: 10, reject: false, hintIndex: 0, hintTerm: 0 },
    ]);
    b.snapshotInstalled(10);
    const s = b.status();
    expect([s.firstIndex, s.lastIndex, s.commit, s.stableIndex]).toEqual([11, 10, 10, 10]);
  });

  test("installing an older snapshot keeps the newer matching suffix", () => {
    const b = followerWith(noops(1, 10, 1), 3);
    b.step(snapshotMsg(6, 1));
    const s = b.status();
    expect([s.firstIndex, s.lastIndex, s.commit]).toEqual([7, 10, 6]);
    const rd = b.ready();
    expect(rd.snapshot?.index).toBe(6);
    // Entries 4..6 are covered by the snapshot: only 7.. are handed out for applying.
    expect(rd.committed).toEqual([]);
    expect(rd.entries).toEqual([]);
  });

  test("a suffix that does not match the snapshot's term is discarded", () => {
    const b = followerWith([...noops(1, 3, 1), ...noops(4, 8, 1)], 3);
    b.step(snapshotMsg(6, 2));
    expect(b.status().lastIndex).toBe(6);
  });

  test("after a divergent suffix is discarded, new entries past the snapshot are still handed out to persist", () => {
    const b = followerWith([...noops(1, 3, 1), ...noops(4, 12, 1)], 3);
    b.ready();
    b.step(snapshotMsg(6, 2));
    b.step({
      type: "append",
      from: "a",
      to: "b",
      term: 2,
      prevIndex: 6,
      prevTerm: 2,
      commit: 8,
      entries: noops(7, 8, 2),
    });
    const rd = b.ready();
    expect(rd.snapshot?.index).toBe(6);
    expect(rd.entries.map((e) => e.index)).toEqual([7, 8]);
  });

  test("a snapshot at or below the commit index changes nothing and is acknowledged with the commit index", () => {
    const b = followerWith(noops(1, 10, 1), 8);
    b.step(snapshotMsg(5, 1));
    const rd = b.ready();
    expect(rd.snapshot).toBeNull();
    expect(b.status().lastIndex).toBe(10);
    expect(rd.messagesAfterPersist[0]).toMatchObject({ type: "append-resp", index: 8, reject: false });
  });

  test("acceptsSnapshot says beforehand what stepping will do: past the commit index in the current term, nothing else", () => {
    const b = followerWith(noops(1, 10, 1), 8);
    expect(b.acceptsSnapshot(snapshotMsg(9, 1))).toBe(true);
    expect(b.acceptsSnapshot(snapshotMsg(8, 1))).toBe(false);
    b.step({ type: "heartbeat", from: "a", to: "b", term: 2, commit: 8, ctx: null });
    // The same snapshot, sent by the leader of term 1 that has since been deposed.
    expect(b.acceptsSnapshot(snapshotMsg(9, 1))).toBe(false);
    expect(b.acceptsSnapshot({ ...snapshotMsg(9, 1), term: 2 })).toBe(true);
  });

  test("the snapshot's membership becomes the configuration", () => {
    const b = followerWith(noops(1, 3, 1), 3);
    const bigger: Member[] = [...members, { id: "d", role: "learner", region: "iad" }];
    b.step(snapshotMsg(20, 1, bigger));
    expect(b.status().membership.members).toEqual(bigger);
  });
});

describe("snapshot flow (leader → lagging follower)", () => {
  function laggingCluster(): TestCluster {
    const c = new TestCluster(["a", "b", "c"]);
    c.elect("a");
    c.isolate("c");
    for (let i = 0; i < 10; i++) c.propose("a", `e${i}`);
    c.stabilize();
    expect(c.raft("a").compact(8)?.index).toBe(8);
    c.heal();
    return c;
  }

  test("a follower behind the compaction point gets a snapshot message, installs it and catches up", () => {
    const c = laggingCluster();
    c.tickAll();
    c.stabilize();
    const snaps = c.sent.filter((m): m is SnapshotMsg => m.type === "snapshot");
    expect(snaps.map((m) => [m.to, m.meta.index])).toEqual([["c", 8]]);
    expect(c.node("c").disk.snapshot.index).toBe(8);
    // Entries after the snapshot arrive by append and are applied; earlier ones came with the data.
    expect(c.node("c").applied.map((e) => e.index)).toEqual([1, 9, 10, 11]);
    expect(c.raft("a").status().progress?.find((p) => p.id === "c")).toMatchObject({ state: "replicate", match: 11 });
    c.propose("a", "after");
    c.stabilize();
    expect(c.appliedTexts("c")).toEqual(["e7", "e8", "e9", "after"]);
  });

  test("a lost snapshot is retried: at once on reportSnapshot(false), else after a few election timeouts", () => {
    const c = laggingCluster();
    c.dropIf = (m) => m.type === "snapshot";
    c.tickAll();
    c.stabilize();
    expect(c.sent.filter((m) => m.type === "snapshot")).toHaveLength(1);
    c.raft("a").reportSnapshot("c", false);
    c.tickAll();
    c.stabilize();
    expect(c.sent.filter((m) => m.type === "snapshot")).toHaveLength(2);
    expect(c.raft("a").status().progress?.find((p) => p.id === "c")?.state).toBe("snapshot");
    for (let i = 0; i < 45; i++) {
      c.tickAll();
      c.stabilize();
    }
    expect(c.sent.filter((m) => m.type === "snapshot").length).toBeGreaterThan(2);
    c.dropIf = null;
    for (let i = 0; i < 45; i++) {
      c.tickAll();
      c.stabilize();
    }
    expect(c.raft("c").status().commit).toBe(c.raft("a").status().commit);
  });

  test("a node restarts from a compacted disk", () => {
    const c = laggingCluster();
    c.stabilize();
    c.crash("a");
    c.node("a").disk.snapshot = { index: 8, term: 1, membership: { members } };
    c.node("a").disk.entries = c.node("a").disk.entries.filter((e) => e.index > 8);
    c.restart("a");
    expect(c.raft("a").status().firstIndex).toBe(9);
    for (let i = 0; i < 40 && c.leaders().length === 0; i++) {
      c.tickAll();
      c.stabilize();
    }
    expect(c.leaders()).toHaveLength(1);
  });
});
