/**
 * Worker entry point: owns the Raft log's write connection. Batches arrive one
 * at a time from WorkerLogWriter; each is one transaction and one fsync.
 */
import type { Database } from "bun:sqlite";
import { openLogDatabase, readPragmas } from "./log-database.ts";
import { LogWriteTarget } from "./log-write-batch.ts";
import type { FromWriter, ToWriter } from "./log-writer-protocol.ts";

declare var self: Worker;

let db: Database | null = null;
let target: LogWriteTarget | null = null;

function reply(msg: FromWriter): void {
  self.postMessage(msg);
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}

self.onmessage = (event: MessageEvent<ToWriter>) => {
  const msg = event.data;
  switch (msg.type) {
    case "open":
      try {
        db = openLogDatabase(msg.dir, msg.options);
        target = new LogWriteTarget(db);
        reply({ type: "opened" });
      } catch (err) {
        reply({ type: "open-failed", message: errorMessage(err) });
      }
      return;
    case "write":
      try {
        if (!target) throw new Error("raft log writer is not open");
        reply({ type: "written", seq: msg.seq, report: target.apply(msg.ops) });
      } catch (err) {
        reply({ type: "failed", seq: msg.seq, message: errorMessage(err) });
      }
      return;
    case "pragmas":
      if (db) reply({ type: "pragmas", seq: msg.seq, pragmas: readPragmas(db) });
      else reply({ type: "failed", seq: msg.seq, message: "raft log writer is not open" });
      return;
    case "close":
      // close(true) finalizes cached statements and releases the file now, so the WAL is checkpointed.
      db?.close(true);
      db = null;
      target = null;
      reply({ type: "closed", seq: msg.seq });
      return;
  }
};
