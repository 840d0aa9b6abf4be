/** Counters and gauges for GET /metrics (Prometheus text exposition format). */
import type { SoftState } from "../raft/types.ts";

export class NodeMetrics {
  private readonly counters = new Map<string, number>();
  private leaderChanges = 0;
  private lastLeader: string | null = null;

  inc(name: string, by = 1): void {
    this.counters.set(name, (this.counters.get(name) ?? 0) + by);
  }

  /** A counter's current value (0 if it was never incremented). */
  total(name: string): number {
    return this.counters.get(name) ?? 0;
  }

  applied(n: number): void {
    this.inc("quorumlite_entries_applied_total", n);
  }

  request(kind: "read" | "write", ok: boolean): void {
    this.inc(`quorumlite_requests_total{kind="${kind}",result="${ok ? "ok" : "error"}"}`);
  }

  softState(s: SoftState): void {
    if (s.leader !== this.lastLeader) {
      this.leaderChanges++;
      this.lastLeader = s.leader;
    }
  }

  render(gauges: Record<string, number>, labels: Record<string, string>): string {
    const lines: string[] = [];
    const base = Object.entries(labels)
      .map(([k, v]) => `${k}="${v.replace(/["\\\n]/g, "_")}"`)
      .join(",");
    const withBase = (name: string) => {
      const brace = name.indexOf("{");
      if (brace < 0) return base ? `${name}{${base}}` : name;
      return base ? `${name.slice(0, brace)}{${base},${name.slice(brace + 1)}` : name;
    };
    for (const [name, v] of Object.entries(gauges)) lines.push(`${withBase(name)} ${v}`);
    lines.push(`${withBase("quorumlite_leader_changes_total")} ${this.leaderChanges}`);
    for (const [name, v] of this.counters) lines.push(`${withBase(name)} ${v}`);
    return lines.join("\n") + "\n";
  }
}
