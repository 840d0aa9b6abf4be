/** The targets of issues 3 and 5, checked against a run's rows. */
import type { Measured, RowResult } from "./row-result.ts";

export interface TargetCheck {
  readonly target: string;
  readonly measured: string;
  readonly status: "met" | "missed" | "not measured";
}

type Lookup = (name: string) => Measured | null;

interface TargetRule {
  readonly target: string;
  readonly needs: readonly string[];
  /** [measured text, met?] given every row in `needs`. */
  readonly check: (rows: readonly Measured[], context: Lookup) => readonly [string, boolean];
}

const ms = (v: number) => `${v.toFixed(2)} ms`;
const perS = (v: number) => `${Math.round(v).toLocaleString("en-US")}/s`;
const maxRss = (r: Measured) => Math.max(...r.memory.map((m) => m.rssMb));
/** The load generator's own ceiling at 64 clients, when this run measured it: a read target above it cannot show. */
const withCeiling = (text: string, find: Lookup) => {
  const gen = find("gen-64");
  return gen ? `${text} (generator ceiling ${perS(gen.throughput)})` : text;
};

const RULES: readonly TargetRule[] = [
  {
    target: "issue 5: local 3 nodes, 64 clients, INSERT ≥ 2× etcd put (same run)",
    needs: ["local-64", "etcd-put-64"],
    check: ([q, e]) => [`${perS(q!.throughput)} vs etcd ${perS(e!.throughput)} = ${(q!.throughput / e!.throughput).toFixed(2)}×`, q!.throughput >= 2 * e!.throughput],
  },
  {
    target: "issue 5: 1 client, INSERT p50 ≤ etcd put p50",
    needs: ["local-1", "etcd-put-1"],
    check: ([q, e]) => [`${ms(q!.p50Ms)} vs etcd ${ms(e!.p50Ms)}`, q!.p50Ms <= e!.p50Ms],
  },
  {
    target: "issue 5: geo, leader in A, write p50 ≤ 3 ms",
    needs: ["geo-majority-1"],
    check: ([g]) => [ms(g!.p50Ms), g!.p50Ms <= 3],
  },
  {
    target: "issue 5: geo, leader in A, write p99 ≤ 10 ms",
    needs: ["geo-majority-1"],
    check: ([g]) => [ms(g!.p99Ms), g!.p99Ms <= 10],
  },
  {
    target: "issue 5: geo sync=all / fastest-majority p50 ≥ 8×",
    needs: ["geo-all-1", "geo-majority-1"],
    check: ([a, m]) => [`${ms(a!.p50Ms)} / ${ms(m!.p50Ms)} = ${(a!.p50Ms / m!.p50Ms).toFixed(1)}×`, a!.p50Ms / m!.p50Ms >= 8],
  },
  {
    target: "issue 5: linearizable read at a follower in A (geo), p50 ≤ 3 ms",
    needs: ["geo-read-linearizable-follower-1"],
    check: ([r]) => [ms(r!.p50Ms), r!.p50Ms <= 3],
  },
  {
    target: "issue 5: reads at level=none ≥ 30,000/s per node (leader)",
    needs: ["local-read-none-leader-64"],
    check: ([r], find) => [withCeiling(perS(r!.throughput), find), r!.throughput >= 30_000],
  },
  {
    target: "issue 5: reads at level=none ≥ 30,000/s per node (follower)",
    needs: ["local-read-none-follower-64"],
    check: ([r], find) => [withCeiling(perS(r!.throughput), find), r!.throughput >= 30_000],
  },
  {
    target: "issue 5: 100-statement batch ≥ 100,000 statements/s",
    needs: ["local-batch100-64", "local-batch100-16"],
    check: ([r, r16]) => [`${perS(r!.throughput)} at 64 clients (${perS(r16!.throughput)} at 16)`, r!.throughput >= 100_000],
  },
  {
    target: "issue 5: RSS ≤ 150 MB per node with 1 million rows",
    needs: ["local-rss-1m"],
    check: ([r]) => [
      `max ${maxRss(r!).toFixed(0)} MB at rest (${r!.memory.map((m) => `${m.id} ${m.rssMb.toFixed(0)}`).join(", ")}); peak during the run ${Math.max(...r!.memory.map((m) => m.peakMb)).toFixed(0)} MB`,
      maxRss(r!) <= 150,
    ],
  },
  {
    target: "issue 3: local 3 nodes, 64 clients, ≥ 5,000 writes/s",
    needs: ["local-64"],
    check: ([q]) => [perS(q!.throughput), q!.throughput >= 5_000],
  },
  {
    target: "issue 3: 1 client, INSERT p50 ≤ 1.5 ms",
    needs: ["local-1"],
    check: ([q]) => [ms(q!.p50Ms), q!.p50Ms <= 1.5],
  },
  {
    target: "issue 3: geo fastest-majority p50 ≤ 4 ms",
    needs: ["geo-majority-1"],
    check: ([g]) => [ms(g!.p50Ms), g!.p50Ms <= 4],
  },
  {
    target: "issue 3: geo all-ack p50 ≥ 30 ms (the baseline really waits for iad)",
    needs: ["geo-all-1"],
    check: ([a]) => [ms(a!.p50Ms), a!.p50Ms >= 30],
  },
];

/** Every target that needs at least one of `names` (the scenarios of a run). */
export function targetsTouching(checks: readonly TargetCheck[], names: ReadonlySet<string>): TargetCheck[] {
  return checks.filter((c) => RULES.find((r) => r.target === c.target)!.needs.some((n) => names.has(n)));
}

export function checkTargets(rows: readonly RowResult[]): TargetCheck[] {
  const find: Lookup = (name) => {
    const r = rows.find((x) => x.name === name);
    return r?.status === "ok" && r.ops > 0 ? r : null;
  };
  return RULES.map((rule) => {
    const needed = rule.needs.map(find);
    if (needed.some((r) => r === null)) {
      const missing = rule.needs.filter((_, i) => needed[i] === null);
      return { target: rule.target, measured: `no result for ${missing.join(", ")}`, status: "not measured" as const };
    }
    const [measured, met] = rule.check(needed as Measured[], find);
    return { target: rule.target, measured, status: met ? ("met" as const) : ("missed" as const) };
  });
}
