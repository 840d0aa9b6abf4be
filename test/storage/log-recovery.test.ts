import { afterEach, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { RaftLogStore } from "../../src/storage/raft-log-store.ts";
import { logDatabasePath } from "../../src/storage/log-database.ts";
import { StorageCorruptionError } from "../../src/storage/storage-errors.ts";
import type { Entry } from "../../src/raft/types.ts";
import { normal, normals, rejectionOf, tempDir, threeVoters } from "./log-store-helpers.ts";

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

function withMarker(index: number, term: number, m: Uint8Array): Entry {
  return normal(index, term, m);
}

/**
 * Flips one byte of `needle` inside raft.db, as a failing disk would. The store
 * must be closed first: closing the last connection checkpoints the WAL into
 * raft.db and removes it, so the bytes are in exactly one place.
 */
function flipByteOf(dir: string, needle: Uint8Array): void {
  const path = logDatabasePath(dir);
  expect(existsSync(`${path}-wal`)).toBe(false);
  const file = new Uint8Array(readFileSync(path));
  const at = Buffer.from(file).indexOf(Buffer.from(needle));
  expect(at).toBeGreaterThanOrEqual(0);
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

describe("startup recovery", () => {
  test("a corrupt last entry is detected, cut off durably and reported", async () => {
    const dir = dirForTest();
    const m = marker("tail");
    await writeAndClose(dir, [...normals(1, 9, 1), withMarker(10, 1, m)], 8);
    flipByteOf(dir, m);

    const store = await open(dir);
    const loaded = store.load();
    expect(loaded.recovery.truncated).toEqual({ fromIndex: 10, dropped: 1, reason: "entry 10 fails its checksum" });
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
    await writeAndClose(dir, [...normals(1, 5, 1), withMarker(6, 1, m), ...normals(7, 12, 1)], 5);
    flipByteOf(dir, m);
    const loaded = (await open(dir)).load();
    expect(loaded.recovery.truncated).toMatchObject({ fromIndex: 6, dropped: 7 });
    expect(loaded.entries).toEqual(normals(1, 5, 1));
  });

  test("corruption after a compaction point is found relative to it", async () => {
    const dir = dirForTest();
    const m = marker("after-snap");
    await writeAndClose(dir, [...normals(1, 7, 1), withMarker(8, 2, m)], 4, 4);
    flipByteOf(dir, m);
    const loaded = (await open(dir)).load();
    expect(loaded.snapshot).toEqual({ index: 4, term: 1, membership: threeVoters });
    expect(loaded.recovery.truncated).toMatchObject({ fromIndex: 8, dropped: 1 });
    expect(loaded.entries).toEqual(normals(5, 7, 1));
  });

  test("a corrupt committed entry stops startup and leaves the file as it was", async () => {
    const dir = dirForTest();
    const m = marker("committed");
    await writeAndClose(dir, [...normals(1, 3, 1), withMarker(4, 1, m), ...normals(5, 6, 1)], 5);
    flipByteOf(dir, m);
    const err = await rejectionOf(RaftLogStore.open(dir));
    expect(err).toBeInstanceOf(StorageCorruptionError);
    expect(String(err)).toContain("entry 4 fails its checksum");
    const inspect = new Database(logDatabasePath(dir), { readonly: true });
    expect(inspect.query("SELECT count(*) AS n FROM entries").get()).toEqual({ n: 6 });
    inspect.close();
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
    const err = await rejectionOf(RaftLogStore.open(dir));
    expect(err).toBeInstanceOf(StorageCorruptionError);
    expect(String(err)).toContain("hardState");
  });

  test("a missing row (a gap) cuts the log at the gap", async () => {
    const dir = dirForTest();
    await writeAndClose(dir, normals(1, 10, 1), 3);
    const db = new Database(logDatabasePath(dir));
    db.exec("DELETE FROM entries WHERE idx = 7");
    db.close();
    const loaded = (await open(dir)).load();
    expect(loaded.recovery.truncated).toEqual({ fromIndex: 7, dropped: 3, reason: "gap: expected index 7, found 8" });
    expect(loaded.entries).toEqual(normals(1, 6, 1));
  });

  test("a row whose columns disagree with its checksummed body is treated as corrupt", async () => {
    const dir = dirForTest();
    await writeAndClose(dir, normals(1, 10, 1), 3);
    const db = new Database(logDatabasePath(dir));
    db.exec("UPDATE entries SET term = 2 WHERE idx = 9");
    db.close();
    const loaded = (await open(dir)).load();
    expect(loaded.recovery.truncated).toMatchObject({ fromIndex: 9, dropped: 2 });
    expect(loaded.entries).toEqual(normals(1, 8, 1));
  });
});
