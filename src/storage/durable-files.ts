/**
 * The file operations made durable outside a log batch write: syncing a path
 * (the log's segments and directory, the state machine's files and
 * snapshots), replacing a file.
 */
import { closeSync, fsyncSync, ftruncateSync, openSync, renameSync, writeFileSync } from "node:fs";
import { open } from "node:fs/promises";

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

/** fsyncPath on the runtime's I/O threads, so the event loop does not wait for the disk. */
export async function fsyncPathAsync(path: string): Promise<void> {
  const fh = await open(path, "r");
  try {
    await fh.sync();
  } finally {
    await fh.close();
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
