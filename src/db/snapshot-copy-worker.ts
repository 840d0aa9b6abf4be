/**
 * The thread a snapshot copy runs on (copyDatabaseFileOffThread): one
 * request, one answer, then the thread ends.
 */
import { copyDatabaseFile } from "./snapshot-file.ts";

declare var self: Worker;

export type SnapshotCopyRequest = { readonly dbPath: string; readonly toPath: string };
export type SnapshotCopyAnswer = { readonly ok: true; readonly appliedIndex: number } | { readonly ok: false; readonly message: string };

self.onmessage = (event: MessageEvent<SnapshotCopyRequest>) => {
  let answer: SnapshotCopyAnswer;
  try {
    answer = { ok: true, ...copyDatabaseFile(event.data.dbPath, event.data.toPath) };
  } catch (e) {
    answer = { ok: false, message: e instanceof Error ? e.message : String(e) };
  }
  self.postMessage(answer);
};
