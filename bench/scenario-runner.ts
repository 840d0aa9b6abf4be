/** Runs one scenario against a started cluster and measures it (throughput, latency, CPU, RSS). */
import type { BenchNode, RunningCluster } from "./bench-node.ts";
import { BULK_TABLE } from "./environments.ts";
import { generateLoad, type ClientTransport, type LoadLength } from "./load-generator.ts";
import { commandLine, everyProcessCpu, machineBusySeconds, processCpuSeconds, readMemory, type ProcessCpu } from "./proc-stats.ts";
import { QuorumliteCluster } from "./quorumlite-cluster.ts";
import type { CpuShare, Measured, NodeMemory } from "./row-result.ts";
import type { BulkRowsScenario, IdleScenario, LoadScenario, Target } from "./scenarios.ts";

export interface RunOptions {
  /** Unmeasured load on a freshly started environment before its first row (see warmUpEnvironment). */
  readonly envWarmupMs: number;
  readonly warmupMs: number;
  readonly durationMs: number;
  readonly generators: number;
  readonly transport: ClientTransport;
}

async function pickTarget(cluster: RunningCluster, target: Target): Promise<{ node: BenchNode; label: string }> {
  const leaderId = await cluster.leaderId();
  const leader = cluster.nodes.find((n) => n.id === leaderId)!;
  if (target === "leader" || cluster.nodes.length === 1) return { node: leader, label: `${leader.id} (leader)` };
  const followers = cluster.nodes.filter((n) => n.id !== leaderId);
  const pick =
    target === "follower-in-leader-region"
      ? followers.find((n) => n.region === leader.region)
      : target === "follower-in-other-region"
        ? followers.find((n) => n.region !== leader.region)
        : followers[0];
  if (!pick) throw new Error(`no ${target} (leader ${leader.id}@${leader.region})`);
  return { node: pick, label: `${pick.id} (follower${pick.region !== "local" ? `, ${pick.region}` : ""})` };
}

export async function memoryOf(cluster: RunningCluster): Promise<NodeMemory[]> {
  const leaderId = await cluster.leaderId().catch(() => "");
  return cluster.nodes.map((n) => {
    const m = readMemory(n.pid);
    return { id: n.id, leader: n.id === leaderId, rssMb: m?.rssMb ?? NaN, peakMb: m?.peakMb ?? NaN };
  });
}

/**
 * Memory once the nodes have settled: a node gives the garbage of a burst back
 * only after it has been quiet for a moment (src/node/memory-release.ts), so
 * reading RSS the instant a load ends measures the burst, not what the node
 * needs to hold its data. Samples until no node's RSS has fallen by more than
 * 1 MiB for 1.5 s (at most `capMs`); the peak during the load stays in
 * `peakMb` (VmHWM).
 */
export async function settledMemoryOf(cluster: RunningCluster, capMs = 10_000): Promise<NodeMemory[]> {
  const started = performance.now();
  let lows = (await memoryOf(cluster)).map((m) => m.rssMb);
  let lastDrop = performance.now();
  while (performance.now() - started < capMs && performance.now() - lastDrop < 1_500) {
    await Bun.sleep(250);
    const now = (await memoryOf(cluster)).map((m) => m.rssMb);
    if (now.some((mb, i) => mb < lows[i]! - 1)) lastDrop = performance.now();
    lows = lows.map((low, i) => Math.min(low, now[i]!));
  }
  return memoryOf(cluster);
}

/** Samples CPU counters when the measured window opens and closes. */
function cpuProbe(cluster: RunningCluster) {
  const sample = () => ({
    at: performance.now(),
    machine: machineBusySeconds(),
    servers: cluster.nodes.reduce((a, n) => a + processCpuSeconds(n.pid), 0),
    everyone: everyProcessCpu(),
  });
  let start: ReturnType<typeof sample> | null = null;
  let end: ReturnType<typeof sample> | null = null;
  return {
    window: { start: () => (start = sample()), end: () => (end = sample()) },
    share(generatorCores: number): CpuShare | null {
      if (!start || !end) return null;
      const seconds = (end.at - start.at) / 1000;
      const servers = (end.servers - start.servers) / seconds;
      const machine = (end.machine - start.machine) / seconds;
      return { servers, generator: generatorCores, other: Math.max(0, machine - servers - generatorCores), topOthers: busiestOthers(start.everyone, end.everyone, seconds) };
    },
  };
}

/** Processes other than this orchestrator and its children (servers, generators), busiest first. */
function busiestOthers(before: Map<number, ProcessCpu>, after: Map<number, ProcessCpu>, seconds: number): { command: string; cores: number }[] {
  const ours = (p: ProcessCpu) => p.pid === process.pid || p.ppid === process.pid;
  const busy: { pid: number; command: string; cores: number }[] = [];
  for (const p of after.values()) {
    if (ours(p)) continue;
    const cores = (p.cpuSeconds - (before.get(p.pid)?.cpuSeconds ?? 0)) / seconds;
    if (cores >= 0.05) busy.push({ pid: p.pid, command: p.command, cores });
  }
  return busy
    .sort((a, b) => b.cores - a.cores)
    .slice(0, 3)
    .map((b) => ({ command: commandLine(b.pid, b.command).slice(0, 100), cores: b.cores }));
}

/**
 * Runs every load row of an environment in turn, unmeasured, for `opts.envWarmupMs`
 * in all (at least 0.5 s each). JavaScriptCore compiles a node's hot paths in tiers
 * over its first seconds of traffic: measured on a 3-node cluster with one writing
 * client, throughput rose by half between seconds 2–8 and 26–32 of load as the JIT
 * threads went quiet. Without this the first rows of each environment measured a
 * warming-up server. Every peer gets the same treatment (etcd, compiled ahead of
 * time, only writes a few more keys).
 */
export async function warmUpEnvironment(scenarios: readonly LoadScenario[], cluster: RunningCluster, opts: RunOptions): Promise<void> {
  if (scenarios.length === 0 || opts.envWarmupMs <= 0) return;
  const each = Math.max(500, opts.envWarmupMs / scenarios.length);
  for (const s of scenarios) {
    const { node } = await pickTarget(cluster, s.target);
    await generateLoad(s.workload([node.url]), s.clients, { kind: "duration", warmupMs: 0, durationMs: each }, { processes: opts.generators, transport: s.transport ?? opts.transport });
  }
}

export async function runLoadScenario(s: LoadScenario, cluster: RunningCluster, opts: RunOptions): Promise<Measured> {
  const { node, label } = await pickTarget(cluster, s.target);
  const length: LoadLength = { kind: "duration", warmupMs: opts.warmupMs, durationMs: opts.durationMs };
  const probe = cpuProbe(cluster);
  const r = await generateLoad(s.workload([node.url]), s.clients, length, {
    processes: opts.generators,
    transport: s.transport ?? opts.transport,
    window: probe.window,
  });
  const h = r.histogram;
  return {
    status: "ok",
    name: s.name,
    env: s.env,
    what: s.what,
    clients: s.clients,
    sentTo: label,
    unit: s.statementsPerOp > 1 ? "statements/s" : "ops/s",
    throughput: (r.ops * s.statementsPerOp) / (r.windowMs / 1000),
    ops: r.ops,
    errors: r.errors,
    unfinished: r.unfinished,
    errorSamples: r.errorSamples,
    windowMs: r.windowMs,
    p50Ms: h.percentileMicros(0.5) / 1000,
    p90Ms: h.percentileMicros(0.9) / 1000,
    p99Ms: h.percentileMicros(0.99) / 1000,
    maxMs: h.maxMicros / 1000,
    meanMs: h.meanMicros / 1000,
    vsEtcd: null,
    vsCeiling: null,
    memory: await memoryOf(cluster),
    cpu: probe.share(r.generatorCpuCores),
  };
}

/**
 * Loads `rows` rows through the leader with INSERT … SELECT statements (one
 * log entry each), waits until every node has applied them, then reads RSS.
 * Latency columns are per statement.
 */
export async function runBulkRows(s: BulkRowsScenario, cluster: RunningCluster, budgetMs: number): Promise<Measured> {
  if (!(cluster instanceof QuorumliteCluster)) throw new Error(`${s.name} needs a quorumlite cluster`);
  const leaderId = await cluster.leaderId();
  const started = performance.now();
  const latencies: number[] = [];
  let loaded = 0;
  while (loaded < s.rows && performance.now() - started < budgetMs) {
    const n = Math.min(s.rowsPerStatement, s.rows - loaded);
    const sql =
      `INSERT INTO ${BULK_TABLE} (id, v) WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ${n}) ` +
      `SELECT x + ${loaded}, printf('%0100d', x + ${loaded}) FROM c`;
    const t0 = performance.now();
    await cluster.sql({ sql }, "", 120_000);
    latencies.push(performance.now() - t0);
    loaded += n;
  }
  const elapsedMs = performance.now() - started;
  await cluster.waitCaughtUp(120_000);
  const sorted = [...latencies].sort((a, b) => a - b);
  const q = (p: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))] ?? NaN;
  return {
    status: "ok",
    name: s.name,
    env: s.env,
    what: loaded < s.rows ? `${s.what} — only ${loaded.toLocaleString("en-US")} rows within the time budget` : s.what,
    clients: 1,
    sentTo: `${leaderId} (leader)`,
    unit: "rows/s",
    throughput: loaded / (elapsedMs / 1000),
    ops: latencies.length,
    errors: 0,
    unfinished: 0,
    errorSamples: [],
    windowMs: elapsedMs,
    p50Ms: q(0.5),
    p90Ms: q(0.9),
    p99Ms: q(0.99),
    maxMs: sorted.at(-1) ?? NaN,
    meanMs: latencies.reduce((a, b) => a + b, 0) / Math.max(1, latencies.length),
    vsEtcd: null,
    vsCeiling: null,
    memory: await settledMemoryOf(cluster),
    cpu: null,
  };
}

/** Sends nothing for one window and reports what the servers used meanwhile. */
export async function runIdle(s: IdleScenario, cluster: RunningCluster, opts: RunOptions): Promise<Measured> {
  const probe = cpuProbe(cluster);
  await Bun.sleep(opts.warmupMs);
  probe.window.start();
  await Bun.sleep(opts.durationMs);
  probe.window.end();
  const leaderId = await cluster.leaderId();
  return {
    status: "ok",
    name: s.name,
    env: s.env,
    what: s.what,
    clients: 0,
    sentTo: `– (leader ${leaderId})`,
    unit: "ops/s",
    throughput: 0,
    ops: 0,
    errors: 0,
    unfinished: 0,
    errorSamples: [],
    windowMs: opts.durationMs,
    p50Ms: NaN,
    p90Ms: NaN,
    p99Ms: NaN,
    maxMs: NaN,
    meanMs: NaN,
    vsEtcd: null,
    vsCeiling: null,
    memory: await memoryOf(cluster),
    cpu: probe.share(0),
  };
}
