/** The few file operations the log makes durable outside a batch write: syncing a path, replacing a file. */
import { closeSync, fsyncSync, ftruncateSync, openSync, renameSync, writeFileSync } from "node:fs";

/** fsync(2) of a file or directory by path (flushes what any descriptor wrote); with `truncateTo`, cuts the file there first. */
export function fsyncPath(path: string, truncateTo?: number): void {
  const fd = openSync(path, truncateTo === undefined ? "r" : "r+");
  try {
    if (truncateTo !== undefined) ftruncateSync(fd, truncateTo);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Replaces `path` (in `dir`) with `content` atomically: a temporary file, synced, renamed over it, then the directory synced. */
export function replaceFileDurably(dir: string, path: string, content: Uint8Array): void {
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, content);
  fsyncPath(tmp);
  renameSync(tmp, path);
  fsyncPath(dir);
}
