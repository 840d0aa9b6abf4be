import { afterEach, describe, expect, test } from "bun:test";
import { appendFileSync, readFileSync, statSync, truncateSync, unlinkSync, writeFileSync } from "node:fs";
import { RaftLogStore } from "../../src/storage/raft-log-store.ts";
import { encodedEntry, frameBatch } from "../../src/storage/group-commit-batch.ts";
import { sealRecords, segmentPath } from "../../src/storage/segment-format.ts";
import { StorageCorruptionError } from "../../src/storage/storage-errors.ts";
import type { Entry } from "../../src/raft/types.ts";
import { normal, normals, recordsEnd, rejectionOf, segmentFiles, snapshotOfFiles, tempDir, threeVoters, writeAtRecordsEnd } from "./log-store-helpers.ts";

const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function dirForTest(): string {
  const t = tempDir();
  cleanups.push(t.cleanup);
  return t.dir;
}

async function open(dir: string): Promise<RaftLogStore> {
  const store = await RaftLogStore.open(dir);
  cleanups.push(() => store.close());
  return store;
}

const marker = (name: string) => new TextEncoder().encode(`<<${name}-${crypto.randomUUID()}>>`);

/** Flips one byte of `needle` inside the segment file holding it, as a failing disk would. */
function flipByteOf(dir: string, needle: Uint8Array): void {
  const hits = segmentFiles(dir).flatMap((path) => {
    const at = readFileSync(path).indexOf(Buffer.from(needle));
    return at >= 0 ? [{ path, at }] : [];
  });
  expect(hits.length).toBe(1);
  const { path, at } = hits[0];
  const file = new Uint8Array(readFileSync(path));
  expect(Buffer.from(file).indexOf(Buffer.from(needle), at + 1)).toBe(-1);
  file[at + Math.floor(needle.length / 2)] ^= 0x20;
  writeFileSync(path, file);
}

async function writeAndClose(dir: string, entries: Entry[], commit: number, snapshotAt?: number): Promise<void> {
  const store = await RaftLogStore.open(dir);
  store.load();
  await store.persist({ entries, hardState: { term: entries[entries.length - 1].term, vote: "n1", commit } });
  if (snapshotAt !== undefined) await store.persist({ snapshot: { index: snapshotAt, term: entries[snapshotAt - 1].term, membership: threeVoters } });
  await store.close();
}

/** Appends records to the last segment exactly as a writer would (valid CRCs), to plant well-formed but wrong content. */
function appendRecords(dir: string, entries: Entry[]): void {
  const records = frameBatch(null, [{ kind: "entries", entries: entries.map(encodedEntry) }]);
  sealRecords(records);
  const files = segmentFiles(dir);
  writeAtRecordsEnd(files[files.length - 1], records);
}

describe("startup recovery", () => {
  test("a corrupt last entry is detected, cut off durably and reported", async () => {
    const dir = dirForTest();
    const m = marker("tail");
    await writeAndClose(dir, [...normals(1, 9, 1), normal(10, 1, m)], 8);
    flipByteOf(dir, m);

    const store = await open(dir);
    const loaded = store.load();
    expect(loaded.recovery.truncated).toMatchObject({ fromIndex: 10, dropped: 1 });
    expect(loaded.recovery.truncated?.reason).toContain("entry record at byte");
    expect(loaded.recovery.truncated?.reason).toContain("fails its checksum");
    expect(loaded.entries).toEqual(normals(1, 9, 1));
    expect(loaded.hardState).toEqual({ term: 1, vote: "n1", commit: 8 });
    expect(store.stats().lastIndex).toBe(9);
    await store.persist({ entries: [normal(10, 2)] });
    await store.close();

    const again = await open(dir);
    const reloaded = again.load();
    expect(reloaded.recovery.truncated).toBeNull();
    expect(reloaded.entries).toEqual([...normals(1, 9, 1), normal(10, 2)]);
  });

  test("a corrupt entry above the commit index cuts the log from there", async () => {
    const dir = dirForTest();
    const m = marker("mid");
    await writeAndClose(dir, [...normals(1, 5, 1), normal(6, 1, m), ...normals(7, 12, 1)], 5);
    flipByteOf(dir, m);
    const loaded = (await open(dir)).load();
    expect(loaded.recovery.truncated).toMatchObject({ fromIndex: 6, dropped: 7 });
    expect(loaded.entries).toEqual(normals(1, 5, 1));
  });

  test("corruption after a compaction point is found relative to it", async () => {
    const dir = dirForTest();
    const m = marker("after-snap");
    await writeAndClose(dir, [...normals(1, 7, 1), normal(8, 2, m)], 4, 4);
    flipByteOf(dir, m);
    const loaded = (await open(dir)).load();
    expect(loaded.snapshot).toEqual({ index: 4, term: 1, membership: threeVoters });
    expect(loaded.recovery.truncated).toMatchObject({ fromIndex: 8, dropped: 1 });
    expect(loaded.entries).toEqual(normals(5, 7, 1));
  });

  test("a corrupt committed entry stops startup and leaves the files as they were", async () => {
    const dir = dirForTest();
    const m = marker("committed");
    // The hard state that commits entry 4 comes after it, in the same batch: it still counts.
    await writeAndClose(dir, [...normals(1, 3, 1), normal(4, 1, m), ...normals(5, 6, 1)], 5);
    flipByteOf(dir, m);
    const before = snapshotOfFiles(dir);
    const err = await rejectionOf(RaftLogStore.open(dir));
    expect(err).toBeInstanceOf(StorageCorruptionError);
    expect(String(err)).toContain("fails its checksum");
    expect(String(err)).toContain("commit index 5");
    expect(snapshotOfFiles(dir)).toEqual(before);
    expect(await rejectionOf(RaftLogStore.open(dir))).toBeInstanceOf(StorageCorruptionError);
  });

  test("a corrupt hard state stops startup", async () => {
    const dir = dirForTest();
    const store = await RaftLogStore.open(dir);
    store.load();
    const vote = `voter-${crypto.randomUUID()}`;
    await store.persist({ hardState: { term: 3, vote, commit: 0 } });
    await store.close();
    flipByteOf(dir, new TextEncoder().encode(vote));
    const before = snapshotOfFiles(dir);
    const err = await rejectionOf(RaftLogStore.open(dir));
    expect(err).toBeInstanceOf(StorageCorruptionError);
    expect(String(err)).toContain("hardState");
    expect(snapshotOfFiles(dir)).toEqual(before);
  });

  test("a cut keeps the state records that followed the damage: a newer vote and compaction point survive", async () => {
    const dir = dirForTest();
    const m = marker("before-vote");
    const store = await RaftLogStore.open(dir);
    store.load();
    await store.persist({ entries: [...normals(1, 5, 1), normal(6, 1, m), ...normals(7, 8, 1)], hardState: { term: 1, vote: "n1", commit: 3 } });
    await store.persist({ hardState: { term: 2, vote: "n3", commit: 3 } });
    store.compact(2, threeVoters);
    await store.persist({ entries: normals(9, 10, 2) });
    await store.close();
    flipByteOf(dir, m);

    const loaded = (await open(dir)).load();
    expect(loaded.recovery.truncated).toMatchObject({ fromIndex: 6, dropped: 5 });
    expect(loaded.hardState).toEqual({ term: 2, vote: "n3", commit: 3 });
    expect(loaded.snapshot?.index).toBe(2);
    expect(loaded.entries).toEqual(normals(3, 5, 1));
    const again = (await open(dir)).load();
    expect(again.recovery.truncated).toBeNull();
    expect(again.hardState).toEqual({ term: 2, vote: "n3", commit: 3 });
    expect(again.entries).toEqual(normals(3, 5, 1));
  });

  test("a torn last record (the file ends inside it) is cut and reported", async () => {
    const dir = dirForTest();
    const store = await RaftLogStore.open(dir);
    store.load();
    await store.persist({ entries: normals(1, 5, 1), hardState: { term: 1, vote: "n1", commit: 5 } });
    const size = recordsEnd(segmentPath(dir, 1));
    await store.persist({ entries: [normal(6, 1, new Uint8Array(3000).fill(9))] });
    await store.close();
    truncateSync(segmentPath(dir, 1), size + 1000);
    const loaded = (await open(dir)).load();
    expect(loaded.recovery.truncated).toMatchObject({ fromIndex: 6, dropped: 1 });
    expect(loaded.recovery.truncated?.reason).toContain("runs past the end of the file");
    expect(loaded.entries).toEqual(normals(1, 5, 1));
    expect(statSync(segmentPath(dir, 1)).size).toBe(size);
  });

  test("garbage after the last record is cut and reported; zeros after it are just the end", async () => {
    const dir = dirForTest();
    await writeAndClose(dir, normals(1, 4, 1), 4);
    const seg = segmentPath(dir, 1);
    const size = recordsEnd(seg);
    appendFileSync(seg, new Uint8Array(4096)); // as preallocation leaves it (whether or not it is on)
    expect(statSync(seg).size).toBeGreaterThan(size);
    let loaded = (await open(dir)).load();
    expect(loaded.recovery.truncated).toBeNull();
    expect(loaded.entries).toEqual(normals(1, 4, 1));

    writeAtRecordsEnd(seg, new Uint8Array(37).fill(0xa5));
    loaded = (await open(dir)).load();
    expect(loaded.recovery.truncated).toMatchObject({ fromIndex: 5 });
    expect(loaded.entries).toEqual(normals(1, 4, 1));
    expect(statSync(segmentPath(dir, 1)).size).toBe(size);
  });

  test("a well-formed entry out of order (a gap, or a term going down) is cut like corruption", async () => {
    const dir = dirForTest();
    await writeAndClose(dir, normals(1, 6, 2), 3);
    appendRecords(dir, [normal(9, 2), normal(10, 2)]);
    let loaded = (await open(dir)).load();
    expect(loaded.recovery.truncated).toMatchObject({ fromIndex: 7, dropped: 2 });
    expect(loaded.recovery.truncated?.reason).toContain("gap");
    expect(loaded.entries).toEqual(normals(1, 6, 2));

    appendRecords(dir, [normal(5, 1)]);
    loaded = (await open(dir)).load();
    expect(loaded.recovery.truncated?.reason).toContain("below its predecessor's");
    expect(loaded.entries).toEqual(normals(1, 6, 2));
  });

  test("a conflicting suffix is replaced by appending: replay keeps the newest records", async () => {
    const dir = dirForTest();
    await writeAndClose(dir, normals(1, 6, 1), 3);
    appendRecords(dir, normals(4, 5, 2));
    const loaded = (await open(dir)).load();
    expect(loaded.recovery.truncated).toBeNull();
    expect(loaded.entries).toEqual([...normals(1, 3, 1), ...normals(4, 5, 2)]);
  });

  test("a missing segment in the middle of the log stops startup", async () => {
    const dir = dirForTest();
    const store = await RaftLogStore.open(dir, { segmentBytes: 300 });
    store.load();
    for (let i = 1; i <= 30; i += 3) await store.persist({ entries: normals(i, i + 2, 1), hardState: { term: 1, vote: null, commit: i - 1 } });
    await store.close();
    const files = segmentFiles(dir);
    expect(files.length).toBeGreaterThan(3);
    unlinkSync(files[1]);
    expect(await rejectionOf(RaftLogStore.open(dir))).toBeInstanceOf(StorageCorruptionError);
  });
});
