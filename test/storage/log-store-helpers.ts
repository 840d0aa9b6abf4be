/** Shared bits for the storage tests: temp dirs and entry builders. */
import { closeSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Entry, HardState, Membership, SnapshotMeta, Term } from "../../src/raft/types.ts";
import { scanLog } from "../../src/storage/log-recovery.ts";
import { readRecordAt } from "../../src/storage/segment-reader.ts";

export function tempDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), "ql-storage-test-"));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Deterministic payload for an index, so a reader can check content without knowing the writer's state. */
export function payloadFor(index: number, size = 16 + (index % 48)): Uint8Array {
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i++) out[i] = (index * 31 + i * 7) & 0xff;
  return out;
}

export function normal(index: number, term: Term, data: Uint8Array = payloadFor(index)): Entry {
  return { type: "normal", term, index, data };
}

export function normals(from: number, to: number, term: Term): Entry[] {
  const out: Entry[] = [];
  for (let i = from; i <= to; i++) out.push(normal(i, term));
  return out;
}

export const threeVoters: Membership = {
  members: [
    { id: "n1", role: "voter", region: "ams" },
    { id: "n2", role: "voter", region: "ams" },
    { id: "n3", role: "voter", region: "iad" },
  ],
};

/**
 * The error a promise rejects with (null if it fulfils). Used instead of
 * `expect(p).rejects`, which in Bun 1.4.5 never settles for a promise that is
 * still pending and is rejected later from a Worker message.
 */
export function rejectionOf(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => null,
    (err: unknown) => err,
  );
}

/** Paths of the log's segment files, oldest first. */
export function segmentFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((n) => n.endsWith(".seg"))
    .sort()
    .map((n) => join(dir, n));
}

/** The log as the files hold it right now (read-only replay, as a restart would see it). */
export function onDisk(dir: string): { hardState: HardState; entries: Entry[]; snapshot: SnapshotMeta | null } {
  const { replay } = scanLog(dir);
  return { hardState: replay.hardState, entries: replay.entries, snapshot: replay.snapshot };
}

/** Every file in dir with its bytes, to prove a refused open changed nothing. */
export function snapshotOfFiles(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const n of readdirSync(dir).sort()) out[n] = Bun.hash.crc32(readFileSync(join(dir, n))).toString(16) + ":" + statSync(join(dir, n)).size;
  return out;
}

/** Where a segment's records end (a preallocated file is longer: zeros follow). */
export function recordsEnd(path: string): number {
  const buf = new Uint8Array(readFileSync(path));
  let at = 0;
  for (;;) {
    const r = readRecordAt(buf, at);
    if (r.kind !== "record") return at;
    at = r.end;
  }
}

/** Writes bytes where a segment's records end, as the next batch would. */
export function writeAtRecordsEnd(path: string, bytes: Uint8Array): void {
  const fd = openSync(path, "r+");
  try {
    writeSync(fd, bytes, 0, bytes.length, recordsEnd(path));
  } finally {
    closeSync(fd);
  }
}
