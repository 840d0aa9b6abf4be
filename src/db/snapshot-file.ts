/**
 * Snapshot files: a consistent, self-contained copy of a live WAL database
 * and the swap of a received copy into place.
 *
 * The copy is made with VACUUM INTO from a read-only connection of its own:
 * it reads one committed snapshot of the database (WAL included), streams
 * pages to the new file without holding the database in memory, and does not
 * block the writer. The copy comes out in rollback-journal mode (header bytes
 * 18–19 = 1) with no -wal file to go with it, which is what a file meant to be
 * shipped should be; the state machine switches it back to WAL when it opens
 * it. This module opens its own connections, so it can also run in a Worker.
 */
import { Database } from "bun:sqlite";
import { closeSync, copyFileSync, existsSync, fsyncSync, openSync, renameSync, rmSync } from "node:fs";
import { open } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { META_TABLE } from "./internal-schema.ts";

/** fsync(2) of the file (or directory) at `path`: flushes what any descriptor wrote to it. */
export function fsyncFile(path: string): void {
  const fd = openSync(path, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** fsyncFile on the runtime's I/O threads, so the event loop does not wait for the disk. */
export async function fsyncFileAsync(path: string): Promise<void> {
  const fh = await open(path, "r");
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Makes a rename in `dir` durable. */
export function fsyncDirectory(dir: string): void {
  fsyncFile(dir);
}

function tempPathNear(path: string): string {
  return join(dirname(path), `.${basename(path)}.tmp-${process.pid}-${Date.now()}-${Math.floor(Math.random() * 1e9)}`);
}

/** The applied index a (closed) database file records. Throws if the file is not a state machine database. */
export function readSnapshotIndex(path: string): number {
  if (!existsSync(path)) throw new Error(`snapshot file not found: ${path}`);
  let v: unknown;
  try {
    const db = new Database(path, { readonly: true, safeIntegers: false });
    try {
      v = (db.query(`SELECT value FROM ${META_TABLE} WHERE key = 'applied_index'`).get() as { value: unknown } | null)?.value;
    } finally {
      db.close();
    }
  } catch (e) {
    throw new Error(`not a quorumlite snapshot (${(e as Error).message}): ${path}`);
  }
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0) throw new Error(`not a quorumlite snapshot (no applied index): ${path}`);
  return v;
}

/**
 * Writes a consistent copy of the database at `dbPath` to `toPath` (replaced
 * atomically, fsynced) and returns the applied index the copy holds.
 */
export function copyDatabaseFile(dbPath: string, toPath: string): { appliedIndex: number } {
  const tmp = tempPathNear(toPath);
  try {
    const src = new Database(dbPath, { readonly: true });
    try {
      src.run("PRAGMA busy_timeout = 5000");
      src.prepare("VACUUM INTO ?").run(tmp);
    } finally {
      src.close();
    }
    fsyncFile(tmp);
    const appliedIndex = readSnapshotIndex(tmp);
    renameSync(tmp, toPath);
    fsyncDirectory(dirname(toPath));
    return { appliedIndex };
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

/**
 * Puts the snapshot file `fromPath` in place of the (closed) database at
 * `dbPath`. The old -wal/-shm go first: a stale WAL applied to the new file
 * would corrupt it. A crash in between leaves the old database without its
 * un-checkpointed tail, which is an older consistent state (its applied index
 * goes back with its data). `fromPath` is moved, or copied when it lives on
 * another file system.
 */
export function installDatabaseFile(fromPath: string, dbPath: string): void {
  rmSync(`${dbPath}-wal`, { force: true });
  rmSync(`${dbPath}-shm`, { force: true });
  fsyncFile(fromPath);
  try {
    renameSync(fromPath, dbPath);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EXDEV") throw e;
    const tmp = tempPathNear(dbPath);
    copyFileSync(fromPath, tmp);
    fsyncFile(tmp);
    renameSync(tmp, dbPath);
    rmSync(fromPath, { force: true });
  }
  fsyncDirectory(dirname(dbPath));
}
