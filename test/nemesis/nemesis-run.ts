/**
 * The append workload, Jepsen-style, against a real cluster under faults
 * (faulty-cluster.ts): clients append (client, seq) rows and read them back
 * through every node; the history goes to checkHistory.
 *
 * Appends carry an x-quorumlite-request-id, and a client resends an append
 * whose outcome it does not know (timeout, 503, dead node) with the same id —
 * what the API tells users to do — so the run also checks exactly-once
 * application across leader changes and restarts.
 */
import { createClient, QuorumliteError, type Client } from "../../src/client/index.ts";
import { hash32, Prng } from "../sim/prng.ts";
import { withFaultyCluster, type FaultStats, type FaultyCluster, type FaultyClusterOptions } from "./faulty-cluster.ts";
import { checkHistory, type AppendOp, type ReadOp, type Row, type Violation } from "./history-checker.ts";

export interface NemesisOptions extends FaultyClusterOptions {
  /** How long clients issue new operations and the nemesis injects faults. */
  readonly seconds: number;
  /** Concurrent client loops; each appends to its own stream and reads random streams. */
  readonly clients?: number;
  /** The level reads are sent at; the checker holds them to linearizability whatever it is. */
  readonly readLevel?: "none" | "weak" | "linearizable" | "strong";
  /**
   * How clients talk to the cluster. `http`: plain POST /sql to a random node per attempt, resending an
   * append whose outcome is unknown with the same request id. `client`: one quorumlite/client per loop
   * (its own leader routing, retries and request ids); an append it gives up on stays unknown.
   */
  readonly via?: "http" | "client";
  /** Each client starts a fresh stream this often, so the checker's work stays linear in the run's length. */
  readonly streamSeconds?: number;
}

export interface NemesisStats extends FaultStats {
  readonly appendsAcked: number;
  readonly appendsUnknown: number;
  readonly appendsFailed: number;
  /** Resends of an append whose earlier attempt had an unknown outcome. */
  readonly resends: number;
  /** Resends acknowledged after an earlier attempt of the same append had timed out or got a 503. */
  readonly ackedAfterResend: number;
  readonly reads: number;
  readonly readsFailed: number;
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

export function runNemesis(opts: NemesisOptions): Promise<NemesisResult> {
  return withFaultyCluster(opts, (fc) => runOn(fc, opts));
}

async function runOn(fc: FaultyCluster, opts: NemesisOptions): Promise<NemesisResult> {
  const { cluster, ids } = fc;
  await fc.setUp([`CREATE TABLE ${TABLE} (id INTEGER PRIMARY KEY, client INTEGER NOT NULL, seq INTEGER NOT NULL)`, `CREATE INDEX ${TABLE}_client ON ${TABLE} (client, seq)`]);

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

  const selectSeqs = { sql: `SELECT seq FROM ${TABLE} WHERE client = ? ORDER BY seq` };
  const insert = { sql: `INSERT INTO ${TABLE} (client, seq) VALUES (?, ?)` };

  const append = async (prng: Prng, client: Client | null, stream: number, seq: number): Promise<void> => {
    const invokedAt = now();
    const args = [stream, seq];
    let outcome: AppendOp["outcome"] = "unknown";
    let ackedAt: number | null = null;
    if (client) {
      try {
        await client.execute({ ...insert, args });
        outcome = "ok";
        ackedAt = now();
      } catch (e) {
        // SQL errors are not retried by the client and mean nothing was applied; anything else may have been.
        if (e instanceof QuorumliteError && e.code.startsWith("SQLITE")) outcome = "failed";
      }
      appends.push({ client: stream, seq, invokedAt, outcome, ackedAt });
      return;
    }
    const requestId = `nemesis-${opts.seed}-${stream}-${seq}`;
    for (let attempt = 0; ; attempt++) {
      if (attempt > 0) resends++;
      const r = await post(prng.pick(ids), "", { ...insert, args }, { "x-quorumlite-request-id": requestId });
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

  const read = async (prng: Prng, client: Client | null): Promise<void> => {
    const invokedAt = now();
    const stream = epochOf(invokedAt) * STREAMS_PER_EPOCH + prng.int(clients);
    let seqs: number[];
    let node: string;
    if (client) {
      node = "quorumlite/client";
      try {
        seqs = (await client.execute({ ...selectSeqs, args: [stream] })).rows.map((r) => Number(r.seq));
      } catch {
        readsFailed++;
        return;
      }
    } else {
      node = prng.pick(ids);
      const r = await post(node, `?level=${level}`, { ...selectSeqs, args: [stream] });
      if (r.status !== 200) {
        readsFailed++;
        return;
      }
      seqs = (JSON.parse(r.text) as { result: { rows: { seq: number }[] } }).result.rows.map((x) => x.seq);
    }
    reads.push({ ofClient: stream, invokedAt, completedAt: now(), seqs, node });
  };

  const clientLoop = async (c: number): Promise<void> => {
    const prng = new Prng(hash32(opts.seed, c + 1));
    const urls = prng.shuffle(ids).map((id) => cluster.url(id));
    const client = opts.via === "client" ? createClient({ nodes: urls, readLevel: level, timeoutMs: REQUEST_TIMEOUT_MS }) : null;
    let stream = -1;
    let seq = 0;
    while (now() < endAt) {
      const s = epochOf(now()) * STREAMS_PER_EPOCH + c;
      if (s !== stream) {
        stream = s;
        seq = 0;
      }
      if (prng.chance(0.5)) await append(prng, client, stream, seq++);
      else await read(prng, client);
    }
  };

  const nemesis = await fc.drive(clients, clientLoop, () => now() < endAt);
  const { rows: finalRows, stats: faultStats } = await fc.settle<Row>(nemesis, `SELECT id, client, seq FROM ${TABLE} ORDER BY id`);
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
      ...faultStats,
    },
  };
}
