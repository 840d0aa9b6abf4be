import { afterEach, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { statSync } from "node:fs";
import { join } from "node:path";
import { BACKGROUND_AUTOCHECKPOINT_PAGES, WalCheckpointer } from "../../src/storage/wal-checkpointer.ts";
import { tempDir } from "./log-store-helpers.ts";

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

// Pages reach the database file only by a checkpoint: its size shows whether one ran, without running one.
const fileBytes = (path: string) => statSync(path).size;

function openWriter(path: string): Database {
  const db = new Database(path, { create: true });
  cleanups.push(() => db.close());
  db.exec(`PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA wal_autocheckpoint = ${BACKGROUND_AUTOCHECKPOINT_PAGES}`);
  db.exec("CREATE TABLE IF NOT EXISTS t (x BLOB)");
  return db;
}

async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 300 && !cond(); i++) await Bun.sleep(10);
}

test("a writer with the background threshold leaves checkpoints to the checkpointer, which copies the WAL into the file", async () => {
  const t = tempDir();
  cleanups.push(t.cleanup);
  const path = join(t.dir, "x.db");
  const db = openWriter(path);
  const insert = db.prepare("INSERT INTO t VALUES (?)");
  for (let i = 0; i < 1500; i++) insert.run(new Uint8Array(3000)); // ~1500 pages: past SQLite's default threshold of 1000
  expect(fileBytes(path)).toBeLessThan(100 * 4096); // the writer did not checkpoint on its own

  const cp = new WalCheckpointer([path], 10);
  cleanups.push(() => cp.close());
  await until(() => fileBytes(path) > 1500 * 4096);
  expect(fileBytes(path)).toBeGreaterThan(1500 * 4096);
  expect(cp.stats().lastError).toBeNull();
});

test("below the frame threshold nothing is checkpointed", async () => {
  const t = tempDir();
  cleanups.push(t.cleanup);
  const path = join(t.dir, "x.db");
  const db = openWriter(path);
  const insert = db.prepare("INSERT INTO t VALUES (?)");
  for (let i = 0; i < 300; i++) insert.run(new Uint8Array(3000));
  const cp = new WalCheckpointer([path], 10, 1000);
  cleanups.push(() => cp.close());
  await Bun.sleep(100);
  expect(fileBytes(path)).toBeLessThan(100 * 4096);
  for (let i = 0; i < 800; i++) insert.run(new Uint8Array(3000));
  await until(() => fileBytes(path) > 1000 * 4096);
  expect(fileBytes(path)).toBeGreaterThan(1000 * 4096);
});

test("a database that appears (or is replaced) after the checkpointer started is checkpointed too", async () => {
  const t = tempDir();
  cleanups.push(t.cleanup);
  const path = join(t.dir, "x.db");
  const cp = new WalCheckpointer([path], 10, 100);
  cleanups.push(() => cp.close());
  await Bun.sleep(50); // no file yet: nothing to do, no crash
  const db = openWriter(path);
  const insert = db.prepare("INSERT INTO t VALUES (?)");
  for (let i = 0; i < 200; i++) insert.run(new Uint8Array(3000));
  await until(() => fileBytes(path) > 100 * 4096);
  expect(fileBytes(path)).toBeGreaterThan(100 * 4096);
});
