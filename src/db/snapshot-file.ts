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
 * it. The copy opens connections of its own, so it runs in a Worker
 * (copyDatabaseFileOffThread).
 */
import { Database } from "bun:sqlite";
import { copyFileSync, existsSync, renameSync, rmSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { fsyncPath } from "../storage/durable-files.ts";
import { META_TABLE } from "./internal-schema.ts";
import type { SnapshotCopyAnswer, SnapshotCopyRequest } from "./snapshot-copy-worker.ts";

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
    fsyncPath(tmp);
    const appliedIndex = readSnapshotIndex(tmp);
    renameSync(tmp, toPath);
    fsyncPath(dirname(toPath));
    return { appliedIndex };
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

/**
 * copyDatabaseFile on a thread of its own. VACUUM INTO of a large database
 * takes long (about 0.5 s for 1M rows here, plus the fsync): on the event
 * loop it held up heartbeats until the followers elected a new leader, every
 * time the leader shipped a snapshot to a lagging follower.
 */
export function copyDatabaseFileOffThread(dbPath: string, toPath: string): Promise<{ appliedIndex: number }> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL("./snapshot-copy-worker.ts", import.meta.url).href);
    const finish = (settle: () => void) => {
      void worker.terminate();
      settle();
    };
    worker.onmessage = (e: MessageEvent<SnapshotCopyAnswer>) => {
      const a = e.data;
      finish(() => (a.ok ? resolve({ appliedIndex: a.appliedIndex }) : reject(new Error(a.message))));
    };
    worker.onerror = (e: ErrorEvent) => finish(() => reject(new Error(`snapshot copy thread failed: ${e.message}`)));
    worker.postMessage({ dbPath, toPath } satisfies SnapshotCopyRequest);
  });
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
  fsyncPath(fromPath);
  try {
    renameSync(fromPath, dbPath);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EXDEV") throw e;
    const tmp = tempPathNear(dbPath);
    copyFileSync(fromPath, tmp);
    fsyncPath(tmp);
    renameSync(tmp, dbPath);
    rmSync(fromPath, { force: true });
  }
  fsyncPath(dirname(dbPath));
}
