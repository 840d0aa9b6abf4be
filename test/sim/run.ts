/**
 * The simulator's command line (`npm run sim -- …`).
 *
 *   --seeds N          run seeds 1..N (default 500), split over --jobs processes
 *   --start S          first seed of the range (default 1)
 *   --seed S           replay one seed (add --trace for every event)
 *   --trace            print the event trace (with --seed)
 *   --inject-bug NAME  set RaftConfig.plantedBug on every node; exit non-zero if caught
 *   --geo              commit-latency distribution for leader-in-A and leader-in-B runs
 *   --jobs J           worker processes (default: CPU count)
 *
 * Ends with "N seeds, V violations"; exits 1 when V > 0.
 */
import { availableParallelism } from "node:os";
import type { PlantedBug } from "../../src/raft/types.ts";
import { GEO_CROSS_MS, GEO_FSYNC_MS, GEO_INTRA_MS, percentile, runGeo } from "./geo.ts";
import { runSeed } from "./run-seed.ts";
import { RunStats } from "./stats.ts";

const PLANTED_BUGS: readonly PlantedBug[] = [
  "commit-previous-term",
  "vote-before-persist",
  "truncate-on-stale-append",
  "lease-read-without-check-quorum",
  "forwarded-read-without-quorum",
  "two-membership-changes-at-once",
];

interface Args {
  seeds: number;
  start: number;
  seed: number | null;
  trace: boolean;
  bug: PlantedBug | undefined;
  geo: boolean;
  jobs: number;
  worker: { index: number; of: number } | null;
}

function parseArgs(argv: readonly string[]): Args {
  const a: Args = { seeds: 500, start: 1, seed: null, trace: false, bug: undefined, geo: false, jobs: availableParallelism(), worker: null };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) die(`${flag} needs a value`);
      return v;
    };
    const int = (): number => {
      const v = Number(value());
      if (!Number.isSafeInteger(v) || v < 0) die(`${flag} needs a non-negative integer`);
      return v;
    };
    switch (flag) {
      case "--seeds":
        a.seeds = int();
        break;
      case "--start":
        a.start = int();
        break;
      case "--seed":
        a.seed = int();
        break;
      case "--trace":
        a.trace = true;
        break;
      case "--inject-bug": {
        const b = value();
        if (!PLANTED_BUGS.includes(b as PlantedBug)) die(`unknown bug "${b}"; one of: ${PLANTED_BUGS.join(", ")}`);
        a.bug = b as PlantedBug;
        break;
      }
      case "--geo":
        a.geo = true;
        break;
      case "--jobs":
        a.jobs = Math.max(1, int());
        break;
      case "--worker": {
        const [index, of] = value().split("/").map(Number);
        a.worker = { index: index!, of: of! };
        break;
      }
      case "--help":
      case "-h":
        console.log(
          "usage: npm run sim -- [--seeds N] [--start S] [--seed S [--trace]] [--inject-bug NAME] [--geo] [--jobs J]\n" + `planted bugs: ${PLANTED_BUGS.join(", ")}`,
        );
        process.exit(0);
      default:
        die(`unknown argument ${flag} (try --help)`);
    }
  }
  return a;
}

function die(msg: string): never {
  console.error(`sim: ${msg}`);
  process.exit(2);
}

function replayCommand(seed: number, bug: PlantedBug | undefined, geo = false): string {
  return `npm run sim -- --seed ${seed}${bug ? ` --inject-bug ${bug}` : ""}${geo ? " --geo" : ""} --trace`;
}

// ---------------------------------------------------------------- worker side

/** A worker's report line (JSON on stdout). */
type WorkerLine =
  | { readonly kind: "violation"; readonly seed: number; readonly invariant: string; readonly detail: string; readonly simMs: number }
  | { readonly kind: "done"; readonly seeds: number; readonly steps: number; readonly simMs: number; readonly stats: RunStats }
  | { readonly kind: "geo"; readonly region: "A" | "B"; readonly latencies: number[]; readonly seeds: number }
  | { readonly kind: "geo-violation"; readonly seed: number; readonly region: "A" | "B"; readonly invariant: string; readonly detail: string };

function seedsOf(a: Args): number[] {
  const w = a.worker ?? { index: 0, of: 1 };
  const out: number[] = [];
  for (let k = w.index; k < a.seeds; k += w.of) out.push(a.start + k);
  return out;
}

function runWorker(a: Args): void {
  const emit = (l: WorkerLine): void => void process.stdout.write(`${JSON.stringify(l)}\n`);
  const seeds = seedsOf(a);
  if (a.geo) {
    for (const region of ["A", "B"] as const) {
      const lat: number[] = [];
      for (const s of seeds) {
        const r = runGeo(s, region);
        lat.push(...r.latencies);
        if (r.violation) emit({ kind: "geo-violation", seed: s, region, invariant: r.violation.invariant, detail: r.violation.detail });
      }
      emit({ kind: "geo", region, latencies: lat, seeds: seeds.length });
    }
    return;
  }
  let steps = 0;
  let simMs = 0;
  const stats = new RunStats();
  for (const s of seeds) {
    const r = runSeed(s, a.bug ? { bug: a.bug } : {});
    steps += r.steps;
    simMs += r.simMs;
    r.stats.commitLatencies.length = 0;
    stats.add(r.stats);
    if (r.violation) emit({ kind: "violation", seed: s, invariant: r.violation.invariant, detail: r.violation.detail, simMs: r.simMs });
  }
  emit({ kind: "done", seeds: seeds.length, steps, simMs, stats });
}

// ---------------------------------------------------------------- coordinator

async function runJobs(a: Args): Promise<WorkerLine[]> {
  const jobs = Math.min(a.jobs, Math.max(1, a.seeds));
  const base = ["--seeds", String(a.seeds), "--start", String(a.start), ...(a.bug ? ["--inject-bug", a.bug] : []), ...(a.geo ? ["--geo"] : [])];
  const procs = Array.from({ length: jobs }, (_, i) =>
    Bun.spawn([process.execPath, import.meta.path, ...base, "--worker", `${i}/${jobs}`], { stdout: "pipe", stderr: "inherit" }),
  );
  const outputs = await Promise.all(
    procs.map(async (p) => {
      const text = await new Response(p.stdout).text();
      const code = await p.exited;
      if (code !== 0) die(`worker exited with code ${code}`);
      return text;
    }),
  );
  return outputs.flatMap((t) =>
    t
      .split("\n")
      .filter((l) => l.trim() !== "")
      .map((l) => JSON.parse(l) as WorkerLine),
  );
}

async function runMany(a: Args): Promise<number> {
  const t0 = performance.now();
  const lines = await runJobs(a);
  const violations = lines.flatMap((l) => (l.kind === "violation" ? [l] : [])).sort((x, y) => x.seed - y.seed);
  const done = lines.flatMap((l) => (l.kind === "done" ? [l] : []));
  const steps = done.reduce((n, d) => n + d.steps, 0);
  const simMs = done.reduce((n, d) => n + d.simMs, 0);
  for (const v of violations.slice(0, 20)) {
    console.log(`seed ${v.seed}: ${v.invariant} at ${v.simMs.toFixed(1)} ms: ${v.detail.split("\n")[0]}`);
    console.log(`  replay: ${replayCommand(v.seed, a.bug)}`);
  }
  if (violations.length > 20) console.log(`… and ${violations.length - 20} more`);
  if (violations.length > 0) {
    const tally = new Map<string, number>();
    for (const v of violations) tally.set(v.invariant, (tally.get(v.invariant) ?? 0) + 1);
    console.log(`violated invariants: ${[...tally].map(([k, n]) => `${k} ×${n}`).join(", ")}`);
  }
  const total = new RunStats();
  for (const d of done) total.add(Object.assign(new RunStats(), d.stats, { commitLatencies: [] }));
  console.log(`exercised: ${total.summary()}`);
  const secs = (performance.now() - t0) / 1000;
  console.log(`${a.bug ? `planted bug ${a.bug}; ` : ""}${(simMs / 1000).toFixed(0)} s simulated, ${steps} events, ${secs.toFixed(1)} s wall`);
  console.log(`${a.seeds} seeds, ${violations.length} violations`);
  return violations.length > 0 ? 1 : 0;
}

async function runGeoMany(a: Args): Promise<number> {
  const lines = await runJobs(a);
  console.log(
    `geo: region A = 2 voters ${GEO_INTRA_MS} ms apart, region B = 1 voter ${GEO_CROSS_MS} ms one-way from A (RTT ${2 * GEO_CROSS_MS} ms), fsync ${GEO_FSYNC_MS} ms; ${a.seeds} seeds per placement`,
  );
  let bad = 0;
  for (const region of ["A", "B"] as const) {
    const lat = lines.flatMap((l) => (l.kind === "geo" && l.region === region ? l.latencies : [])).sort((x, y) => x - y);
    console.log(
      `leader in ${region}: ${lat.length} commits, p50 ${percentile(lat, 50).toFixed(2)} ms, p90 ${percentile(lat, 90).toFixed(2)} ms, p99 ${percentile(lat, 99).toFixed(2)} ms, max ${(lat[lat.length - 1] ?? NaN).toFixed(2)} ms`,
    );
    for (const l of lines) {
      if (l.kind === "geo-violation" && l.region === region) {
        bad++;
        console.log(`seed ${l.seed} (leader in ${region}): ${l.invariant}: ${l.detail}`);
        console.log(`  replay: ${replayCommand(l.seed, undefined, true)}`);
      }
    }
  }
  console.log(`${a.seeds * 2} seeds, ${bad} violations`);
  return bad > 0 ? 1 : 0;
}

function replayOne(a: Args, seed: number): number {
  const trace = a.trace ? (line: string) => console.log(line) : undefined;
  if (a.geo) {
    let bad = 0;
    for (const region of ["A", "B"] as const) {
      const r = runGeo(seed, region, trace);
      const lat = r.latencies.slice().sort((x, y) => x - y);
      console.log(`seed ${seed} leader in ${region}: ${lat.length} commits, p50 ${percentile(lat, 50).toFixed(2)} ms, p99 ${percentile(lat, 99).toFixed(2)} ms`);
      if (r.violation) {
        bad++;
        console.log(`VIOLATION ${r.violation.invariant}: ${r.violation.detail}`);
      }
    }
    console.log(`2 seeds, ${bad} violations`);
    return bad > 0 ? 1 : 0;
  }
  const r = runSeed(seed, { ...(a.bug ? { bug: a.bug } : {}), ...(trace ? { trace } : {}) });
  console.log(`seed ${seed}: ${r.simMs.toFixed(1)} ms simulated, ${r.steps} events; ${r.stats.summary()}`);
  if (r.violation) {
    console.log(`VIOLATION ${r.violation.invariant} at ${r.simMs.toFixed(1)} ms: ${r.violation.detail}`);
    console.log(`  replay: ${replayCommand(seed, a.bug)}`);
  }
  console.log(`1 seeds, ${r.violation ? 1 : 0} violations`);
  return r.violation ? 1 : 0;
}

const args = parseArgs(process.argv.slice(2));
if (args.worker) {
  runWorker(args);
} else if (args.seed !== null) {
  process.exitCode = replayOne(args, args.seed);
} else if (args.geo) {
  process.exitCode = await runGeoMany(args);
} else {
  process.exitCode = await runMany(args);
}
