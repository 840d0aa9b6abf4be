/**
 * Worker entry point: writes the Raft log's segment files. Batches arrive one
 * at a time from WorkerLogWriter; each is one write and one fdatasync.
 */
import { SegmentFileWriter } from "./segment-writer.ts";
import type { FromWriter, ToWriter } from "./log-writer-protocol.ts";

declare var self: Worker;

let target: SegmentFileWriter | null = null;

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
        target = new SegmentFileWriter(msg.dir, msg.options);
        reply({ type: "opened" });
      } catch (err) {
        reply({ type: "open-failed", message: errorMessage(err) });
      }
      return;
    case "write":
      try {
        if (!target) throw new Error("raft log writer is not open");
        reply({ type: "written", seq: msg.seq, report: target.apply(msg.batch) });
      } catch (err) {
        reply({ type: "failed", seq: msg.seq, message: errorMessage(err) });
      }
      return;
    case "durability":
      if (target) reply({ type: "durability", seq: msg.seq, durability: target.durability() });
      else reply({ type: "failed", seq: msg.seq, message: "raft log writer is not open" });
      return;
    case "close":
      target?.close();
      target = null;
      reply({ type: "closed", seq: msg.seq });
      return;
  }
};
