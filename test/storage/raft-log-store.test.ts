import { afterEach, describe, expect, test } from "bun:test";
import { mkdirSync, readFileSync, statSync } from "node:fs";
import { DEFAULT_PREALLOCATE_BYTES, RaftLogStore, type RaftLogStoreOptions } from "../../src/storage/raft-log-store.ts";
import { segmentPath } from "../../src/storage/segment-format.ts";
import { LogContractError, LogWriteFailedError } from "../../src/storage/storage-errors.ts";
import type { LogWriterMode } from "../../src/storage/log-writer.ts";
import type { Entry, HardState, SnapshotMeta } from "../../src/raft/types.ts";
import { normal, normals, onDisk, payloadFor, recordsEnd, rejectionOf, segmentFiles, tempDir, threeVoters } from "./log-store-helpers.ts";

const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function openFresh(writer: LogWriterMode, fsync = true, more: RaftLogStoreOptions = {}): Promise<{ store: RaftLogStore; dir: string }> {
  const t = tempDir();
  cleanups.push(t.cleanup);
  const store = await RaftLogStore.open(t.dir, { writer, fsync, ...more });
  cleanups.push(() => store.close());
  store.load();
  return { store, dir: t.dir };
}

async function reopen(store: RaftLogStore, dir: string, writer: LogWriterMode) {
  await store.close();
  const again = await RaftLogStore.open(dir, { writer });
  cleanups.push(() => again.close());
  return { store: again, loaded: again.load() };
}

describe.each(["worker", "inline"] as const)("RaftLogStore (%s writer)", (writer) => {
  test("a fresh log is empty", async () => {
    const { store, dir } = await openFresh(writer);
    const { store: s2, loaded } = await reopen(store, dir, writer);
    expect(loaded.hardState).toEqual({ term: 0, vote: null, commit: 0 });
    expect(loaded.snapshot).toBeNull();
    expect(loaded.entries).toEqual([]);
    expect(loaded.recovery.truncated).toBeNull();
    expect(s2.stats()).toMatchObject({ firstIndex: 1, lastIndex: 0, durableLastIndex: 0 });
  });

  test("every entry type and the hard state survive a restart", async () => {
    const { store, dir } = await openFresh(writer);
    const entries: Entry[] = [
      { type: "noop", term: 1, index: 1 },
      { type: "conf", term: 1, index: 2, change: { op: "add-voter", member: { id: "n4", region: "iad", raftAddr: "h:1", httpAddr: "http://h:2" } } },
      { type: "conf", term: 1, index: 3, change: { op: "add-learner", member: { id: "n5", region: "ams" } } },
      { type: "conf", term: 2, index: 4, change: { op: "promote", id: "n5" } },
      { type: "conf", term: 2, index: 5, change: { op: "remove", id: "n4" } },
      normal(6, 2, new Uint8Array(0)),
      normal(7, 3, payloadFor(7, 100_000)),
    ];
    const hs: HardState = { term: 3, vote: "n2", commit: 5 };
    await store.persist({ entries, hardState: hs });
    await store.persist({ hardState: { term: 3, vote: "n2", commit: 6 } });
    const { loaded } = await reopen(store, dir, writer);
    expect(loaded.entries).toEqual(entries);
    expect(loaded.hardState).toEqual({ term: 3, vote: "n2", commit: 6 });
    expect(loaded.snapshot).toBeNull();
  });

  test("a hard state that only moves commit costs no fsync of its own and rides in the next batch", async () => {
    const { store, dir } = await openFresh(writer);
    await store.persist({ entries: normals(1, 3, 1), hardState: { term: 1, vote: "n1", commit: 0 } });
    const commitsBefore = store.stats().commits;
    await store.persist({ hardState: { term: 1, vote: "n1", commit: 3 } });
    expect(store.stats()).toMatchObject({ commits: commitsBefore, lazyHardStates: 1 });
    // Not on disk yet: a crash now restarts with commit 0, which Raft allows (commit is volatile).
    expect(onDisk(dir).hardState.commit).toBe(0);
    await store.persist({ entries: normals(4, 4, 1) });
    expect(store.stats().commits).toBe(commitsBefore + 1);
    expect(onDisk(dir).hardState.commit).toBe(3);
  });

  test("a new term or vote is never deferred", async () => {
    const { store } = await openFresh(writer);
    await store.persist({ hardState: { term: 1, vote: null, commit: 0 } });
    const c0 = store.stats().commits;
    await store.persist({ hardState: { term: 1, vote: "n2", commit: 0 } });
    await store.persist({ hardState: { term: 2, vote: "n2", commit: 0 } });
    expect(store.stats()).toMatchObject({ commits: c0 + 2, lazyHardStates: 0 });
  });

  test("close writes a deferred commit index", async () => {
    const { store, dir } = await openFresh(writer);
    await store.persist({ entries: normals(1, 2, 1), hardState: { term: 1, vote: null, commit: 0 } });
    await store.persist({ hardState: { term: 1, vote: null, commit: 2 } });
    expect((await reopen(store, dir, writer)).loaded.hardState).toEqual({ term: 1, vote: null, commit: 2 });
  });

  test("a vote of null and a vote for a node both round-trip", async () => {
    const { store, dir } = await openFresh(writer);
    await store.persist({ hardState: { term: 4, vote: "n3", commit: 0 } });
    await store.persist({ hardState: { term: 5, vote: null, commit: 0 } });
    expect((await reopen(store, dir, writer)).loaded.hardState).toEqual({ term: 5, vote: null, commit: 0 });
  });

  test("an entry at an existing index replaces it and everything after it, by appending", async () => {
    const { store, dir } = await openFresh(writer);
    await store.persist({ entries: normals(1, 10, 1) });
    const seg = segmentPath(dir, 1);
    const before = new Uint8Array(readFileSync(seg)).subarray(0, recordsEnd(seg));
    const replacement = [normal(6, 2, Uint8Array.of(6, 6)), normal(7, 2, Uint8Array.of(7, 7))];
    await store.persist({ entries: replacement });
    // Nothing written earlier was rewritten: the conflicting suffix is superseded by records after it.
    expect(recordsEnd(seg)).toBeGreaterThan(before.length);
    expect(Bun.deepEquals(new Uint8Array(readFileSync(seg)).subarray(0, before.length), before)).toBe(true);
    expect(store.stats().lastIndex).toBe(7);
    expect(store.entries(1, 100)).toEqual([...normals(1, 5, 1), ...replacement]);
    const { loaded } = await reopen(store, dir, writer);
    expect(loaded.entries).toEqual([...normals(1, 5, 1), ...replacement]);
  });

  test("overwrites inside one group commit give the same log as one by one", async () => {
    const { store, dir } = await openFresh(writer);
    const writes = [
      store.persist({ entries: normals(1, 10, 1) }),
      store.persist({ entries: normals(8, 12, 2) }),
      store.persist({ entries: normals(3, 4, 3) }),
      store.persist({ entries: normals(5, 6, 3), hardState: { term: 3, vote: "n1", commit: 2 } }),
    ];
    await Promise.all(writes);
    expect(store.stats().commits).toBe(1);
    const expected = [...normals(1, 2, 1), ...normals(3, 6, 3)];
    const { loaded } = await reopen(store, dir, writer);
    expect(loaded.entries).toEqual(expected);
    expect(loaded.hardState).toEqual({ term: 3, vote: "n1", commit: 2 });
  });

  test("a snapshot whose last entry the log holds keeps the suffix after it (Raft §7)", async () => {
    const { store, dir } = await openFresh(writer);
    await store.persist({ entries: normals(1, 10, 2) });
    const meta: SnapshotMeta = { index: 6, term: 2, membership: threeVoters };
    await store.persist({ snapshot: meta, hardState: { term: 2, vote: null, commit: 6 } });
    expect(store.stats()).toMatchObject({ firstIndex: 7, lastIndex: 10, snapshotIndex: 6 });
    const { loaded } = await reopen(store, dir, writer);
    expect(loaded.snapshot).toEqual(meta);
    expect(loaded.entries).toEqual(normals(7, 10, 2));
  });

  test("a snapshot that conflicts with the log discards the whole log", async () => {
    const { store, dir } = await openFresh(writer);
    await store.persist({ entries: normals(1, 10, 1) });
    const meta: SnapshotMeta = { index: 6, term: 2, membership: threeVoters };
    await store.persist({ snapshot: meta, entries: normals(7, 8, 2) });
    const { loaded } = await reopen(store, dir, writer);
    expect(loaded.snapshot).toEqual(meta);
    expect(loaded.entries).toEqual(normals(7, 8, 2));
  });

  test("a snapshot beyond the end of the log leaves no entries", async () => {
    const { store, dir } = await openFresh(writer);
    await store.persist({ entries: normals(1, 3, 1) });
    const meta: SnapshotMeta = { index: 50, term: 4, membership: threeVoters };
    await store.persist({ snapshot: meta, hardState: { term: 4, vote: null, commit: 50 } });
    await store.persist({ entries: normals(51, 52, 4) });
    const { loaded } = await reopen(store, dir, writer);
    expect(loaded.snapshot).toEqual(meta);
    expect(loaded.entries).toEqual(normals(51, 52, 4));
    expect(loaded.hardState.commit).toBe(50);
  });

  test("compact drops applied entries and records term and membership at the compaction point", async () => {
    const { store, dir } = await openFresh(writer);
    await store.persist({ entries: [...normals(1, 4, 1), ...normals(5, 9, 2)] });
    store.compact(6, threeVoters);
    store.compact(3, threeVoters); // older than the compaction point: nothing to do
    expect(store.stats()).toMatchObject({ firstIndex: 7, snapshotIndex: 6 });
    expect(() => store.compact(10, threeVoters)).toThrow(LogContractError);
    await store.persist({ entries: normals(10, 10, 2) });
    expect(store.entries(0, 100).map((e) => e.index)).toEqual([7, 8, 9, 10]);
    const { loaded } = await reopen(store, dir, writer);
    expect(loaded.snapshot).toEqual({ index: 6, term: 2, membership: threeVoters });
    expect(loaded.entries).toEqual(normals(7, 10, 2));
  });

  test("compact alone (no later persist) is still written", async () => {
    const { store, dir } = await openFresh(writer);
    await store.persist({ entries: normals(1, 5, 1) });
    store.compact(5, threeVoters);
    const { loaded } = await reopen(store, dir, writer);
    expect(loaded.snapshot?.index).toBe(5);
    expect(loaded.entries).toEqual([]);
  });

  test("contract violations are refused, nothing is written, and the store stays usable", async () => {
    const { store, dir } = await openFresh(writer);
    await store.persist({ entries: normals(1, 5, 2) });
    await store.persist({ snapshot: { index: 2, term: 2, membership: threeVoters } });
    const bad: Promise<void>[] = [
      store.persist({ entries: normals(7, 8, 2) }), // gap after 5
      store.persist({ entries: normals(2, 3, 2) }), // at or below the compaction point
      store.persist({ entries: normals(6, 6, 1) }), // term goes down
      store.persist({ entries: [normal(6, 2), normal(8, 2)] }), // not contiguous
      store.persist({ snapshot: { index: 1, term: 1, membership: threeVoters } }), // older snapshot
      store.persist({ entries: normals(6, 6, 3), hardState: { term: -1, vote: null, commit: 0 } }), // bad hard state: the entries must not land either
    ];
    for (const p of bad) expect(await rejectionOf(p)).toBeInstanceOf(LogContractError);
    expect(store.stats().lastIndex).toBe(5);
    await store.persist({ entries: normals(6, 6, 2) });
    const { loaded } = await reopen(store, dir, writer);
    expect(loaded.entries).toEqual(normals(3, 6, 2));
  });

  test("concurrent persists share fsyncs and resolve in call order", async () => {
    const { store, dir } = await openFresh(writer);
    const order: number[] = [];
    const n = 200;
    const all: Promise<void>[] = [];
    for (let i = 1; i <= n; i++) {
      all.push(store.persist({ entries: [normal(i, 1)], hardState: { term: 1, vote: "n1", commit: i - 1 } }).then(() => void order.push(i)));
    }
    await Promise.all(all);
    expect(order).toEqual(Array.from({ length: n }, (_, i) => i + 1));
    const st = store.stats();
    expect(st.fsyncs).toBe(1);
    expect(st.maxBatchCalls).toBe(n);
    expect(st).toMatchObject({ persistCalls: n, entriesWritten: n, durableLastIndex: n });
    const { loaded } = await reopen(store, dir, writer);
    expect(loaded.entries).toEqual(normals(1, n, 1));
    expect(loaded.hardState.commit).toBe(n - 1);
  });

  test("a persist resolves only after every earlier one, and is durable when it does", async () => {
    const { store, dir } = await openFresh(writer);
    const order: string[] = [];
    const a = store.persist({ entries: normals(1, 50, 1) }).then(() => order.push("a"));
    await new Promise((r) => setImmediate(r));
    const b = store.persist({ entries: normals(51, 51, 1) }).then(() => order.push("b"));
    const c = store.persist({ hardState: { term: 1, vote: null, commit: 51 } }).then(() => order.push("c"));
    await c;
    expect(order).toEqual(["a", "b", "c"]);
    await Promise.all([a, b]);
    // What a resolved persist promised is on disk for any other reader.
    expect(onDisk(dir).entries).toEqual(normals(1, 51, 1));
  });

  test("writes are fdatasynced: the writer says so and counts one sync per batch, plus the directory for a new segment", async () => {
    const { store, dir } = await openFresh(writer);
    expect(await store.durability()).toMatchObject({ fsync: true, syncCall: "fdatasync" });
    await store.persist({ entries: normals(1, 3, 1) });
    expect(store.stats()).toMatchObject({ fsync: true, fsyncs: 1, dirSyncs: 1, commits: 1, segments: 1 });
    await store.persist({ entries: normals(4, 5, 1) });
    expect(store.stats()).toMatchObject({ fsyncs: 2, dirSyncs: 1, commits: 2 });
    expect(segmentFiles(dir)).toEqual([segmentPath(dir, 1)]);
  });

  test("segments are preallocated with zeros ahead of the data, which a restart reads as the end of the log", async () => {
    const { store, dir } = await openFresh(writer);
    expect(await store.durability()).toMatchObject({ preallocateBytes: DEFAULT_PREALLOCATE_BYTES });
    await store.persist({ entries: normals(1, 3, 1), hardState: { term: 1, vote: null, commit: 1 } });
    const seg = segmentPath(dir, 1);
    expect(statSync(seg).size).toBeGreaterThanOrEqual(recordsEnd(seg) + DEFAULT_PREALLOCATE_BYTES);
    const { store: again, loaded } = await reopen(store, dir, writer);
    expect(loaded.recovery.truncated).toBeNull();
    expect(loaded.entries).toEqual(normals(1, 3, 1));
    // Writing resumes where the records end, not at the end of the file.
    await again.persist({ entries: normals(4, 4, 1) });
    expect(onDisk(dir).entries).toEqual(normals(1, 4, 1));
    expect(statSync(seg).size).toBeGreaterThanOrEqual(recordsEnd(seg));
  });

  test("fsync: false is visible in durability() and stats", async () => {
    const { store } = await openFresh(writer, false);
    expect(await store.durability()).toMatchObject({ fsync: false, syncCall: "none", preallocateBytes: 0 });
    await store.persist({ entries: normals(1, 3, 1) });
    expect(store.stats()).toMatchObject({ fsync: false, fsyncs: 0, dirSyncs: 0, commits: 1 });
  });

  test("a full segment makes the next batch start a new one; the log reads back across segments", async () => {
    const { store, dir } = await openFresh(writer, true, { segmentBytes: 800 });
    for (let i = 1; i <= 60; i += 3) await store.persist({ entries: normals(i, i + 2, 1 + Math.floor(i / 20)), hardState: { term: 1 + Math.floor(i / 20), vote: "n1", commit: i - 1 } });
    const files = segmentFiles(dir);
    expect(files.length).toBeGreaterThan(3);
    expect(store.stats().segments).toBe(files.length);
    for (const f of files.slice(0, -1)) expect(recordsEnd(f)).toBeLessThan(800 + 400); // a batch may run past the limit, never the next one
    // A rewrite that reaches back into an older segment is appended to the newest one.
    await store.persist({ entries: normals(5, 6, 4), hardState: { term: 4, vote: "n2", commit: 4 } });
    const expected = [...normals(1, 2, 1), ...normals(3, 3, 1), ...normals(4, 4, 1), ...normals(5, 6, 4)];
    const { loaded } = await reopen(store, dir, writer);
    expect(loaded.entries).toEqual(expected);
    expect(loaded.hardState).toEqual({ term: 4, vote: "n2", commit: 4 });
    expect(loaded.recovery).toMatchObject({ truncated: null, segments: files.length });
  });

  test("compaction deletes the segments it covers once durable, and a restart loads the same state", async () => {
    const { store, dir } = await openFresh(writer, true, { segmentBytes: 600 });
    for (let i = 1; i <= 90; i += 3) await store.persist({ entries: normals(i, i + 2, 2), hardState: { term: 2, vote: "n1", commit: i - 1 } });
    const before = segmentFiles(dir);
    expect(before.length).toBeGreaterThan(4);
    store.compact(70, threeVoters);
    await store.persist({ entries: normals(91, 91, 2) });
    const after = segmentFiles(dir);
    expect(after.length).toBeLessThan(before.length);
    // The oldest went; what is left is the newest ones (plus at most one the last batch started).
    const kept = after.filter((f) => before.includes(f));
    expect(after.length - kept.length).toBeLessThanOrEqual(1);
    expect(kept).toEqual(before.slice(before.length - kept.length));
    expect(store.stats().segments).toBe(after.length);
    const { store: again, loaded } = await reopen(store, dir, writer);
    expect(loaded.snapshot).toEqual({ index: 70, term: 2, membership: threeVoters });
    expect(loaded.entries).toEqual(normals(71, 91, 2));
    expect(loaded.hardState).toEqual({ term: 2, vote: "n1", commit: 87 });
    // And it keeps going: append, compact everything, restart.
    await again.persist({ entries: normals(92, 95, 3), hardState: { term: 3, vote: null, commit: 95 } });
    again.compact(95, threeVoters);
    const { loaded: last } = await reopen(again, dir, writer);
    expect(last.snapshot?.index).toBe(95);
    expect(last.entries).toEqual([]);
    expect(last.hardState).toEqual({ term: 3, vote: null, commit: 95 });
  });

  test("an installed snapshot that discards the log lets every older segment go", async () => {
    const { store, dir } = await openFresh(writer, true, { segmentBytes: 400 });
    for (let i = 1; i <= 40; i += 4) await store.persist({ entries: normals(i, i + 3, 1) });
    expect(segmentFiles(dir).length).toBeGreaterThan(2);
    const meta: SnapshotMeta = { index: 30, term: 5, membership: threeVoters };
    await store.persist({ snapshot: meta, hardState: { term: 5, vote: null, commit: 30 } });
    await store.persist({ entries: normals(31, 32, 5) });
    expect(segmentFiles(dir).length).toBe(1);
    const { loaded } = await reopen(store, dir, writer);
    expect(loaded.snapshot).toEqual(meta);
    expect(loaded.entries).toEqual(normals(31, 32, 5));
  });

  test("close waits for queued writes; later calls are refused", async () => {
    const { store, dir } = await openFresh(writer);
    const pending = store.persist({ entries: normals(1, 20, 1) });
    await store.close();
    await pending;
    expect(await rejectionOf(store.persist({ entries: normals(21, 21, 1) }))).toBeInstanceOf(LogContractError);
    const again = await RaftLogStore.open(dir, { writer });
    cleanups.push(() => again.close());
    expect(again.load().entries).toEqual(normals(1, 20, 1));
  });

  test("load() hands the recovered log over once", async () => {
    const { store } = await openFresh(writer);
    expect(() => store.load()).toThrow(LogContractError);
  });

  test("a failed write fails that persist and every later one", async () => {
    const { store, dir } = await openFresh(writer, true, { segmentBytes: 1 });
    await store.persist({ entries: normals(1, 2, 1) });
    // Sabotage from outside: the next batch starts segment 2, whose name is taken by a directory.
    mkdirSync(segmentPath(dir, 2));
    const failed = store.persist({ entries: normals(3, 3, 1) });
    expect(await rejectionOf(failed)).toBeInstanceOf(LogWriteFailedError);
    expect(await rejectionOf(store.persist({ hardState: { term: 1, vote: null, commit: 0 } }))).toBeInstanceOf(LogWriteFailedError);
  });
});

test("the worker writer cuts a new batch from calls made while a commit is in flight", async () => {
  const { store } = await openFresh("worker");
  const first = store.persist({ entries: [normal(1, 1)] });
  await null; // the first batch is posted to the worker in a microtask queued before this continuation
  const rest: Promise<void>[] = [];
  for (let i = 2; i <= 101; i++) rest.push(store.persist({ entries: [normal(i, 1)] }));
  await Promise.all([first, ...rest]);
  expect(store.stats()).toMatchObject({ commits: 2, maxBatchCalls: 100, entriesWritten: 101 });
});

test("the inline writer holds the commit until the current macrotask is over", async () => {
  const { store } = await openFresh("inline");
  const first = store.persist({ entries: [normal(1, 1)] });
  await null;
  await Promise.resolve();
  const second = store.persist({ entries: [normal(2, 1)] });
  await Promise.all([first, second]);
  expect(store.stats().commits).toBe(1);
});

test("adaptive mode writes inline while following and in the Worker while leading, into one log", async () => {
  const { store, dir } = await openFresh("adaptive");
  expect(store.stats()).toMatchObject({ writerMode: "adaptive", writer: "inline" });
  await store.persist({ entries: normals(1, 3, 1), hardState: { term: 1, vote: null, commit: 0 } });
  store.useBackgroundWriter(true);
  expect(store.stats().writer).toBe("worker");
  await store.persist({ entries: normals(4, 6, 2), hardState: { term: 2, vote: "n1", commit: 3 } });
  store.useBackgroundWriter(false);
  await store.persist({ entries: [normal(5, 3)], hardState: { term: 3, vote: "n2", commit: 4 } });
  expect(store.stats()).toMatchObject({ writer: "inline", commits: 3 });
  const { loaded } = await reopen(store, dir, "adaptive");
  expect(loaded.entries).toEqual([...normals(1, 3, 1), normal(4, 2), normal(5, 3)]);
  expect(loaded.hardState).toEqual({ term: 3, vote: "n2", commit: 4 });
});

test("the two writers taking turns batch by batch, across segment boundaries, write one consistent log", async () => {
  const { store, dir } = await openFresh("adaptive", true, { segmentBytes: 700 });
  const expected: Entry[] = [];
  let term = 1;
  for (let round = 0; round < 40; round++) {
    store.useBackgroundWriter(round % 2 === 1 || round % 5 === 0);
    // Every fourth round rewrites the last two entries under a new term, as a new leader's log would.
    const first = round % 4 === 3 ? expected.length - 1 : expected.length + 1;
    if (round % 4 === 3) term++;
    const batch = normals(first, first + 2, term);
    expected.length = first - 1;
    expected.push(...batch);
    const writes = [store.persist({ entries: batch.slice(0, 2) }), store.persist({ entries: batch.slice(2), hardState: { term, vote: "n1", commit: Math.max(0, first - 2) } })];
    await Promise.all(writes);
  }
  expect(segmentFiles(dir).length).toBeGreaterThan(3);
  expect(onDisk(dir).entries).toEqual(expected);
  const { loaded } = await reopen(store, dir, "adaptive");
  expect(loaded.entries).toEqual(expected);
  expect(loaded.recovery.truncated).toBeNull();
  expect(loaded.hardState.term).toBe(term);
});

test("useBackgroundWriter is a no-op for a fixed writer", async () => {
  const { store } = await openFresh("inline");
  store.useBackgroundWriter(true);
  expect(store.stats()).toMatchObject({ writerMode: "inline", writer: "inline" });
});
