/**
 * The closed-loop load generator: N clients, each sending its next request as
 * soon as the previous answer has been read in full, over Bun's pooled
 * keep-alive HTTP/1.1 fetch. Latency is recorded per operation into a
 * LatencyHistogram; only operations that start and finish inside the measured
 * window count (a warm-up before it is discarded).
 *
 * `generateLoad` runs the clients in one or more separate `bun` processes
 * (bench/load-worker.ts), so the generator never shares an event loop with the
 * orchestrator or a server; it reports its own CPU use so a saturated
 * generator is visible in the results.
 */
import { resolve } from "node:path";
import { LatencyHistogram, type HistogramSnapshot } from "./latency-histogram.ts";
import { operationMaker, type Operation, type Workload } from "./workload.ts";
import { Http1Connection, type HttpResponse } from "./http1-connection.ts";

export type LoadLength =
  | { readonly kind: "duration"; readonly warmupMs: number; readonly durationMs: number }
  | { readonly kind: "ops"; readonly ops: number };

/**
 * How a client sends: `socket` is one raw keep-alive HTTP/1.1 connection per
 * client (the default: the cheapest for the generator), `fetch` is Bun's
 * pooled keep-alive fetch.
 */
export type ClientTransport = "socket" | "fetch";

export interface LoadSpec {
  readonly workload: Workload;
  readonly transport: ClientTransport;
  readonly clients: number;
  /** Client numbers start here (so several processes get distinct clients). */
  readonly firstClient: number;
  readonly length: LoadLength;
  /** Wall-clock (epoch ms) at which every process starts together. */
  readonly startAtEpochMs: number;
  /** In-flight requests are abandoned this long after the window closes. */
  readonly graceMs: number;
}

export interface LoadResult {
  /** Successful operations inside the window. */
  readonly ops: number;
  readonly errors: number;
  /** Started inside the window but answered only after it closed (or never): not counted above. */
  readonly unfinished: number;
  /** Up to a few distinct error descriptions. */
  readonly errorSamples: readonly string[];
  readonly windowMs: number;
  readonly histogram: HistogramSnapshot;
  /** The generator process's CPU time during the window, in ms (user + system). */
  readonly generatorCpuMs: number;
}

const MAX_ERROR_SAMPLES = 5;

/** Runs the clients in this process. */
export async function runLoad(spec: LoadSpec): Promise<LoadResult> {
  const make = operationMaker(spec.workload);
  const hist = new LatencyHistogram();
  const errorSamples = new Set<string>();
  let ok = 0;
  let errors = 0;
  let unfinished = 0;
  let issued = 0;
  const abort = new AbortController();

  const wait = spec.startAtEpochMs - Date.now();
  if (wait > 0) await Bun.sleep(wait);

  const t0 = performance.now();
  const length = spec.length;
  const measureStart = length.kind === "duration" ? t0 + length.warmupMs : t0;
  const measureEnd = length.kind === "duration" ? measureStart + length.durationMs : Infinity;
  let cpuAtStart = length.kind === "duration" ? null : process.cpuUsage();
  let cpuAtEnd: NodeJS.CpuUsage | null = null;
  const timers: ReturnType<typeof setTimeout>[] = [];
  if (length.kind === "duration") {
    timers.push(setTimeout(() => (cpuAtStart = process.cpuUsage()), length.warmupMs));
    timers.push(setTimeout(() => (cpuAtEnd = process.cpuUsage()), length.warmupMs + length.durationMs));
    timers.push(setTimeout(() => abort.abort(), length.warmupMs + length.durationMs + spec.graceMs));
  }

  const noteError = (what: string) => {
    if (errorSamples.size < MAX_ERROR_SAMPLES) errorSamples.add(what.slice(0, 300));
  };

  const JSON_HEADERS = { "content-type": "application/json" };
  const sendFetch = async (op: Operation): Promise<HttpResponse> => {
    const res = await fetch(op.origin + op.path, { method: op.method, body: op.body, headers: JSON_HEADERS, signal: abort.signal });
    return { status: res.status, body: await res.text() };
  };
  const connections: Http1Connection[] = [];
  abort.signal.addEventListener("abort", () => connections.forEach((c) => c.close()));

  const client = async (c: number) => {
    const perOrigin = new Map<string, Http1Connection>();
    const sendSocket = (op: Operation): Promise<HttpResponse> => {
      let conn = perOrigin.get(op.origin);
      if (!conn) {
        conn = Http1Connection.forUrl(op.origin);
        perOrigin.set(op.origin, conn);
        connections.push(conn);
      }
      return conn.request(op.method, op.path, op.body, JSON_HEADERS);
    };
    const send = spec.transport === "socket" ? sendSocket : sendFetch;
    for (let seq = 0; ; seq++) {
      const start = performance.now();
      if (start >= measureEnd) return;
      if (length.kind === "ops" && issued >= length.ops) return;
      issued++;
      const op = make(c, seq);
      let success = false;
      let failure = "";
      try {
        const res = await send(op);
        success = res.status === 200 && op.accept(res.body);
        if (!success) failure = `HTTP ${res.status}: ${res.body}`;
      } catch (e) {
        if (abort.signal.aborted) {
          if (start >= measureStart) unfinished++;
          return;
        }
        failure = `request failed: ${(e as Error).message}`;
      }
      const end = performance.now();
      if (start >= measureStart && end <= measureEnd) {
        if (success) {
          ok++;
          hist.recordMillis(end - start);
        } else {
          errors++;
          noteError(failure);
        }
      } else if (start >= measureStart && start < measureEnd) unfinished++;
      // An erroring server (no leader yet, overload) would otherwise be hammered in a tight loop.
      if (!success) await Bun.sleep(5);
    }
  };

  await Promise.all(Array.from({ length: spec.clients }, (_, i) => client(spec.firstClient + i)));
  for (const t of timers) clearTimeout(t);
  for (const conn of connections) conn.close();
  const finished = performance.now();
  const cpuEnd: NodeJS.CpuUsage = cpuAtEnd ?? process.cpuUsage();
  const cpuStart: NodeJS.CpuUsage = cpuAtStart ?? cpuEnd;
  return {
    ops: ok,
    errors,
    unfinished,
    errorSamples: [...errorSamples],
    windowMs: length.kind === "duration" ? length.durationMs : finished - t0,
    histogram: hist.snapshot(),
    generatorCpuMs: (cpuEnd.user - cpuStart.user + cpuEnd.system - cpuStart.system) / 1000,
  };
}

export interface CombinedLoadResult {
  readonly ops: number;
  readonly errors: number;
  readonly unfinished: number;
  readonly errorSamples: readonly string[];
  readonly windowMs: number;
  readonly histogram: LatencyHistogram;
  /** Summed over generator processes, as a fraction of one core (1 = one core busy). */
  readonly generatorCpuCores: number;
}

/** Called when the measured window opens and closes (to sample the servers over the same window). */
export interface WindowProbe {
  readonly start: () => void;
  readonly end: () => void;
}

const WORKER = resolve(import.meta.dir, "load-worker.ts");

/**
 * Runs `clients` closed-loop clients split over `processes` generator
 * processes and merges their histograms.
 */
export async function generateLoad(
  workload: Workload,
  clients: number,
  length: LoadLength,
  options: { readonly processes?: number; readonly transport?: ClientTransport; readonly window?: WindowProbe } = {},
): Promise<CombinedLoadResult> {
  const processes = options.processes ?? 1;
  const transport = options.transport ?? "socket";
  const probe = options.window;
  const procs = Math.max(1, Math.min(processes, clients));
  const startAtEpochMs = Date.now() + 300 + 100 * procs;
  const specs: LoadSpec[] = [];
  let first = 0;
  for (let p = 0; p < procs; p++) {
    const n = Math.floor(clients / procs) + (p < clients % procs ? 1 : 0);
    specs.push({ workload, transport, clients: n, firstClient: first, length, startAtEpochMs, graceMs: 10_000 });
    first += n;
  }
  const timers: ReturnType<typeof setTimeout>[] = [];
  if (probe && length.kind === "duration") {
    const windowStart = startAtEpochMs + length.warmupMs - Date.now();
    timers.push(setTimeout(probe.start, windowStart), setTimeout(probe.end, windowStart + length.durationMs));
  } else probe?.start();
  const results = await Promise.all(specs.map(runInWorker)).finally(() => timers.forEach(clearTimeout));
  if (probe && length.kind === "ops") probe.end();
  const histogram = new LatencyHistogram();
  for (const r of results) histogram.merge(r.histogram);
  const windowMs = Math.max(...results.map((r) => r.windowMs));
  return {
    ops: results.reduce((a, r) => a + r.ops, 0),
    errors: results.reduce((a, r) => a + r.errors, 0),
    unfinished: results.reduce((a, r) => a + r.unfinished, 0),
    errorSamples: [...new Set(results.flatMap((r) => r.errorSamples))].slice(0, MAX_ERROR_SAMPLES),
    windowMs,
    histogram,
    generatorCpuCores: results.reduce((a, r) => a + r.generatorCpuMs, 0) / windowMs,
  };
}

async function runInWorker(spec: LoadSpec): Promise<LoadResult> {
  const proc = Bun.spawn([process.execPath, WORKER], {
    stdin: new TextEncoder().encode(JSON.stringify(spec)),
    stdout: "pipe",
    stderr: "inherit",
    // Bun caps simultaneous fetches per process at 256 by default.
    env: { ...process.env, BUN_CONFIG_MAX_HTTP_REQUESTS: "4096" },
  });
  const out = await new Response(proc.stdout).text();
  const code = await proc.exited;
  if (code !== 0) throw new Error(`load worker exited with ${code}`);
  return JSON.parse(out) as LoadResult;
}
