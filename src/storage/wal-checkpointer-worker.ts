/**
 * WalCheckpointer's thread: a PASSIVE checkpoint of each database every
 * interval, on a connection opened for it — a snapshot install replaces the
 * state machine's file, and a long-lived connection would keep the old one.
 */
import { Database } from "bun:sqlite";
import { statSync } from "node:fs";

declare var self: Worker;

function checkpoint(path: string): void {
  const db = new Database(path, { readwrite: true, create: false });
  try {
    db.exec("PRAGMA busy_timeout = 0");
    db.exec("PRAGMA synchronous = NORMAL");
    db.query("PRAGMA wal_checkpoint(PASSIVE)").get();
  } finally {
    db.close();
  }
}

self.onmessage = (event: MessageEvent<{ paths: string[]; intervalMs: number }>) => {
  const { paths, intervalMs } = event.data;
  self.onmessage = null;
  let checkpoints = 0;
  let lastError: string | null = null;
  // An idle node's WAL does not change: skip it rather than open a connection ten times a second.
  const seen = new Map<string, string>();
  setInterval(() => {
    for (const path of paths) {
      try {
        const wal = statSync(`${path}-wal`, { throwIfNoEntry: false });
        const mark = wal ? `${wal.size}:${wal.mtimeMs}` : "none";
        if (seen.get(path) === mark) continue;
        checkpoint(path);
        seen.set(path, mark);
        checkpoints++;
      } catch (e) {
        // Busy (another checkpoint runs) or the file is being replaced: the next interval retries.
        lastError = e instanceof Error ? e.message : String(e);
      }
    }
    self.postMessage({ checkpoints, lastError });
  }, intervalMs);
};
