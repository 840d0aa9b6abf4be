/**
 * Longer nemesis runs than the default suite's: `npm run nemesis -- --help`.
 * Exits 1 if any run's history has a violation.
 */
import { parseArgs } from "node:util";
import { ALL_FAULTS, NETWORK_FAULTS, PROCESS_FAULTS, runFindings, SETTLE_LIMIT_MS, type FaultKind, type FaultStats } from "./faulty-cluster.ts";
import { runNemesis } from "./nemesis-run.ts";
import { runBank, type TransferMode } from "./bank-run.ts";

const HELP = `npm run nemesis -- [options]   a real 3-node cluster under faults, checked for linearizability

  --workload W    set (default): clients append (client, seq) rows and read them back; checks
                  linearizable reads and exactly-once appends. bank: transfers between accounts through
                  @libsql/client; checks every read and the end state keep the total and no account
                  goes below zero
  --transfers T   bank only: comma-separated from interactive, batch, unsafe (default interactive,batch;
                  unsafe splits a transfer into two requests, a planted bug the check must catch)

  --seconds S     faults and client load per run (default 60)
  --seed N        first seed (default 1); a seed fixes the fault schedule and client choices
  --runs K        runs with seeds N, N+1, ... (default 1)
  --level L       set only: read level: linearizable (default), strong, weak, or none (none is expected to fail:
                  it promises no recency, and shows the checker catching stale reads)
  --partitions    run each node in its own network namespace (root and iproute2) and add the
                  faults ${NETWORK_FAULTS.join(", ")}: a node cut off from its peers whose clients still reach it
  --faults LIST   comma-separated, from ${ALL_FAULTS.join(", ")}
                  (default ${PROCESS_FAULTS.join(", ")}, plus the network ones with --partitions); "" for none
  --clients C     concurrent client loops (default 6)
  --via V         set only: http (default): POST /sql to a random node, resending unknown appends with the same
                  request id; client: one quorumlite/client per loop (its routing, retries, request ids)
  --snapshot-every N
                  compact the log every N applied entries (keeping N/10), so restarted nodes catch up
                  through snapshots (default: the node's own 10000)
  --geo           regions ams,ams,iad with 1 ms / 15 ms simulated latency, preferred region ams; also
                  fails the run if leadership is not back in ams 30 s after the faults

A run also fails if, once the faults end, the cluster takes over ${SETTLE_LIMIT_MS / 1000} s to serve a write again.
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
    via: { type: "string", default: "http" },
    workload: { type: "string", default: "set" },
    transfers: { type: "string", default: "interactive,batch" },
    "snapshot-every": { type: "string" },
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

if (values.via !== "http" && values.via !== "client") throw new Error("--via must be http or client");
const via = values.via;
if (values.workload !== "set" && values.workload !== "bank") throw new Error("--workload must be set or bank");
const transferModes = ["interactive", "batch", "unsafe"] as const;
const transfers = values.transfers.split(",").map((t) => {
  const mode = transferModes.find((m) => m === t);
  if (!mode) throw new Error(`unknown transfer mode ${t}; known: ${transferModes.join(", ")}`);
  return mode;
});

let failed = 0;
const firstSeed = Number(values.seed);
for (let seed = firstSeed; seed < firstSeed + Number(values.runs); seed++) {
  const started = Date.now();
  const common = {
    seconds: Number(values.seconds),
    seed,
    clients: Number(values.clients),
    faults: faults as FaultKind[],
    partitions: values.partitions,
    ...(values["snapshot-every"] ? { snapshotEvery: Number(values["snapshot-every"]) } : {}),
    ...(values.geo ? { cluster: { regions: ["ams", "ams", "iad"], preferredRegion: "ams", latency: "ams-ams=1,ams-iad=15,iad-iad=1" } } : {}),
    ...(values.quiet ? {} : { log: (line: string) => console.log(`  ${line}`) }),
  };
  let summary: string;
  let violations: readonly { kind: string; detail: string }[];
  let stats: FaultStats;
  if (values.workload === "bank") {
    const r = await runBank({ ...common, transfers: transfers as TransferMode[] });
    const s = (stats = r.stats);
    violations = r.violations;
    summary =
      `${s.transfersCommitted} transfers committed (${transfers.join("/")}; ${s.transfersDeclined} declined, ${s.transfersFailed} failed), ` +
      `${s.reads} reads (${s.readsFailed} failed), ${s.faults.length} faults, ${s.snapshotsSent} snapshots sent, terms ${s.firstTerm}→${s.lastTerm}` +
      s.failureReasons.slice(0, 6).map(([reason, n]) => `\n    ${n} × ${reason}`).join("");
  } else {
    const r = await runNemesis({ ...common, readLevel: level, via });
    const s = (stats = r.stats);
    violations = r.violations;
    summary =
      `${s.appendsAcked} appends acknowledged (${s.ackedAfterResend} after a resend, ${s.appendsUnknown} unknown), ` +
      `${s.reads} reads at ${level} via ${via} (${s.readsFailed} refused or timed out), ${s.faults.length} faults, ${s.snapshotsSent} snapshots sent, terms ${s.firstTerm}→${s.lastTerm}`;
  }
  summary += `, writes again ${stats.settleMs} ms after the faults`;
  if (stats.preferredRegion !== null) summary += `, leader settled in ${stats.leaderRegion ?? "no region"}`;
  violations = [...violations, ...runFindings(stats)];
  console.log(`seed ${seed}: ${violations.length === 0 ? "ok" : `${violations.length} VIOLATION(S)`} in ${((Date.now() - started) / 1000).toFixed(0)} s — ${summary}`);
  for (const v of violations) console.log(`  ${v.kind}: ${v.detail}`);
  if (violations.length > 0) failed++;
}
process.exit(failed > 0 ? 1 : 0);
