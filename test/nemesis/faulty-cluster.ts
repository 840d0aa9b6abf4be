/**
 * A real cluster under a seeded nemesis, shared by the nemesis workloads
 * (nemesis-run.ts: appends and reads; bank-run.ts: transfers in interactive
 * transactions). Faults come one at a time: kill -9 and restart, SIGSTOP and
 * SIGCONT, a majority down, and — with `partitions`, each node in its own
 * network namespace — a node cut off from its peers while its clients still
 * reach it.
 */
import { hash32, Prng } from "../sim/prng.ts";
import { TestCluster, type ClusterOptions } from "../support/cluster.ts";
import { NetnsLab } from "../support/netns-lab.ts";
import { ViolationList, type Finding } from "./violation-list.ts";

export type FaultKind = "kill" | "kill-leader" | "kill-majority" | "pause-leader" | "pause-follower" | "isolate-leader" | "isolate";
/** Faults that need nothing but process signals. */
export const PROCESS_FAULTS: readonly FaultKind[] = ["kill", "kill-leader", "kill-majority", "pause-leader", "pause-follower"];
/** Faults that cut a node's peer links while its clients still reach it (needs a NetnsLab). */
export const NETWORK_FAULTS: readonly FaultKind[] = ["isolate-leader", "isolate"];
export const ALL_FAULTS: readonly FaultKind[] = [...PROCESS_FAULTS, ...NETWORK_FAULTS];

export interface FaultyClusterOptions {
  readonly seed: number;
  /** Default: PROCESS_FAULTS, plus NETWORK_FAULTS when `partitions` is set. */
  readonly faults?: readonly FaultKind[];
  /** Run each node in its own network namespace so the nemesis can isolate it (root and iproute2; see NetnsLab). */
  readonly partitions?: boolean;
  readonly cluster?: ClusterOptions;
  /**
   * Compact the log every this many applied entries, keeping only a few behind, so a node
   * that was down for a moment comes back through a snapshot rather than the log.
   */
  readonly snapshotEvery?: number;
  readonly log?: (line: string) => void;
}

export interface FaultRun {
  readonly done: Promise<void>;
  /** What was injected, in order. */
  readonly applied: readonly string[];
  /** Snapshots shipped by nodes, read from each just before it was killed. */
  readonly snapshotsSentByKilled: () => number;
  /** Nodes that exited without being killed (a FATAL), each restarted so the run could go on. */
  readonly crashes: readonly string[];
}

/** What the nemesis did, for a run's stats. */
export interface FaultStats {
  readonly faults: readonly string[];
  /** Snapshots leaders shipped to followers (a lower bound: a killed node's count is read just before the kill). */
  readonly snapshotsSent: number;
  readonly firstTerm: number;
  readonly lastTerm: number;
  /**
   * The leader's region once the run settled. With a preferred region, the nodes are given
   * PLACEMENT_WAIT_MS to move leadership back there (issue 5's automatic transfer back).
   */
  readonly leaderRegion: string | null;
  readonly preferredRegion: string | null;
  /**
   * From the end of the faults until the leader served a strong read (a write through the log):
   * how long the healed cluster took to take writes again. Availability, not safety — but a
   * stall here is a bug (SETTLE_LIMIT_MS).
   */
  readonly settleMs: number;
  /** See FaultRun.crashes: any entry is a bug. */
  readonly crashes: readonly string[];
}

/** A healed 3-node cluster elects a leader in about a second; taking this long to serve a write is a stall. */
export const SETTLE_LIMIT_MS = 10_000;

/** What a run's stats show wrong whatever the workload: crashes, a stall after the faults, leadership not back home. */
export function runFindings(stats: FaultStats): Finding<"node-crashed" | "slow-recovery" | "leader-not-home">[] {
  const found = new ViolationList<"node-crashed" | "slow-recovery" | "leader-not-home">();
  for (const c of stats.crashes) found.add("node-crashed", c);
  if (stats.settleMs >= SETTLE_LIMIT_MS) found.add("slow-recovery", `the healed cluster took ${stats.settleMs} ms to serve a write (limit ${SETTLE_LIMIT_MS} ms)`);
  if (stats.preferredRegion !== null && stats.leaderRegion !== stats.preferredRegion) {
    found.add("leader-not-home", `the leader is in ${stats.leaderRegion ?? "no region"} ${PLACEMENT_WAIT_MS / 1000} s after the faults, not in the preferred region ${stats.preferredRegion}`);
  }
  return found.list();
}

export interface FaultyCluster {
  readonly cluster: TestCluster;
  readonly ids: readonly string[];
  readonly log: (line: string) => void;
  /** Runs the workload's setup statements through the leader; the run's first term is taken after them. */
  setUp(statements: readonly string[]): Promise<void>;
  /** Runs `clients` loops while the nemesis injects faults until `going()` turns false; resolves once every node is back. */
  drive(clients: number, loop: (client: number) => Promise<void>, going: () => boolean): Promise<FaultRun>;
  /** Once every node has applied the leader's commit index: each node's answer to `select` (at level=none), and what the run saw. */
  settle<R>(run: FaultRun, select: string): Promise<{ readonly rows: Map<string, R[]>; readonly stats: FaultStats }>;
}

/** Starts the cluster (in a NetnsLab when asked), runs `body`, and always tears both down. */
export async function withFaultyCluster<T>(opts: FaultyClusterOptions, body: (fc: FaultyCluster) => Promise<T>): Promise<T> {
  const log = opts.log ?? (() => {});
  const faults = opts.faults ?? (opts.partitions ? ALL_FAULTS : PROCESS_FAULTS);
  if (!opts.partitions && faults.some((f) => NETWORK_FAULTS.includes(f))) throw new Error(`${NETWORK_FAULTS.join(", ")} need partitions: true`);
  const lab = opts.partitions ? NetnsLab.create(opts.cluster?.nodes ?? 3) : null;
  try {
    const snapshotArgs = opts.snapshotEvery ? ["--snapshot-threshold", String(opts.snapshotEvery), "--snapshot-keep", String(Math.max(1, Math.floor(opts.snapshotEvery / 10)))] : [];
    const cluster = await TestCluster.start({
      ...opts.cluster,
      extraArgs: [...(opts.cluster?.extraArgs ?? []), ...snapshotArgs],
      ...(lab ? { netns: lab } : {}),
    });
    let firstTerm = 0;
    const fc: FaultyCluster = {
      cluster,
      ids: cluster.specs.map((s) => s.id),
      log,
      setUp: async (statements) => {
        const leader = await cluster.leader();
        for (const sql of statements) {
          const r = await cluster.sql(leader, { sql });
          if (r.status !== 200) throw new Error(`setup failed: ${r.text}`);
        }
        firstTerm = await maxTerm(cluster);
      },
      drive: async (clients, loop, going) => {
        const started = performance.now();
        const run = runFaults(cluster, lab, new Prng(hash32(opts.seed, 0)), faults, going, log);
        await Promise.all([...Array.from({ length: clients }, (_, c) => loop(c)), run.done]);
        log(`faults over after ${((performance.now() - started) / 1000).toFixed(1)} s; waiting for every node to apply the same index`);
        return run;
      },
      settle: async <R>(run: FaultRun, select: string) => {
        const { rows, settleMs } = await settledRows<R>(cluster, select, log);
        let snapshotsSent = run.snapshotsSentByKilled();
        for (const s of cluster.specs) snapshotsSent += await snapshotsSentBy(cluster, s.id);
        const preferredRegion = opts.cluster?.preferredRegion ?? null;
        const leaderRegion = await leaderRegionAtEnd(cluster, preferredRegion);
        const stats: FaultStats = { faults: run.applied, snapshotsSent, firstTerm, lastTerm: await maxTerm(cluster), leaderRegion, preferredRegion, settleMs, crashes: run.crashes };
        return { rows, stats };
      },
    };
    try {
      return await body(fc);
    } catch (e) {
      log(cluster.dumpLogs());
      for (const spec of cluster.specs) log(`${spec.id} /status: ${JSON.stringify(await cluster.status(spec.id))}`);
      throw e;
    } finally {
      await cluster.stop();
    }
  } finally {
    lab?.destroy();
  }
}

/** Injects one fault at a time until `going()` turns false, then heals everything. */
function runFaults(cluster: TestCluster, lab: NetnsLab | null, prng: Prng, kinds: readonly FaultKind[], going: () => boolean, log: (line: string) => void): FaultRun {
  const applied: string[] = [];
  const crashes: string[] = [];
  let sentByKilled = 0;
  const ids = cluster.specs.map((s) => s.id);
  // The nemesis's own kills take a node out of `procs` before it exits: an exited process still
  // there stopped by itself.
  const reapCrashed = () => {
    for (const id of ids) {
      const proc = cluster.procs.get(id);
      if (proc?.exitCode == null && proc?.signalCode == null) continue;
      const lines = cluster.logs.get(id) ?? [];
      const why = [...lines].reverse().find((l) => l.includes("FATAL")) ?? lines.at(-1) ?? "no log";
      crashes.push(`${id} exited with ${proc.exitCode ?? proc.signalCode}: ${why}`);
      log(`nemesis: ${id} crashed (${why}); restarting it`);
      cluster.spawn(id);
    }
  };
  const note = (what: string) => {
    applied.push(what);
    log(`nemesis: ${what}`);
  };
  const downFor = async (victims: readonly string[], ms: number) => {
    for (const v of victims) {
      sentByKilled += await snapshotsSentBy(cluster, v);
      await cluster.kill(v);
    }
    await Bun.sleep(ms);
    for (const v of victims) cluster.spawn(v);
  };
  const done = (async () => {
    if (kinds.length === 0) {
      while (going()) await Bun.sleep(100);
      return;
    }
    while (going()) {
      await Bun.sleep(prng.intIn(700, 2_000));
      reapCrashed();
      if (!going()) break;
      const kind = prng.pick(kinds);
      const leader = await currentLeader(cluster);
      const followers = ids.filter((id) => id !== leader);
      const anyNode = prng.pick(ids);
      const ms = prng.intIn(300, 3_000);
      switch (kind) {
        case "kill":
          note(`kill -9 ${anyNode} for ${ms} ms`);
          await downFor([anyNode], ms);
          break;
        case "kill-leader":
          if (leader === null) break;
          note(`kill -9 leader ${leader} for ${ms} ms`);
          await downFor([leader], ms);
          break;
        case "kill-majority": {
          const victims = prng.shuffle(ids).slice(0, Math.floor(ids.length / 2) + 1);
          note(`kill -9 ${victims.join(" and ")} (no quorum) for ${ms} ms`);
          await downFor(victims, ms);
          break;
        }
        case "pause-leader":
        case "pause-follower": {
          const victim = kind === "pause-leader" ? leader : (followers.length > 0 ? prng.pick(followers) : null);
          if (victim === null) break;
          note(`SIGSTOP ${kind === "pause-leader" ? "leader" : "follower"} ${victim} for ${ms} ms`);
          cluster.pause(victim);
          await Bun.sleep(ms);
          cluster.resume(victim);
          break;
        }
        case "isolate-leader":
        case "isolate": {
          const victim = kind === "isolate-leader" ? leader : anyNode;
          if (victim === null || lab === null) break;
          note(`isolate ${kind === "isolate-leader" ? "leader " : ""}${victim} from its peers for ${ms} ms`);
          const index = ids.indexOf(victim);
          lab.isolate(index);
          await Bun.sleep(ms);
          lab.heal(index);
          break;
        }
      }
    }
  })();
  return { done: done.then(reapCrashed), applied, crashes, snapshotsSentByKilled: () => sentByKilled };
}

async function currentLeader(cluster: TestCluster): Promise<string | null> {
  const states = await Promise.all(cluster.specs.filter((s) => cluster.procs.has(s.id)).map(async (s) => ({ id: s.id, st: await cluster.status(s.id) })));
  return states.find((x) => x.st?.role === "leader")?.id ?? null;
}

/** Snapshots node `id` has shipped since it started (0 if it does not answer). */
async function snapshotsSentBy(cluster: TestCluster, id: string): Promise<number> {
  try {
    const r = await fetch(`${cluster.url(id)}/nodes`, { signal: AbortSignal.timeout(500) });
    const body = (await r.json()) as { transport?: { peers?: { snapshotsSent?: number }[] } };
    return (body.transport?.peers ?? []).reduce((n, p) => n + (p.snapshotsSent ?? 0), 0);
  } catch {
    return 0;
  }
}

const PLACEMENT_WAIT_MS = 30_000;

/** The leader's region: at once without a preferred region, else once it is there (or after PLACEMENT_WAIT_MS, wherever it is). */
async function leaderRegionAtEnd(cluster: TestCluster, preferred: string | null): Promise<string | null> {
  const deadline = Date.now() + PLACEMENT_WAIT_MS;
  for (;;) {
    const leader = await currentLeader(cluster);
    const region = leader === null ? null : cluster.spec(leader).region;
    if (preferred === null || region === preferred || Date.now() > deadline) return region;
    await Bun.sleep(200);
  }
}

async function maxTerm(cluster: TestCluster): Promise<number> {
  const terms = await Promise.all(cluster.specs.map(async (s) => Number((await cluster.status(s.id))?.term ?? 0)));
  return Math.max(...terms);
}

/** Every node's rows once all have applied the leader's commit index. */
async function settledRows<R>(cluster: TestCluster, select: string, log: (line: string) => void): Promise<{ rows: Map<string, R[]>; settleMs: number }> {
  const started = Date.now();
  const leader = await cluster.waitForLeader();
  const elected = Date.now();
  // A strong read goes through the log: once it answers, the leader has committed every entry before it.
  let refusals = 0;
  let lastRefusal = "";
  await cluster.waitFor(
    async () => {
      const r = await cluster.sql(leader, { sql: "SELECT 1" }, "?level=strong");
      if (r.status === 200) return true;
      refusals++;
      lastRefusal = `${r.status} ${r.text.slice(0, 200)}`;
      return false;
    },
    20_000,
    "a strong read",
  );
  const settleMs = Date.now() - started;
  if (settleMs > 3_000) {
    log(`settling was slow: all nodes ready after ${elected - started} ms, then ${refusals} strong reads refused over ${Date.now() - elected} ms (last: ${lastRefusal})`);
  }
  const commit = Number((await cluster.status(leader))?.commit_index ?? 0);
  const out = new Map<string, R[]>();
  for (const s of cluster.specs) {
    await cluster.waitFor(async () => Number((await cluster.status(s.id))?.applied_index ?? -1) >= commit, 20_000, `${s.id} to apply index ${commit}`);
    const r = await cluster.sql(s.id, { sql: select }, "?level=none");
    if (r.status !== 200) throw new Error(`final read at ${s.id} failed: ${r.text}`);
    out.set(s.id, (r.json as { result: { rows: R[] } }).result.rows);
  }
  return { rows: out, settleMs };
}
