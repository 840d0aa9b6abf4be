/**
 * Checks a history of appends and reads taken from a real cluster under
 * faults (see nemesis-run.ts). The data is a grow-only set per client: client
 * c appends (c, seq) rows one at a time, and readers read all of c's seqs. For
 * a grow-only set, linearizability comes down to the checks below (the set
 * never shrinks, so no read may "un-see" what an earlier one saw); no search
 * over orderings is needed.
 *
 * Times are the checker's own clock (performance.now() in the runner): an
 * operation took effect somewhere between its invocation and its completion.
 */
import { ViolationList, type Finding } from "./violation-list.ts";

/** One logical append; retries after an unknown outcome reuse its request id. */
export interface AppendOp {
  readonly client: number;
  readonly seq: number;
  readonly invokedAt: number;
  /** "ok": some attempt got 200; "failed": definitely not applied (a 4xx); "unknown": may or may not be applied. */
  readonly outcome: "ok" | "failed" | "unknown";
  /** When the acknowledging attempt completed; null unless outcome is "ok". */
  readonly ackedAt: number | null;
}

export interface ReadOp {
  readonly ofClient: number;
  readonly invokedAt: number;
  readonly completedAt: number;
  readonly seqs: readonly number[];
  /** Which node answered, for the report. */
  readonly node: string;
}

/** One row of the appends table as a replica holds it at the end. */
export interface Row {
  readonly id: number;
  readonly client: number;
  readonly seq: number;
}

export type ViolationKind =
  | "lost-append" // acknowledged, yet missing at the end
  | "duplicate-append" // applied more than once
  | "phantom-append" // present, yet never issued or definitely failed
  | "replicas-diverge" // replicas hold different rows
  | "stale-read" // missed an append acknowledged before the read began
  | "non-monotonic-read" // missed a value an earlier read (completed before this one began) returned
  | "read-from-nowhere"; // returned a value never issued before the read completed

export type Violation = Finding<ViolationKind>;

export interface History {
  readonly appends: readonly AppendOp[];
  readonly reads: readonly ReadOp[];
  /** Each replica's rows at the end, once every node has applied the same index. */
  readonly finalRows: ReadonlyMap<string, readonly Row[]>;
}

export function checkHistory(h: History): Violation[] {
  const found = new ViolationList<ViolationKind>();
  const report = found.add;
  const key = (client: number, seq: number) => `${client}:${seq}`;
  const appends = new Map(h.appends.map((a) => [key(a.client, a.seq), a]));

  checkFinalState(h, appends, key, report);
  checkReads(h, appends, key, report);

  return found.list();
}

type Report = (kind: ViolationKind, detail: string) => void;
type Key = (client: number, seq: number) => string;

function checkFinalState(h: History, appends: ReadonlyMap<string, AppendOp>, key: Key, report: Report): void {
  const replicas = [...h.finalRows];
  if (replicas.length === 0) return;
  const [firstNode, firstRows] = replicas[0]!;
  const fingerprint = (rows: readonly Row[]) => rows.map((r) => `${r.id}/${r.client}/${r.seq}`).join(",");
  const expected = fingerprint(firstRows);
  for (const [node, rows] of replicas.slice(1)) {
    if (fingerprint(rows) !== expected) report("replicas-diverge", `${node} holds ${rows.length} rows, ${firstNode} ${firstRows.length}, or the same count with different rows`);
  }
  for (const [node, rows] of replicas) {
    const seen = new Map<string, number>();
    for (const r of rows) {
      const k = key(r.client, r.seq);
      seen.set(k, (seen.get(k) ?? 0) + 1);
      const a = appends.get(k);
      if (a === undefined) report("phantom-append", `${node} holds ${k}, which was never issued`);
      else if (a.outcome === "failed") report("phantom-append", `${node} holds ${k}, whose append definitely failed`);
    }
    for (const [k, n] of seen) if (n > 1) report("duplicate-append", `${node} holds ${k} ${n} times`);
    for (const a of appends.values()) {
      if (a.outcome === "ok" && !seen.has(key(a.client, a.seq))) report("lost-append", `${node} lacks ${key(a.client, a.seq)}, acknowledged at ${a.ackedAt!.toFixed(0)} ms`);
    }
  }
}

function checkReads(h: History, appends: ReadonlyMap<string, AppendOp>, key: Key, report: Report): void {
  const readsByClient = groupBy(h.reads, (r) => r.ofClient);
  const ackedByClient = groupBy(
    h.appends.filter((a) => a.outcome === "ok"),
    (a) => a.client,
  );
  for (const [client, reads] of readsByClient) {
    const byInvoke = [...reads].sort((a, b) => a.invokedAt - b.invokedAt);
    const byCompletion = [...reads].sort((a, b) => a.completedAt - b.completedAt);
    const acked = [...(ackedByClient.get(client) ?? [])].sort((a, b) => a.ackedAt! - b.ackedAt!);
    // Values every read invoked from now on must return: acknowledged appends and
    // values earlier reads returned, both completed before that read began.
    const mustSee = new Map<number, { readonly kind: ViolationKind; readonly why: string }>();
    let nextAck = 0;
    let nextDone = 0;
    for (const r of byInvoke) {
      while (nextAck < acked.length && acked[nextAck]!.ackedAt! < r.invokedAt) {
        const a = acked[nextAck++]!;
        if (!mustSee.has(a.seq)) mustSee.set(a.seq, { kind: "stale-read", why: `its append was acknowledged at ${a.ackedAt!.toFixed(0)} ms` });
      }
      while (nextDone < byCompletion.length && byCompletion[nextDone]!.completedAt < r.invokedAt) {
        const earlier = byCompletion[nextDone++]!;
        for (const s of earlier.seqs) {
          if (!mustSee.has(s)) mustSee.set(s, { kind: "non-monotonic-read", why: `a read at ${earlier.node} that completed at ${earlier.completedAt.toFixed(0)} ms returned it` });
        }
      }
      const got = new Set(r.seqs);
      for (const [s, { kind, why }] of mustSee) {
        if (got.has(s)) continue;
        report(kind, `read of client ${client} at ${r.node} (${r.invokedAt.toFixed(0)}–${r.completedAt.toFixed(0)} ms) lacks seq ${s}: ${why}`);
      }
      for (const s of r.seqs) {
        const a = appends.get(key(client, s));
        if (a === undefined || a.invokedAt > r.completedAt) report("read-from-nowhere", `read of client ${client} at ${r.node} returned seq ${s}, not issued by ${r.completedAt.toFixed(0)} ms`);
      }
    }
  }
}

function groupBy<T>(items: readonly T[], keyOf: (t: T) => number): Map<number, T[]> {
  const m = new Map<number, T[]>();
  for (const t of items) {
    const k = keyOf(t);
    const list = m.get(k);
    if (list) list.push(t);
    else m.set(k, [t]);
  }
  return m;
}
