/**
 * `npm run bench` / `quorumlite bench`: the benchmark suite. Starts each peer
 * in turn on this machine (load-generator ceiling, etcd, single-node
 * quorumlite, 3-node local, 3-node geo), runs its scenarios with the same
 * load generator, prints one markdown table to stdout (progress goes to
 * stderr) and writes bench/results/latest.json. See bench/README.md.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import type { RunningCluster } from "./bench-node.ts";
import { startEnvironment } from "./environments.ts";
import type { ClientTransport } from "./load-generator.ts";
import { markdownContention, markdownFailures, markdownTable, markdownTargets } from "./markdown-report.ts";
import { loadAverage } from "./proc-stats.ts";
import type { Measured, RowResult } from "./row-result.ts";
import { runBulkRows, runIdle, runLoadScenario, warmUpEnvironment, type RunOptions } from "./scenario-runner.ts";
import { ENVIRONMENTS, SCENARIOS, selectScenarios, type LoadScenario, type Scenario } from "./scenarios.ts";
import { checkTargets, targetsTouching } from "./targets.ts";

const HELP = `quorumlite bench — the benchmark suite (bench/README.md)

  bun bench/run.ts [options]          (also: npm run bench -- [options], quorumlite bench [options])

  --quick              short windows (1 s, 0.3 s warm-up): a smoke test, numbers are rough
  --only LIST          comma-separated scenario names or prefixes (an exact name selects only
                       itself: --only local-1 runs local-1, not local-16); e.g. --only etcd,geo-
  --duration S         measured seconds per scenario (default 5; --quick 1)
  --warmup S           discarded warm-up seconds per scenario (default 1; --quick 0.3)
  --env-warmup S       unmeasured load on each freshly started environment, spread over its load
                       rows, so the servers' JIT has compiled their hot paths (default 15; --quick 0)
  --generators N       load-generator processes per scenario (default 1)
  --transport T        socket (raw keep-alive HTTP/1.1, default) or fetch (Bun's fetch)
  --json PATH          where to write the JSON results (default bench/results/latest.json)
  --list               list the scenarios and exit`;

const DEFAULT_JSON = resolve(import.meta.dir, "results/latest.json");

export async function benchCommand(argv: readonly string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        quick: { type: "boolean", default: false },
        only: { type: "string" },
        duration: { type: "string" },
        warmup: { type: "string" },
        "env-warmup": { type: "string" },
        generators: { type: "string", default: "1" },
        transport: { type: "string", default: "socket" },
        json: { type: "string", default: DEFAULT_JSON },
        list: { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
      strict: true,
    }));
  } catch (e) {
    console.error(`bench: ${(e as Error).message}\n\n${HELP}`);
    return 2;
  }
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const selected = selectScenarios(SCENARIOS, values.only ?? null);
  if (values.list) {
    for (const s of selected) console.log(`${s.name.padEnd(38)} ${s.env.padEnd(9)} ${(s.kind === "load" ? `${s.clients} clients` : "").padEnd(11)} ${s.what}`);
    return 0;
  }
  if (selected.length === 0) {
    console.error(`bench: no scenario matches --only ${values.only}; see --list`);
    return 2;
  }
  const transport = values.transport;
  if (transport !== "socket" && transport !== "fetch") {
    console.error(`bench: --transport must be socket or fetch`);
    return 2;
  }
  const seconds = (v: string | undefined, dflt: number, flag: string) => {
    const n = v === undefined ? dflt : Number(v);
    if (!Number.isFinite(n) || n < 0) throw new Error(`${flag} must be a number of seconds`);
    return n * 1000;
  };
  let opts: RunOptions;
  try {
    opts = {
      durationMs: seconds(values.duration, values.quick ? 1 : 5, "--duration"),
      warmupMs: seconds(values.warmup, values.quick ? 0.3 : 1, "--warmup"),
      envWarmupMs: seconds(values["env-warmup"], values.quick ? 0 : 15, "--env-warmup"),
      generators: Math.max(1, Number(values.generators) || 1),
      transport,
    };
  } catch (e) {
    console.error(`bench: ${(e as Error).message}`);
    return 2;
  }

  const log = (line: string) => console.error(`[bench] ${line}`);
  const started = new Date();
  const loadBefore = loadAverage();
  log(`${selected.length} scenarios, ${opts.durationMs / 1000} s each after ${opts.warmupMs / 1000} s warm-up (and ${opts.envWarmupMs / 1000} s per environment); ${cpus().length} cores shared by servers and generator; load average ${loadBefore}`);
  const root = mkdtempSync(join(tmpdir(), "quorumlite-bench-"));
  const rows: RowResult[] = [];
  const notes: Record<string, string> = {};
  let stopping = false;
  let current: RunningCluster | null = null;
  const onSignal = () => {
    stopping = true;
    log("interrupted: stopping servers");
    void current?.stop().finally(() => process.exit(130));
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);

  try {
    for (const env of ENVIRONMENTS) {
      const scenarios = selected.filter((s) => s.env === env.name);
      if (scenarios.length === 0 || stopping) continue;
      log(`starting ${env.name}: ${env.describe}`);
      const t0 = performance.now();
      let cluster: RunningCluster;
      try {
        const started = await startEnvironment(env.name, root, log);
        cluster = started.cluster;
        notes[env.name] = started.note;
      } catch (e) {
        const error = (e as Error).message;
        log(`${env.name} did not start: ${error.split("\n")[0]}`);
        for (const s of scenarios) rows.push(failed(s, `${env.name} did not start: ${error}`));
        continue;
      }
      current = cluster;
      log(`${env.name} up in ${((performance.now() - t0) / 1000).toFixed(1)} s (${notes[env.name]})`);
      try {
        const loads = scenarios.filter((s): s is LoadScenario => s.kind === "load");
        if (opts.envWarmupMs > 0 && loads.length > 0) {
          log(`${env.name}: ${opts.envWarmupMs / 1000} s of unmeasured warm-up load over its ${loads.length} load rows`);
          await warmUpEnvironment(loads, cluster, opts);
        }
        for (const s of scenarios) {
          if (stopping) break;
          try {
            const row =
              s.kind === "load"
                ? await runLoadScenario(s, cluster, opts)
                : s.kind === "idle"
                  ? await runIdle(s, cluster, opts)
                  : await runBulkRows(s, cluster, values.quick ? 20_000 : 120_000);
            rows.push(row);
            log(`${s.name}: ${Math.round(row.throughput)} ${row.unit}, p50 ${row.p50Ms.toFixed(2)} ms, p99 ${row.p99Ms.toFixed(2)} ms, errors ${row.errors}`);
          } catch (e) {
            rows.push(failed(s, (e as Error).message));
            log(`${s.name} failed: ${(e as Error).message.split("\n")[0]}`);
          }
        }
      } finally {
        await cluster.stop();
        current = null;
      }
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }

  const withRatios = addRatios(rows);
  const targets = checkTargets(withRatios);
  const shownTargets = targetsTouching(targets, new Set(selected.map((s) => s.name)));
  const finished = new Date();
  const busyElsewhere = withRatios.flatMap((r) => (r.status === "ok" && r.cpu ? [r.cpu.other] : []));
  const otherCores = busyElsewhere.length === 0 ? 0 : busyElsewhere.reduce((a, b) => a + b, 0) / busyElsewhere.length;
  const header = [
    `## quorumlite benchmark — ${finished.toISOString()}`,
    "",
    `Command: \`bun bench/run.ts ${argv.join(" ")}\`. ${cpus().length} cores (${cpus()[0]?.model ?? "?"}) shared by every server process and the load generator; ` +
      `${opts.durationMs / 1000} s measured per row after ${opts.warmupMs / 1000} s warm-up, each environment first warmed up for ${opts.envWarmupMs / 1000} s; ${opts.generators} generator process(es), ${opts.transport} clients; ` +
      `load average before ${loadBefore}, after ${loadAverage()}. ${Object.values(notes).join("; ")}.`,
    "Throughput counts successful requests (statements for batches); RSS: `*` marks the leader; CPU: average cores busy during the window — servers / load generator / everything else on the machine.",
    ...(otherCores > 0.25
      ? ["", `**Warning:** other processes kept ${otherCores.toFixed(2)} of the ${cpus().length} cores busy on average during the measured windows; every figure here is depressed by that much contention.`]
      : []),
  ].join("\n");
  const failures = markdownFailures(withRatios);
  const contention = otherCores > 0.25 ? markdownContention(withRatios) : "";
  const targetSection = shownTargets.length === 0 ? [] : ["### Targets", "", markdownTargets(shownTargets)];
  if (shownTargets.length < targets.length) targetSection.push("", `(${targets.length - shownTargets.length} more targets need scenarios outside this selection.)`);
  console.log([header, "", markdownTable(withRatios), "", ...(failures ? [failures, ""] : []), ...(contention ? [contention, ""] : []), ...targetSection].join("\n"));

  const json = {
    startedAt: started.toISOString(),
    finishedAt: finished.toISOString(),
    command: `bun bench/run.ts ${argv.join(" ")}`.trim(),
    machine: { cores: cpus().length, cpuModel: cpus()[0]?.model ?? null, bun: Bun.version, loadAverageBefore: loadBefore, loadAverageAfter: loadAverage(), otherCoresBusy: otherCores },
    options: opts,
    environments: notes,
    rows: withRatios,
    targets,
  };
  mkdirSync(dirname(values.json), { recursive: true });
  writeFileSync(values.json, JSON.stringify(json, null, 2) + "\n");
  log(`results written to ${values.json} in ${((finished.getTime() - started.getTime()) / 1000).toFixed(0)} s`);
  return withRatios.some((r) => r.status === "failed") ? 1 : 0;
}

function failed(s: Scenario, error: string): RowResult {
  return { status: "failed", name: s.name, env: s.env, what: s.what, clients: s.kind === "load" ? s.clients : 1, error };
}

function addRatios(rows: readonly RowResult[]): RowResult[] {
  const byName = new Map(rows.map((r) => [r.name, r]));
  const rate = (name: string | null): number | null => {
    const r = name === null ? undefined : byName.get(name);
    return r?.status === "ok" && r.throughput > 0 ? r.throughput : null;
  };
  return rows.map((r): RowResult => {
    if (r.status !== "ok") return r;
    const s = SCENARIOS.find((x) => x.name === r.name);
    if (s?.kind !== "load") return r;
    const etcd = rate(s.etcdBaseline);
    const ceiling = rate(s.ceilingBaseline);
    const m: Measured = { ...r, vsEtcd: etcd === null ? null : r.throughput / etcd, vsCeiling: ceiling === null ? null : r.throughput / ceiling };
    return m;
  });
}

if (import.meta.main) process.exitCode = await benchCommand(process.argv.slice(2));
