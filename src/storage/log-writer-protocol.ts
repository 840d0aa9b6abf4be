import type { LogDatabaseOptions } from "./log-database.ts";
/** Messages between WorkerLogWriter (event-loop thread) and log-writer-worker.ts. */
import type { ConnectionPragmas } from "./log-database.ts";
import type { WriteOp, WriteReport } from "./log-write-batch.ts";

export type ToWriter =
  | { readonly type: "open"; readonly dir: string; readonly options: LogDatabaseOptions }
  | { readonly type: "write"; readonly seq: number; readonly ops: readonly WriteOp[] }
  | { readonly type: "pragmas"; readonly seq: number }
  | { readonly type: "close"; readonly seq: number };

export type FromWriter =
  | { readonly type: "opened" }
  | { readonly type: "open-failed"; readonly message: string }
  | { readonly type: "written"; readonly seq: number; readonly report: WriteReport }
  | { readonly type: "pragmas"; readonly seq: number; readonly pragmas: ConnectionPragmas }
  | { readonly type: "closed"; readonly seq: number }
  | { readonly type: "failed"; readonly seq: number; readonly message: string };
