import { describe, expect, test } from "bun:test";
import { Raft } from "../../src/raft/raft.ts";
import type { AppendMsg, AppendRespMsg, Entry, Member, Message } from "../../src/raft/types.ts";
import { TestCluster, baseConfig, text } from "./test-cluster.ts";

const appends = (ms: readonly Message[]): AppendMsg[] => ms.filter((m): m is AppendMsg => m.type === "append");

describe("fastest-majority commit", () => {
  test("the leader's own entries and its appends to peers leave in the same Ready", () => {
    const c = new TestCluster(["a", "b", "c"]);
    const a = c.elect("a");
    a.propose(text("x"));
    const rd = a.ready();
    expect(rd.entries.map((e) => e.index)).toEqual([2]);
    const out = appends(rd.messages);
    expect(out.map((m) => m.to).sort()).toEqual(["b", "c"]);
    expect(out.every((m) => m.entries.length === 1 && m.entries[0].index === 2)).toBe(true);
  });

  test("two followers acking commit an entry before the leader's own disk write finishes", () => {
    const c = new TestCluster(["a", "b", "c"]);
    c.elect("a");
    c.node("a").holdPersist = true;
    c.propose("a", "x");
    c.stabilize();
    expect(c.raft("a").status().commit).toBe(2);
    expect(c.raft("a").status().stableIndex).toBe(1);
    // Committed, but the leader applies only what it holds durably.
    expect(c.appliedTexts("a")).toEqual([]);
    c.release("a");
    c.stabilize();
    expect(c.appliedTexts("a")).toEqual(["x"]);
  });

  test("with one follower down, commit waits for the leader's own persist", () => {
    const c = new TestCluster(["a", "b", "c"]);
    c.elect("a");
    c.isolate("c");
    c.node("a").holdPersist = true;
    c.propose("a", "x");
    c.stabilize();
    expect(c.raft("b").status().stableIndex).toBe(2);
    expect(c.raft("a").status().commit).toBe(1);
    c.release("a");
    c.stabilize();
    expect(c.raft("a").status().commit).toBe(2);
    expect(c.appliedTexts("a")).toEqual(["x"]);
    expect(c.appliedTexts("b")).toEqual(["x"]);
  });

  test("a follower acks only after persist, and applies only what it holds durably", () => {
    const c = new TestCluster(["a", "b", "c"]);
    c.elect("a");
    c.isolate("c");
    c.node("b").holdPersist = true;
    c.propose("a", "x");
    c.stabilize();
    expect(c.sent.some((m) => m.from === "b" && m.type === "append-resp" && !m.reject && m.index === 2)).toBe(false);
    expect(c.raft("a").status().commit).toBe(1);
    c.release("b");
    c.stabilize();
    expect(c.raft("a").status().commit).toBe(2);
    // b learns commit 2 but its entry was durable only after persistHeld: now it applies.
    expect(c.appliedTexts("b")).toEqual(["x"]);
  });

  test("learners replicate but never count toward commit", () => {
    const c = new TestCluster(["a", "b", "l1", "l2"], { learners: ["l1", "l2"] });
    c.elect("a");
    c.isolate("b");
    c.propose("a", "x");
    c.stabilize();
    expect(c.raft("l1").status().lastIndex).toBe(2);
    expect(c.raft("l2").status().lastIndex).toBe(2);
    expect(c.raft("a").status().commit).toBe(1);
    c.heal();
    c.tickAll();
    c.stabilize();
    expect(c.raft("a").status().commit).toBe(2);
  });

  test("many proposals between Readys go out batched in one append per peer", () => {
    const c = new TestCluster(["a", "b", "c"]);
    const a = c.elect("a");
    for (let i = 0; i < 50; i++) a.propose(text(`p${i}`));
    const rd = a.ready();
    const out = appends(rd.messages);
    expect(out).toHaveLength(2);
    expect(out[0].entries).toHaveLength(50);
    expect(rd.entries).toHaveLength(50);
  });
});

describe("pipelining and flow control", () => {
  test("maxUncommittedBytes refuses proposals while too much is uncommitted, and frees up on commit", () => {
    const c = new TestCluster(["a", "b", "c"], { config: { maxUncommittedBytes: 100 } });
    c.elect("a");
    c.isolate("b");
    c.isolate("c");
    // The first entry is always accepted, even when larger than the limit.
    expect(c.raft("a").propose(new Uint8Array(150)).ok).toBe(true);
    expect(c.raft("a").propose(new Uint8Array(1))).toEqual({ ok: false, reason: "too-many-inflight", leader: "a" });
    c.heal();
    c.tickAll();
    c.stabilize();
    expect(c.raft("a").status().commit).toBe(2);
    expect(c.raft("a").propose(new Uint8Array(30)).ok).toBe(true);
    expect(c.raft("a").propose(new Uint8Array(30)).ok).toBe(true);
    expect(c.raft("a").propose(new Uint8Array(30)).ok).toBe(false);
  });

  test("in-flight appends per peer are bounded in messages", () => {
    const c = new TestCluster(["a", "b", "c"], { config: { maxInflightMsgs: 3, maxMsgBytes: 1 } });
    const a = c.elect("a");
    for (let i = 0; i < 10; i++) a.propose(text(`p${i}`));
    const out = appends(a.ready().messages).filter((m) => m.to === "b");
    // One entry per message (maxMsgBytes), at most 3 un-acked messages.
    expect(out).toHaveLength(3);
    expect(out.map((m) => m.entries.map((e) => e.index))).toEqual([[2], [3], [4]]);
  });

  test("in-flight appends per peer are bounded in bytes", () => {
    const c = new TestCluster(["a", "b", "c"], { config: { maxInflightBytes: 250, maxMsgBytes: 100 } });
    const a = c.elect("a");
    for (let i = 0; i < 20; i++) a.propose(new Uint8Array(80));
    const out = appends(a.ready().messages).filter((m) => m.to === "b");
    expect(out).toHaveLength(3);
    expect(out.every((m) => m.entries.length === 1)).toBe(true);
  });

  test("acks open the window and everything eventually replicates", () => {
    const c = new TestCluster(["a", "b", "c"], { config: { maxInflightMsgs: 2, maxMsgBytes: 1 } });
    c.elect("a");
    for (let i = 0; i < 30; i++) c.propose("a", `p${i}`);
    c.stabilize();
    for (const id of ["a", "b", "c"]) expect(c.appliedTexts(id)).toHaveLength(30);
  });

  test("a slow follower does not hold up commits through the fast one", () => {
    const c = new TestCluster(["a", "b", "c"], { config: { maxInflightMsgs: 2, maxMsgBytes: 1 } });
    c.elect("a");
    c.isolate("c");
    for (let i = 0; i < 20; i++) c.propose("a", `p${i}`);
    c.stabilize();
    expect(c.appliedTexts("a")).toHaveLength(20);
    expect(c.raft("c").status().lastIndex).toBe(1);
  });
});

describe("AppendEntries log matching", () => {
  test("a follower rejects an append whose prevIndex/prevTerm it does not have, with a hint", () => {
    const r = follower([entry(1, 1), entry(2, 1), entry(3, 2)]);
    r.step(appendMsg(5, 3, [entry(6, 3)], 0));
    const rej = r.ready().messages[0] as AppendRespMsg;
    expect(rej).toMatchObject({ type: "append-resp", reject: true, index: 5, hintIndex: 3, hintTerm: 2 });
  });

  test("a stale or reordered append whose entries already match never truncates", () => {
    const r = follower([]);
    r.step(appendMsg(0, 0, [entry(1, 1), entry(2, 1), entry(3, 1)], 0));
    r.ready();
    r.step(appendMsg(0, 0, [entry(1, 1)], 0)); // an older append delivered late
    expect(r.status().lastIndex).toBe(3);
    const ack = r.ready().messagesAfterPersist[0] as AppendRespMsg;
    expect(ack).toMatchObject({ reject: false, index: 1 });
  });

  test("a real conflict truncates the divergent suffix and appends the leader's entries", () => {
    const r = follower([entry(1, 1), entry(2, 1), entry(3, 1)]);
    r.step(appendMsg(1, 1, [entry(2, 2)], 0, 2));
    expect(r.status().lastIndex).toBe(2);
    const rd = r.ready();
    expect(rd.entries).toEqual([entry(2, 2)]);
  });

  test("planted bug truncate-on-stale-append cuts a matching suffix", () => {
    const r = follower([], { plantedBug: "truncate-on-stale-append" });
    r.step(appendMsg(0, 0, [entry(1, 1), entry(2, 1), entry(3, 1)], 0));
    r.ready();
    r.step(appendMsg(0, 0, [entry(1, 1)], 0));
    expect(r.status().lastIndex).toBe(1);
  });

  test("a follower commits no further than the entries the append proved to match", () => {
    const r = follower([entry(1, 1), entry(2, 1), entry(3, 9)]);
    r.step(appendMsg(1, 1, [entry(2, 1)], 3, 9));
    expect(r.status().commit).toBe(2);
  });

  test("fast backtracking over 50 divergent entries takes at most two rejections", () => {
    const c = new TestCluster(["a", "b", "c", "d", "e"], { config: { checkQuorum: false } });
    c.elect("a");
    c.propose("a", "base");
    c.stabilize();
    // a and b (minority) take 50 entries that never commit.
    c.isolate("c");
    c.isolate("d");
    c.isolate("e");
    for (let i = 0; i < 50; i++) c.propose("a", `lost${i}`);
    c.stabilize();
    expect(c.raft("b").status().lastIndex).toBe(52);
    // c, d, e elect c and commit 50 different entries.
    c.crash("a");
    c.heal();
    c.isolate("b");
    c.elect("c");
    for (let i = 0; i < 50; i++) c.propose("c", `kept${i}`);
    c.stabilize();
    // A fresh leader of the majority side starts probing b at its own last index.
    c.crash("c");
    c.restart("c");
    c.elect("d");
    c.heal();
    const before = c.sent.length;
    c.tickAll();
    c.stabilize();
    const rejections = c.sent.slice(before).filter((m) => m.from === "b" && m.type === "append-resp" && m.reject);
    expect(rejections.length).toBeGreaterThan(0);
    expect(rejections.length).toBeLessThanOrEqual(2);
    expect(c.raft("b").status().lastIndex).toBe(c.raft("d").status().lastIndex);
    expect(c.appliedTexts("b")).toEqual(c.appliedTexts("d"));
    expect(c.appliedTexts("b")).toHaveLength(51);
    expect(c.appliedTexts("b").filter((t) => t.startsWith("lost"))).toEqual([]);
  });

  test("a follower far behind catches up by probing back with hints", () => {
    const c = new TestCluster(["a", "b", "c"]);
    c.elect("a");
    c.isolate("c");
    for (let i = 0; i < 100; i++) c.propose("a", `e${i}`);
    c.stabilize();
    c.heal();
    c.tickAll();
    c.stabilize();
    expect(c.appliedTexts("c")).toEqual(c.appliedTexts("a"));
    expect(c.appliedTexts("c")).toHaveLength(100);
  });
});

const members: Member[] = ["a", "b", "c"].map((id) => ({ id, role: "voter", region: "ams" }));

function follower(entries: Entry[], cfg: Parameters<typeof baseConfig>[1] = {}): Raft {
  const lastTerm = entries.length ? entries[entries.length - 1].term : 0;
  return new Raft(baseConfig("b", cfg), {
    hardState: { term: lastTerm, vote: null, commit: 0 },
    snapshot: { index: 0, term: 0, membership: { members } },
    entries,
    applied: 0,
  });
}

function entry(index: number, term: number): Entry {
  return { type: "noop", index, term };
}

function appendMsg(prevIndex: number, prevTerm: number, entries: Entry[], commit: number, term = 1): AppendMsg {
  const t = Math.max(term, ...entries.map((e) => e.term), prevTerm);
  return { type: "append", from: "a", to: "b", term: t, prevIndex, prevTerm, entries, commit };
}
