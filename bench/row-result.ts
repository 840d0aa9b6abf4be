/** One measured (or failed) row of the benchmark table, as written to bench/results/latest.json. */
import type { EnvironmentName } from "./scenarios.ts";

export interface NodeMemory {
  readonly id: string;
  readonly leader: boolean;
  readonly rssMb: number;
  readonly peakMb: number;
}

/** Average cores busy over the measured window (1.0 = one core fully busy). */
export interface CpuShare {
  readonly servers: number;
  readonly generator: number;
  /** Everything else on the machine: other processes, kernel threads (I/O, journaling), interrupts. */
  readonly other: number;
  /** The busiest of those other processes during the window. */
  readonly topOthers: readonly { readonly command: string; readonly cores: number }[];
}

export interface Measured {
  readonly status: "ok";
  readonly name: string;
  readonly env: EnvironmentName;
  readonly what: string;
  readonly clients: number;
  /** The node(s) the clients talked to, e.g. "n2 (follower)". */
  readonly sentTo: string;
  readonly unit: "ops/s" | "statements/s" | "rows/s";
  readonly throughput: number;
  readonly ops: number;
  readonly errors: number;
  /** Requests started in the window whose answer came only after it closed (not in throughput or latency). */
  readonly unfinished: number;
  readonly errorSamples: readonly string[];
  readonly windowMs: number;
  readonly p50Ms: number;
  readonly p90Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  readonly meanMs: number;
  readonly vsEtcd: number | null;
  readonly vsCeiling: number | null;
  readonly memory: readonly NodeMemory[];
  readonly cpu: CpuShare | null;
}

export interface Failed {
  readonly status: "failed";
  readonly name: string;
  readonly env: EnvironmentName;
  readonly what: string;
  readonly clients: number;
  readonly error: string;
}

export type RowResult = Measured | Failed;
