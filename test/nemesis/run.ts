/**
 * Longer nemesis runs than the default suite's: `npm run nemesis -- --help`.
 * Exits 1 if any run's history has a violation.
 */
import { parseArgs } from "node:util";
import { ALL_FAULTS, NETWORK_FAULTS, PROCESS_FAULTS, runNemesis, type FaultKind, type NemesisOptions } from "./nemesis-run.ts";

const HELP = `npm run nemesis -- [options]   a real 3-node cluster under faults, checked for linearizability

  --seconds S     faults and client load per run (default 60)
  --seed N        first seed (default 1); a seed fixes the fault schedule and client choices
  --runs K        runs with seeds N, N+1, ... (default 1)
  --level L       read level: linearizable (default), strong, weak, or none (none is expected to fail:
                  it promises no recency, and shows the checker catching stale reads)
  --partitions    run each node in its own network namespace (root and iproute2) and add the
                  faults ${NETWORK_FAULTS.join(", ")}: a node cut off from its peers whose clients still reach it
  --faults LIST   comma-separated, from ${ALL_FAULTS.join(", ")}
                  (default ${PROCESS_FAULTS.join(", ")}, plus the network ones with --partitions); "" for none
  --clients C     concurrent client loops (default 6)
  --geo           regions ams,ams,iad with 1 ms / 15 ms simulated latency, preferred region ams
  --quiet         print only each run's summary
`;

const { values } = parseArgs({
  options: {
    seconds: { type: "string", default: "60" },
    seed: { type: "string", default: "1" },
    runs: { type: "string", default: "1" },
    level: { type: "string", default: "linearizable" },
    faults: { type: "string" },
    clients: { type: "string", default: "6" },
    geo: { type: "boolean", default: false },
    partitions: { type: "boolean", default: false },
    quiet: { type: "boolean", default: false },
    help: { type: "boolean", default: false },
  },
});
if (values.help) {
  console.log(HELP);
  process.exit(0);
}
const levels = ["none", "weak", "linearizable", "strong"] as const;
const level = levels.find((l) => l === values.level);
if (!level) throw new Error(`--level must be one of ${levels.join(", ")}`);
const faults = values.faults === undefined ? (values.partitions ? ALL_FAULTS : PROCESS_FAULTS) : values.faults.split(",").filter((f) => f !== "");
for (const f of faults) if (!ALL_FAULTS.includes(f as FaultKind)) throw new Error(`unknown fault ${f}; known: ${ALL_FAULTS.join(", ")}`);

let failed = 0;
const firstSeed = Number(values.seed);
for (let seed = firstSeed; seed < firstSeed + Number(values.runs); seed++) {
  const started = Date.now();
  const opts: NemesisOptions = {
    seconds: Number(values.seconds),
    seed,
    clients: Number(values.clients),
    readLevel: level,
    faults: faults as FaultKind[],
    partitions: values.partitions,
    ...(values.geo ? { cluster: { regions: ["ams", "ams", "iad"], preferredRegion: "ams", latency: "ams-ams=1,ams-iad=15,iad-iad=1" } } : {}),
    ...(values.quiet ? {} : { log: (line: string) => console.log(`  ${line}`) }),
  };
  const { violations, stats } = await runNemesis(opts);
  const s = stats;
  console.log(
    `seed ${seed}: ${violations.length === 0 ? "ok" : `${violations.length} VIOLATION(S)`} in ${((Date.now() - started) / 1000).toFixed(0)} s — ` +
      `${s.appendsAcked} appends acknowledged (${s.ackedAfterResend} after a resend, ${s.appendsUnknown} unknown), ` +
      `${s.reads} reads at ${level} (${s.readsFailed} refused or timed out), ${s.faults.length} faults, terms ${s.firstTerm}→${s.lastTerm}`,
  );
  for (const v of violations) console.log(`  ${v.kind}: ${v.detail}`);
  if (violations.length > 0) failed++;
}
process.exit(failed > 0 ? 1 : 0);
