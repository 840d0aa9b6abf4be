/**
 * A Jepsen-style run against a real cluster: `quorumlite serve` processes on
 * 127.0.0.1 (test/support/cluster.ts), clients appending and reading over
 * HTTP through every node, and a nemesis that kills (-9), restarts and pauses
 * (SIGSTOP) nodes on a seeded schedule, and — with `partitions`, each node in
 * its own network namespace — cuts a node (often the leader) off from its
 * peers while its clients still reach it. The history goes to checkHistory.
 *
 * Appends carry an x-quorumlite-request-id, and a client resends an append
 * whose outcome it does not know (timeout, 503, dead node) with the same id —
 * what the API tells users to do — so the run also checks exactly-once
 * application across leader changes and restarts.
 */
import { hash32, Prng } from "../sim/prng.ts";
import { TestCluster, type ClusterOptions } from "../support/cluster.ts";
import { NetnsLab } from "../support/netns-lab.ts";
import { checkHistory, type AppendOp, type ReadOp, type Row, type Violation } from "./history-checker.ts";

export type FaultKind = "kill" | "kill-leader" | "kill-majority" | "pause-leader" | "pause-follower" | "isolate-leader" | "isolate";
/** Faults that need nothing but process signals. */
export const PROCESS_FAULTS: readonly FaultKind[] = ["kill", "kill-leader", "kill-majority", "pause-leader", "pause-follower"];
/** Faults that cut a node's peer links while its clients still reach it (needs a NetnsLab). */
export const NETWORK_FAULTS: readonly FaultKind[] = ["isolate-leader", "isolate"];
export const ALL_FAULTS: readonly FaultKind[] = [...PROCESS_FAULTS, ...NETWORK_FAULTS];

export interface NemesisOptions {
  /** How long clients issue new operations and the nemesis injects faults. */
  readonly seconds: number;
  readonly seed: number;
  /** Concurrent client loops; each appends to its own stream and reads random streams. */
  readonly clients?: number;
  /** Default: PROCESS_FAULTS, plus NETWORK_FAULTS when `partitions` is set. */
  readonly faults?: readonly FaultKind[];
  /** Run each node in its own network namespace so the nemesis can isolate it (root and iproute2; see NetnsLab). */
  readonly partitions?: boolean;
  /** The level reads are sent at; the checker holds them to linearizability whatever it is. */
  readonly readLevel?: "none" | "weak" | "linearizable" | "strong";
  /** Each client starts a fresh stream this often, so the checker's work stays linear in the run's length. */
  readonly streamSeconds?: number;
  readonly cluster?: ClusterOptions;
  readonly log?: (line: string) => void;
}

export interface NemesisStats {
  readonly appendsAcked: number;
  readonly appendsUnknown: number;
  readonly appendsFailed: number;
  /** Resends of an append whose earlier attempt had an unknown outcome. */
  readonly resends: number;
  /** Resends acknowledged after an earlier attempt of the same append had timed out or got a 503. */
  readonly ackedAfterResend: number;
  readonly reads: number;
  readonly readsFailed: number;
  readonly faults: readonly string[];
  readonly firstTerm: number;
  readonly lastTerm: number;
}

export interface NemesisResult {
  readonly violations: readonly Violation[];
  readonly stats: NemesisStats;
}

const TABLE = "nemesis_appends";
const REQUEST_TIMEOUT_MS = 2_000;
/** After the faults stop, appends still unresolved keep being resent this long. */
const RESOLVE_MS = 20_000;
const STREAMS_PER_EPOCH = 1_000;

export async function runNemesis(opts: NemesisOptions): Promise<NemesisResult> {
  const log = opts.log ?? (() => {});
  const lab = opts.partitions ? NetnsLab.create(opts.cluster?.nodes ?? 3) : null;
  try {
    const cluster = await TestCluster.start({ ...opts.cluster, ...(lab ? { netns: lab } : {}) });
    try {
      return await runOn(cluster, lab, opts, log);
    } catch (e) {
      log(cluster.dumpLogs());
      throw e;
    } finally {
      await cluster.stop();
    }
  } finally {
    lab?.destroy();
  }
}

async function runOn(cluster: TestCluster, lab: NetnsLab | null, opts: NemesisOptions, log: (line: string) => void): Promise<NemesisResult> {
  const ids = cluster.specs.map((s) => s.id);
  const leader = await cluster.leader();
  for (const sql of [`CREATE TABLE ${TABLE} (id INTEGER PRIMARY KEY, client INTEGER NOT NULL, seq INTEGER NOT NULL)`, `CREATE INDEX ${TABLE}_client ON ${TABLE} (client, seq)`]) {
    const r = await cluster.sql(leader, { sql });
    if (r.status !== 200) throw new Error(`setup failed: ${r.text}`);
  }
  const firstTerm = await maxTerm(cluster);

  const t0 = performance.now();
  const now = () => performance.now() - t0;
  const endAt = opts.seconds * 1000;
  const streamMs = (opts.streamSeconds ?? 20) * 1000;
  const epochOf = (t: number) => Math.floor(t / streamMs);
  const clients = opts.clients ?? 6;
  const level = opts.readLevel ?? "linearizable";

  const appends: AppendOp[] = [];
  const reads: ReadOp[] = [];
  let resends = 0;
  let ackedAfterResend = 0;
  let readsFailed = 0;

  const post = async (node: string, query: string, body: unknown, headers: Record<string, string> = {}) => {
    try {
      const r = await fetch(`${cluster.url(node)}/sql${query}`, {
        method: "POST",
        body: JSON.stringify(body),
        headers: { "content-type": "application/json", ...headers },
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
      return { status: r.status, text: await r.text() };
    } catch (e) {
      return { status: 0, text: (e as Error).message };
    }
  };

  const append = async (prng: Prng, stream: number, seq: number): Promise<void> => {
    const invokedAt = now();
    const requestId = `nemesis-${opts.seed}-${stream}-${seq}`;
    const body = { sql: `INSERT INTO ${TABLE} (client, seq) VALUES (?, ?)`, args: [stream, seq] };
    let outcome: AppendOp["outcome"] = "unknown";
    let ackedAt: number | null = null;
    for (let attempt = 0; ; attempt++) {
      if (attempt > 0) resends++;
      const r = await post(prng.pick(ids), "", body, { "x-quorumlite-request-id": requestId });
      if (r.status === 200) {
        outcome = "ok";
        ackedAt = now();
        if (attempt > 0) ackedAfterResend++;
        break;
      }
      // A 400 is a definite refusal (nothing applied); anything else may or may not have been.
      if (r.status === 400 && attempt === 0) {
        outcome = "failed";
        break;
      }
      if (now() > endAt + RESOLVE_MS) break;
      await Bun.sleep(prng.intIn(20, 150));
    }
    appends.push({ client: stream, seq, invokedAt, outcome, ackedAt });
  };

  const read = async (prng: Prng): Promise<void> => {
    const invokedAt = now();
    const stream = epochOf(invokedAt) * STREAMS_PER_EPOCH + prng.int(clients);
    const node = prng.pick(ids);
    const r = await post(node, `?level=${level}`, { sql: `SELECT seq FROM ${TABLE} WHERE client = ? ORDER BY seq`, args: [stream] });
    const completedAt = now();
    if (r.status !== 200) {
      readsFailed++;
      return;
    }
    const rows = (JSON.parse(r.text) as { result: { rows: { seq: number }[] } }).result.rows;
    reads.push({ ofClient: stream, invokedAt, completedAt, seqs: rows.map((x) => x.seq), node });
  };

  const clientLoop = async (c: number): Promise<void> => {
    const prng = new Prng(hash32(opts.seed, c + 1));
    let stream = -1;
    let seq = 0;
    while (now() < endAt) {
      const s = epochOf(now()) * STREAMS_PER_EPOCH + c;
      if (s !== stream) {
        stream = s;
        seq = 0;
      }
      if (prng.chance(0.5)) await append(prng, stream, seq++);
      else await read(prng);
    }
  };

  const faults = opts.faults ?? (lab ? ALL_FAULTS : PROCESS_FAULTS);
  if (!lab && faults.some((f) => NETWORK_FAULTS.includes(f))) throw new Error(`${NETWORK_FAULTS.join(", ")} need partitions: true`);
  const nemesis = runFaults(cluster, lab, new Prng(hash32(opts.seed, 0)), faults, () => now() < endAt, log);
  await Promise.all([...Array.from({ length: clients }, (_, c) => clientLoop(c)), nemesis.done]);
  log(`faults over after ${(now() / 1000).toFixed(1)} s; waiting for every node to apply the same index`);

  const finalRows = await settledRows(cluster);
  const lastTerm = await maxTerm(cluster);
  const violations = checkHistory({ appends, reads, finalRows });
  return {
    violations,
    stats: {
      appendsAcked: appends.filter((a) => a.outcome === "ok").length,
      appendsUnknown: appends.filter((a) => a.outcome === "unknown").length,
      appendsFailed: appends.filter((a) => a.outcome === "failed").length,
      resends,
      ackedAfterResend,
      reads: reads.length,
      readsFailed,
      faults: nemesis.applied,
      firstTerm,
      lastTerm,
    },
  };
}

/** Injects one fault at a time until `going()` turns false, then heals everything. */
function runFaults(cluster: TestCluster, lab: NetnsLab | null, prng: Prng, kinds: readonly FaultKind[], going: () => boolean, log: (line: string) => void): { done: Promise<void>; applied: string[] } {
  const applied: string[] = [];
  const ids = cluster.specs.map((s) => s.id);
  const note = (what: string) => {
    applied.push(what);
    log(`nemesis: ${what}`);
  };
  const downFor = async (victims: readonly string[], ms: number) => {
    for (const v of victims) await cluster.kill(v);
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
  return { done, applied };
}

async function currentLeader(cluster: TestCluster): Promise<string | null> {
  const states = await Promise.all(cluster.specs.filter((s) => cluster.procs.has(s.id)).map(async (s) => ({ id: s.id, st: await cluster.status(s.id) })));
  return states.find((x) => x.st?.role === "leader")?.id ?? null;
}

async function maxTerm(cluster: TestCluster): Promise<number> {
  const terms = await Promise.all(cluster.specs.map(async (s) => Number((await cluster.status(s.id))?.term ?? 0)));
  return Math.max(...terms);
}

/** Every node's rows once all have applied the leader's commit index. */
async function settledRows(cluster: TestCluster): Promise<Map<string, Row[]>> {
  const leader = await cluster.waitForLeader();
  // A strong read goes through the log: once it answers, the leader has committed every entry before it.
  await cluster.waitFor(async () => (await cluster.sql(leader, { sql: `SELECT count(*) AS n FROM ${TABLE}` }, "?level=strong")).status === 200, 20_000, "a strong read");
  const commit = Number((await cluster.status(leader))?.commit_index ?? 0);
  const out = new Map<string, Row[]>();
  for (const s of cluster.specs) {
    await cluster.waitFor(async () => Number((await cluster.status(s.id))?.applied_index ?? -1) >= commit, 20_000, `${s.id} to apply index ${commit}`);
    const r = await cluster.sql(s.id, { sql: `SELECT id, client, seq FROM ${TABLE} ORDER BY id` }, "?level=none");
    if (r.status !== 200) throw new Error(`final read at ${s.id} failed: ${r.text}`);
    out.set(s.id, (r.json as { result: { rows: Row[] } }).result.rows);
  }
  return out;
}
