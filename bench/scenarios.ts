/**
 * Every row of the benchmark table: which peer and cluster shape it runs
 * against, which node the clients talk to, what they send, and which rows it
 * is compared with. `bun bench/run.ts --list` prints them.
 */
import type { ClientTransport } from "./load-generator.ts";
import type { Workload } from "./workload.ts";

export type EnvironmentName = "generator" | "etcd" | "single" | "local" | "geo";

/** Which node(s) the clients talk to. */
export type Target = "leader" | "follower" | "follower-in-leader-region" | "follower-in-other-region";

export interface LoadScenario {
  readonly kind: "load";
  readonly name: string;
  readonly env: EnvironmentName;
  readonly what: string;
  readonly clients: number;
  readonly target: Target;
  readonly workload: (urls: readonly string[]) => Workload;
  /** Statements per request (100 for the batch rows); throughput is reported in statements/s. */
  readonly statementsPerOp: number;
  readonly transport?: ClientTransport;
  /** The etcd row this one is compared with (throughput ratio), if any. */
  readonly etcdBaseline: string | null;
  /** The single-node quorumlite row this one is compared with, if any. */
  readonly ceilingBaseline: string | null;
}

/** Loads `rows` rows in statements of `rowsPerStatement` each, then reads every node's RSS. */
export interface BulkRowsScenario {
  readonly kind: "bulk-rows";
  readonly name: string;
  readonly env: EnvironmentName;
  readonly what: string;
  readonly rows: number;
  readonly rowsPerStatement: number;
}

/** No requests at all for one window: what the servers cost at rest (CPU, RSS). */
export interface IdleScenario {
  readonly kind: "idle";
  readonly name: string;
  readonly env: EnvironmentName;
  readonly what: string;
}

export type Scenario = LoadScenario | BulkRowsScenario | IdleScenario;

export const PAYLOAD_BYTES = 100;
export const SEED_ROWS = 10_000;
export const ETCD_KEYS = 1_000;
export const BATCH_STATEMENTS = 100;

export interface EnvironmentSpec {
  readonly name: EnvironmentName;
  readonly describe: string;
}

export const ENVIRONMENTS: readonly EnvironmentSpec[] = [
  { name: "generator", describe: "trivial Bun.serve that answers POST /sql with a fixed body (the load generator's ceiling)" },
  { name: "etcd", describe: "etcd 3.4 (Debian etcd-server), 3 members on loopback, HTTP JSON gateway" },
  { name: "single", describe: "quorumlite, 1 node (no replication): the ceiling" },
  { name: "local", describe: "quorumlite, 3 nodes on loopback, no simulated latency" },
  { name: "geo", describe: "quorumlite, 3 nodes ams,ams,iad; one-way 1 ms inside a region, 15 ms ams↔iad; leader in ams" },
];

const sqlInsert = (query: string) => (urls: readonly string[]): Workload => ({ kind: "sql-insert", urls, query, payloadBytes: PAYLOAD_BYTES });
const sqlRead = (query: string) => (urls: readonly string[]): Workload => ({ kind: "sql-point-read", urls, query, rows: SEED_ROWS });
const sqlBatch = (urls: readonly string[]): Workload => ({ kind: "sql-batch", urls, query: "", statements: BATCH_STATEMENTS, payloadBytes: PAYLOAD_BYTES });
const sqlMixed = (urls: readonly string[]): Workload => ({ kind: "sql-mixed", urls, query: "", readPercent: 90, rows: SEED_ROWS, payloadBytes: PAYLOAD_BYTES });

function load(
  name: string,
  env: EnvironmentName,
  what: string,
  clients: number,
  target: Target,
  workload: (urls: readonly string[]) => Workload,
  compare: { etcd?: string; ceiling?: string; statementsPerOp?: number; transport?: ClientTransport } = {},
): LoadScenario {
  return {
    kind: "load",
    name,
    env,
    what,
    clients,
    target,
    workload,
    statementsPerOp: compare.statementsPerOp ?? 1,
    ...(compare.transport ? { transport: compare.transport } : {}),
    etcdBaseline: compare.etcd ?? null,
    ceilingBaseline: compare.ceiling ?? null,
  };
}

const WRITE_CLIENTS = [1, 16, 64, 256] as const;
/** 16 clients leave the cluster waiting on fsyncs; 64 (as for single-row throughput) saturate it. */
const BATCH_CLIENTS = [16, 64] as const;

export const SCENARIOS: readonly Scenario[] = [
  // The load generator against a server that does nothing: the most any row can show.
  ...[1, 64, 256].map((c) => load(`gen-${c}`, "generator", "generator ceiling: trivial server, raw-socket clients", c, "leader", (urls) => ({ kind: "echo", urls, payloadBytes: PAYLOAD_BYTES }))),
  load("gen-fetch-64", "generator", "generator ceiling: trivial server, Bun fetch clients", 64, "leader", (urls) => ({ kind: "echo", urls, payloadBytes: PAYLOAD_BYTES }), { transport: "fetch" }),

  { kind: "idle", name: "etcd-idle", env: "etcd", what: "no requests: the 3 members at rest" },
  ...WRITE_CLIENTS.map((c) => load(`etcd-put-${c}`, "etcd", "etcd put via leader", c, "leader", (urls) => ({ kind: "etcd-put", urls, keys: ETCD_KEYS, payloadBytes: PAYLOAD_BYTES }))),
  load("etcd-range-1", "etcd", "etcd range (linearizable) via leader", 1, "leader", (urls) => ({ kind: "etcd-range", urls, keys: ETCD_KEYS, serializable: false })),
  load("etcd-range-64", "etcd", "etcd range (linearizable) via leader", 64, "leader", (urls) => ({ kind: "etcd-range", urls, keys: ETCD_KEYS, serializable: false })),
  load("etcd-range-serializable-64", "etcd", "etcd range (serializable) at a follower", 64, "follower", (urls) => ({ kind: "etcd-range", urls, keys: ETCD_KEYS, serializable: true })),
  load("etcd-mixed-64", "etcd", "etcd 90% range / 10% put via leader", 64, "leader", (urls) => ({ kind: "etcd-mixed", urls, keys: ETCD_KEYS, readPercent: 90, payloadBytes: PAYLOAD_BYTES })),

  ...WRITE_CLIENTS.map((c) => load(`single-${c}`, "single", "INSERT, 1 node (ceiling)", c, "leader", sqlInsert(""), { etcd: `etcd-put-${c}` })),
  load("single-read-none-64", "single", "SELECT level=none, 1 node", 64, "leader", sqlRead("?level=none")),
  load("single-read-linearizable-64", "single", "SELECT level=linearizable, 1 node", 64, "leader", sqlRead("?level=linearizable"), { etcd: "etcd-range-64" }),
  ...BATCH_CLIENTS.map((c) => load(`single-batch100-${c}`, "single", "batch of 100 INSERTs (statements/s), 1 node", c, "leader", sqlBatch, { statementsPerOp: BATCH_STATEMENTS })),
  load("single-mixed-64", "single", "90% SELECT / 10% INSERT, 1 node", 64, "leader", sqlMixed, { etcd: "etcd-mixed-64" }),

  { kind: "idle", name: "local-idle", env: "local", what: "no requests: the 3 nodes at rest" },
  ...WRITE_CLIENTS.map((c) => load(`local-${c}`, "local", "INSERT via leader", c, "leader", sqlInsert(""), { etcd: `etcd-put-${c}`, ceiling: `single-${c}` })),
  ...WRITE_CLIENTS.map((c) => load(`local-follower-${c}`, "local", "INSERT via a follower (forwarded)", c, "follower", sqlInsert(""), { etcd: `etcd-put-${c}`, ceiling: `single-${c}` })),
  load("local-read-none-leader-64", "local", "SELECT level=none at the leader", 64, "leader", sqlRead("?level=none"), { etcd: "etcd-range-serializable-64", ceiling: "single-read-none-64" }),
  load("local-read-none-follower-64", "local", "SELECT level=none at a follower", 64, "follower", sqlRead("?level=none"), { etcd: "etcd-range-serializable-64", ceiling: "single-read-none-64" }),
  load("local-read-weak-64", "local", "SELECT level=weak (leader lease)", 64, "leader", sqlRead("?level=weak"), { etcd: "etcd-range-64", ceiling: "single-read-none-64" }),
  load("local-read-linearizable-leader-1", "local", "SELECT level=linearizable at the leader", 1, "leader", sqlRead("?level=linearizable"), { etcd: "etcd-range-1" }),
  load("local-read-linearizable-leader-64", "local", "SELECT level=linearizable at the leader", 64, "leader", sqlRead("?level=linearizable"), { etcd: "etcd-range-64", ceiling: "single-read-linearizable-64" }),
  load("local-read-linearizable-follower-1", "local", "SELECT level=linearizable at a follower (ReadIndex)", 1, "follower", sqlRead("?level=linearizable"), { etcd: "etcd-range-1" }),
  load("local-read-linearizable-follower-64", "local", "SELECT level=linearizable at a follower (ReadIndex)", 64, "follower", sqlRead("?level=linearizable"), { etcd: "etcd-range-64", ceiling: "single-read-linearizable-64" }),
  load("local-read-strong-64", "local", "SELECT level=strong (through the log)", 64, "leader", sqlRead("?level=strong"), { etcd: "etcd-range-64" }),
  ...BATCH_CLIENTS.map((c) =>
    load(`local-batch100-${c}`, "local", "batch of 100 INSERTs in a transaction (statements/s)", c, "leader", sqlBatch, { statementsPerOp: BATCH_STATEMENTS, ceiling: `single-batch100-${c}` }),
  ),
  load("local-mixed-64", "local", "90% SELECT (linearizable) / 10% INSERT via leader", 64, "leader", sqlMixed, { etcd: "etcd-mixed-64", ceiling: "single-mixed-64" }),
  { kind: "bulk-rows", name: "local-rss-1m", env: "local", what: "load 1,000,000 rows (10 INSERT…SELECT of 100k), then RSS once the nodes are quiet", rows: 1_000_000, rowsPerStatement: 100_000 },

  load("geo-majority-1", "geo", "INSERT sync=majority (fastest majority) via leader", 1, "leader", sqlInsert("?sync=majority")),
  load("geo-majority-16", "geo", "INSERT sync=majority (fastest majority) via leader", 16, "leader", sqlInsert("?sync=majority")),
  load("geo-remote-region-1", "geo", "INSERT sync=remote-region via leader", 1, "leader", sqlInsert("?sync=remote-region")),
  load("geo-all-1", "geo", "INSERT sync=all (every voter) via leader", 1, "leader", sqlInsert("?sync=all")),
  load("geo-all-16", "geo", "INSERT sync=all (every voter) via leader", 16, "leader", sqlInsert("?sync=all")),
  load("geo-follower-1", "geo", "INSERT via the ams follower (forwarded)", 1, "follower-in-leader-region", sqlInsert("")),
  load("geo-read-linearizable-follower-1", "geo", "SELECT level=linearizable at the ams follower", 1, "follower-in-leader-region", sqlRead("?level=linearizable")),
  load("geo-read-linearizable-far-1", "geo", "SELECT level=linearizable at the iad follower", 1, "follower-in-other-region", sqlRead("?level=linearizable")),
  load("geo-read-none-far-64", "geo", "SELECT level=none at the iad follower", 64, "follower-in-other-region", sqlRead("?level=none")),
];

/**
 * `--only` selection: a name that matches a scenario exactly selects just
 * that one (so `local-1` is not `local-16` too); otherwise every scenario whose
 * name starts with it. Several may be given, comma-separated.
 */
export function selectScenarios(all: readonly Scenario[], only: string | null): Scenario[] {
  if (only === null || only.trim() === "") return [...all];
  const picked = new Set<Scenario>();
  for (const raw of only.split(",")) {
    const want = raw.trim();
    const exact = all.filter((s) => s.name === want);
    for (const s of exact.length > 0 ? exact : all.filter((s) => s.name.startsWith(want))) picked.add(s);
  }
  return all.filter((s) => picked.has(s));
}
