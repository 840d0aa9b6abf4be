/** Messages between WorkerLogWriter (event-loop thread) and log-writer-worker.ts. */
import type { LogDurability, SegmentWrite, SegmentWriterOptions, WriteReport } from "./segment-writer.ts";

export type ToWriter =
  | { readonly type: "open"; readonly dir: string; readonly options: SegmentWriterOptions }
  | { readonly type: "write"; readonly seq: number; readonly batch: SegmentWrite }
  | { readonly type: "durability"; readonly seq: number }
  | { readonly type: "close"; readonly seq: number };

export type FromWriter =
  | { readonly type: "opened" }
  | { readonly type: "open-failed"; readonly message: string }
  | { readonly type: "written"; readonly seq: number; readonly report: WriteReport }
  | { readonly type: "durability"; readonly seq: number; readonly durability: LogDurability }
  | { readonly type: "closed"; readonly seq: number }
  | { readonly type: "failed"; readonly seq: number; readonly message: string };
