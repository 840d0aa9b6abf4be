import { afterEach, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { RaftLogStore } from "../../src/storage/raft-log-store.ts";
import { encodeEntry } from "../../src/storage/entry-codec.ts";
import { hardStateJson, snapshotMetaJson } from "../../src/storage/state-records.ts";
import { StorageCorruptionError } from "../../src/storage/storage-errors.ts";
import type { Entry, HardState, SnapshotMeta } from "../../src/raft/types.ts";
import { normal, normals, rejectionOf, segmentFiles, snapshotOfFiles, tempDir, threeVoters } from "./log-store-helpers.ts";

const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const crc = (data: Uint8Array | string) => Bun.hash.crc32(data);

/** A raft.db as the SQLite-backed store (before segment files) left it, WAL and all. */
function writeLegacyLog(dir: string, hs: HardState, snapshot: SnapshotMeta | null, entries: readonly Entry[]): void {
  const db = new Database(join(dir, "raft.db"), { create: true, strict: true });
  db.exec("PRAGMA journal_mode = WAL");
  db.exec(`
    CREATE TABLE entries (idx INTEGER PRIMARY KEY, term INTEGER NOT NULL, crc INTEGER NOT NULL, body BLOB NOT NULL);
    CREATE TABLE state (key TEXT PRIMARY KEY, value TEXT NOT NULL, crc INTEGER NOT NULL) WITHOUT ROWID;
  `);
  const put = db.prepare("INSERT INTO state (key, value, crc) VALUES (?1, ?2, ?3)");
  put.run("format", "1", crc("1"));
  put.run("hardState", hardStateJson(hs), crc(hardStateJson(hs)));
  if (snapshot) put.run("snapshot", snapshotMetaJson(snapshot), crc(snapshotMetaJson(snapshot)));
  const insert = db.prepare("INSERT INTO entries (idx, term, crc, body) VALUES (?1, ?2, ?3, ?4)");
  for (const e of entries) {
    const body = encodeEntry(e);
    insert.run(e.index, e.term, crc(body), body);
  }
  // Closed without a checkpoint's help: the rows may still sit in raft.db-wal, as after a crash.
  db.close(false);
}

function dirForTest(): string {
  const t = tempDir();
  cleanups.push(t.cleanup);
  return t.dir;
}

test("an old raft.db is converted into a first segment on open, then renamed out of the way", async () => {
  const dir = dirForTest();
  const snapshot: SnapshotMeta = { index: 4, term: 1, membership: threeVoters };
  const entries = [...normals(5, 9, 1), { type: "noop", term: 2, index: 10 } as Entry, normal(11, 2, new Uint8Array(20_000).fill(7))];
  writeLegacyLog(dir, { term: 2, vote: "n3", commit: 10 }, snapshot, entries);

  const store = await RaftLogStore.open(dir);
  const loaded = store.load();
  expect(loaded.hardState).toEqual({ term: 2, vote: "n3", commit: 10 });
  expect(loaded.snapshot).toEqual(snapshot);
  expect(loaded.entries).toEqual(entries);
  expect(loaded.recovery).toMatchObject({ migratedFromSqlite: true, truncated: null, segments: 1 });
  expect(existsSync(join(dir, "raft.db"))).toBe(false);
  expect(existsSync(join(dir, "raft.db.migrated"))).toBe(true);
  expect(segmentFiles(dir).length).toBe(1);
  await store.persist({ entries: [normal(12, 2)], hardState: { term: 2, vote: "n3", commit: 11 } });
  await store.close();

  const again = await RaftLogStore.open(dir);
  cleanups.push(() => again.close());
  const reloaded = again.load();
  expect(reloaded.recovery.migratedFromSqlite).toBeUndefined();
  expect(reloaded.entries).toEqual([...entries, normal(12, 2)]);
  expect(reloaded.hardState.commit).toBe(11);
});

test("a raft.db next to existing segments is left alone (a conversion that crashed after writing its segment)", async () => {
  const dir = dirForTest();
  const store = await RaftLogStore.open(dir);
  store.load();
  await store.persist({ entries: normals(1, 3, 1) });
  await store.close();
  writeLegacyLog(dir, { term: 9, vote: null, commit: 0 }, null, normals(1, 50, 9));
  const again = await RaftLogStore.open(dir);
  cleanups.push(() => again.close());
  expect(again.load().entries).toEqual(normals(1, 3, 1));
  expect(existsSync(join(dir, "raft.db"))).toBe(true);
});

test("a damaged committed entry in the old log refuses the conversion and changes nothing", async () => {
  const dir = dirForTest();
  writeLegacyLog(dir, { term: 1, vote: null, commit: 5 }, null, normals(1, 6, 1));
  const db = new Database(join(dir, "raft.db"));
  db.exec("UPDATE entries SET crc = crc + 1 WHERE idx = 3");
  db.close();
  // raft.db-shm is SQLite's shared-memory index, rewritten by any reader: not log content.
  const files = () => Object.fromEntries(Object.entries(snapshotOfFiles(dir)).filter(([name]) => !name.endsWith("-shm")));
  const before = files();
  expect(await rejectionOf(RaftLogStore.open(dir))).toBeInstanceOf(StorageCorruptionError);
  expect(files()).toEqual(before);
  expect(segmentFiles(dir)).toEqual([]);
});
