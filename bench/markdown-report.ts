/** The run's results as markdown: the main table, failures, and the target checklist. */
import type { RowResult } from "./row-result.ts";
import type { TargetCheck } from "./targets.ts";

function latency(v: number): string {
  if (!Number.isFinite(v)) return "–";
  return v < 10 ? v.toFixed(2) : v < 100 ? v.toFixed(1) : v.toFixed(0);
}

const int = (v: number) => Math.round(v).toLocaleString("en-US");
const ratio = (v: number | null) => (v === null || !Number.isFinite(v) ? "" : `${v.toFixed(2)}×`);

export function markdownTable(rows: readonly RowResult[]): string {
  const out = [
    "| scenario | what | clients | sent to | throughput | p50 ms | p90 ms | p99 ms | errors | × etcd | × ceiling | RSS MB per node | CPU cores srv/gen/other |",
    "|---|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---|---|",
  ];
  for (const r of rows) {
    if (r.status === "failed") {
      out.push(`| ${r.name} | ${r.what} | ${r.clients} | | **failed** | | | | | | | | |`);
      continue;
    }
    const unit = r.unit === "ops/s" ? "/s" : r.unit === "statements/s" ? " stmt/s" : " rows/s";
    const mem = r.memory.map((m) => `${m.rssMb.toFixed(0)}${m.leader ? "*" : ""}`).join("/");
    const cpu = r.cpu ? `${r.cpu.servers.toFixed(2)}/${r.cpu.generator.toFixed(2)}/${r.cpu.other.toFixed(2)}` : "";
    const rate = r.clients === 0 ? "–" : `${int(r.throughput)}${unit}`;
    out.push(
      `| ${r.name} | ${r.what} | ${r.clients} | ${r.sentTo} | ${rate} | ${latency(r.p50Ms)} | ${latency(r.p90Ms)} | ${latency(r.p99Ms)} | ${r.errors} | ${ratio(r.vsEtcd)} | ${ratio(r.vsCeiling)} | ${mem} | ${cpu} |`,
    );
  }
  return out.join("\n");
}

export function markdownFailures(rows: readonly RowResult[]): string {
  const lines: string[] = [];
  for (const r of rows) {
    if (r.status === "failed") lines.push(`- **${r.name}** failed: ${r.error.split("\n").slice(0, 6).join(" ⏎ ")}`);
    else if (r.ops === 0 && r.clients > 0) lines.push(`- **${r.name}**: no request completed inside the ${r.windowMs / 1000} s window (${r.unfinished} still waiting when it closed, ${r.errors} errors)`);
    else if (r.errors > 0) lines.push(`- ${r.name}: ${r.errors} errored requests, e.g. ${r.errorSamples.map((s) => `\`${s.replace(/`/g, "'").slice(0, 160)}\``).join("; ")}`);
  }
  return lines.length === 0 ? "" : ["Failures and errors:", "", ...lines].join("\n");
}

export function markdownTargets(checks: readonly TargetCheck[]): string {
  const mark = { met: "✅ met", missed: "❌ missed", "not measured": "– not measured" } as const;
  return ["| target | measured | status |", "|---|---|---|", ...checks.map((c) => `| ${c.target} | ${c.measured} | ${mark[c.status]} |`)].join("\n");
}

/** The other processes that used the most CPU across all windows (a process that was busy in several rows adds up). */
export function markdownContention(rows: readonly RowResult[]): string {
  const total = new Map<string, number>();
  let windows = 0;
  for (const r of rows) {
    if (r.status !== "ok" || !r.cpu) continue;
    windows++;
    for (const o of r.cpu.topOthers) total.set(o.command, (total.get(o.command) ?? 0) + o.cores);
  }
  if (windows === 0 || total.size === 0) return "";
  const top = [...total].filter(([, c]) => c / windows >= 0.01).sort((a, b) => b[1] - a[1]).slice(0, 5);
  if (top.length === 0) return "";
  return ["Busiest other processes during the windows (cores, averaged over all rows):", "", ...top.map(([cmd, cores]) => `- ${(cores / windows).toFixed(2)} — \`${cmd.replace(/`/g, "'")}\``)].join("\n");
}
