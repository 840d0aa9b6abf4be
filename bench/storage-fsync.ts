/**
 * Raft log write path: inline (write + fdatasync on the event loop, deferred
 * with setImmediate) vs worker (a Worker writes the segment files).
 *
 *   bun bench/storage-fsync.ts [--seconds 2] [--repeat 3] [--payload 100] [--long-log 200000] [--preallocate 0,4194304]
 *
 * --follower-batches N: also write N follower-like batches (16 entries of
 * 11 kB, the size of a 100-statement batch entry, inline writer, with
 * compaction) and report CPU time per entry (default 400; 0 = skip).
 *
 * --preallocate: comma-separated preallocation sizes (bytes of zeros written
 * ahead of the data, segment-writer.ts) to compare, interleaved; default: the
 * store's default only.
 *
 * For each writer and 1 / 64 concurrent writers (each awaits its own persist of
 * one entry, as concurrent proposals would): fsyncs/s, entries/s, persist
 * latency, and how long the event loop was held: per commit (time the commit
 * path spent on the loop thread) and as the gaps between consecutive turns of
 * a setImmediate probe (what a queued network send waits). A second round
 * adds event-loop load — a task that burns 100 µs of CPU per loop turn, standing
 * in for request handling, the Raft core and sends — and reports how much of
 * it got done next to the writes. Then: startup (open + load) time for a log
 * of --long-log entries.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { DEFAULT_PREALLOCATE_BYTES, RaftLogStore } from "../src/storage/raft-log-store.ts";
import type { LogWriterKind } from "../src/storage/log-writer.ts";
import type { Entry } from "../src/raft/types.ts";

const { values: args } = parseArgs({
  options: {
    seconds: { type: "string", default: "2" },
    repeat: { type: "string", default: "3" },
    payload: { type: "string", default: "100" },
    "long-log": { type: "string", default: "200000" },
    preallocate: { type: "string", default: String(DEFAULT_PREALLOCATE_BYTES) },
    "follower-batches": { type: "string", default: "400" },
  },
});
const seconds = Number(args.seconds);
const repeat = Number(args.repeat);
const payload = new Uint8Array(Number(args.payload)).fill(120);
const longLog = Number(args["long-log"]);
const preallocations = args.preallocate.split(",").map(Number);

function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

const us = (ms: number) => `${Math.round(ms * 1000)} µs`;

const BUSY_SLICE_MS = 0.1;

function spin(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end);
}

/**
 * Gaps between consecutive turns of the event loop, as a queued callback sees
 * them; with `busy`, each turn also burns BUSY_SLICE_MS of CPU.
 */
function startLoopProbe(busy: boolean): () => { gaps: number[]; busyMs: number } {
  const gaps: number[] = [];
  let busyMs = 0;
  let last = performance.now();
  let running = true;
  const turn = () => {
    const now = performance.now();
    gaps.push(now - last);
    if (busy) {
      spin(BUSY_SLICE_MS);
      busyMs += BUSY_SLICE_MS;
    }
    last = performance.now();
    if (running) setImmediate(turn);
  };
  setImmediate(turn);
  return () => {
    running = false;
    return { gaps, busyMs };
  };
}

interface Row {
  readonly writer: LogWriterKind;
  readonly preallocate: number;
  readonly concurrency: number;
  /** Share of wall time the background load got done (busy round only). */
  readonly busyShare: number;
  readonly fsyncsPerSec: number;
  readonly entriesPerSec: number;
  readonly entriesPerFsync: number;
  readonly latP50: number;
  readonly latP99: number;
  readonly stallPerCommit: number;
  readonly gapP50: number;
  readonly gapP99: number;
  readonly gapMax: number;
}

async function run(writer: LogWriterKind, preallocate: number, concurrency: number, busy: boolean): Promise<Row> {
  const dir = mkdtempSync(join(tmpdir(), "ql-bench-log-"));
  const store = await RaftLogStore.open(dir, { writer, preallocateBytes: preallocate });
  store.load();
  let next = 0;
  const latencies: number[] = [];
  const deadline = performance.now() + seconds * 1000;
  const stopProbe = startLoopProbe(busy);
  const t0 = performance.now();
  const loop = async () => {
    while (performance.now() < deadline) {
      const index = ++next;
      const e: Entry = { type: "normal", term: 1, index, data: payload };
      const s = performance.now();
      await store.persist({ entries: [e] });
      latencies.push(performance.now() - s);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, loop));
  const elapsed = (performance.now() - t0) / 1000;
  const probe = stopProbe();
  const gaps = probe.gaps.sort((a, b) => a - b);
  const st = store.stats();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
  latencies.sort((a, b) => a - b);
  return {
    writer,
    preallocate,
    concurrency,
    busyShare: probe.busyMs / (elapsed * 1000),
    fsyncsPerSec: st.fsyncs / elapsed,
    entriesPerSec: st.entriesWritten / elapsed,
    entriesPerFsync: st.entriesWritten / st.fsyncs,
    latP50: quantile(latencies, 0.5),
    latP99: quantile(latencies, 0.99),
    stallPerCommit: st.eventLoopWriteMs / st.commits,
    gapP50: quantile(gaps, 0.5),
    gapP99: quantile(gaps, 0.99),
    gapMax: gaps[gaps.length - 1],
  };
}

async function longLogStartup(n: number): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "ql-bench-long-"));
  let store = await RaftLogStore.open(dir);
  store.load();
  const batch = 1000;
  for (let lo = 1; lo <= n; lo += batch) {
    const entries: Entry[] = [];
    for (let i = lo; i < Math.min(lo + batch, n + 1); i++) entries.push({ type: "normal", term: 1 + Math.floor(i / 50_000), index: i, data: payload });
    await store.persist({ entries, hardState: { term: 1 + Math.floor(n / 50_000), vote: "n1", commit: lo - 1 } });
  }
  await store.close();
  const t0 = performance.now();
  store = await RaftLogStore.open(dir);
  const loaded = store.load();
  const ms = performance.now() - t0;
  await store.close();
  rmSync(dir, { recursive: true, force: true });
  if (loaded.entries.length !== n) throw new Error(`long log: loaded ${loaded.entries.length} of ${n}`);
  console.log(`startup with ${n} entries of ${payload.length} B: open+load ${Math.round(ms)} ms (verify ${Math.round(loaded.recovery.loadMs)} ms)`);
}

async function followerBatches(batches: number): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "ql-bench-follower-"));
  const store = await RaftLogStore.open(dir, { writer: "inline" });
  store.load();
  const data = new Uint8Array(11_000).map((_, i) => (i * 31) & 0xff);
  const per = 16;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let index = 0;
  for (let b = 0; b < batches; b++) {
    const entries: Entry[] = Array.from({ length: per }, () => ({ type: "normal", term: 1, index: ++index, data }));
    await store.persist({ entries, hardState: { term: 1, vote: "n1", commit: Math.max(0, index - per) } });
    if (b % 100 === 99) store.compact(index - 200, { members: [] });
  }
  const cpu = process.cpuUsage(cpu0);
  const wall = performance.now() - t0;
  await store.close();
  rmSync(dir, { recursive: true, force: true });
  console.log(
    `follower-like batches (${batches} × ${per} entries of 11 kB, inline): ${Math.round((cpu.user + cpu.system) / index)} µs CPU per entry ` +
      `(user ${Math.round(cpu.user / index)}, sys ${Math.round(cpu.system / index)}), ${(wall / batches).toFixed(2)} ms per batch`,
  );
}

/** Field-wise median over repeated runs of one configuration (runs are interleaved, so noise from other load spreads evenly). */
function median(runs: readonly Row[]): Row {
  const mid = (f: (r: Row) => number) => quantile(runs.map(f).sort((a, b) => a - b), 0.5);
  return {
    writer: runs[0].writer,
    preallocate: runs[0].preallocate,
    concurrency: runs[0].concurrency,
    busyShare: mid((r) => r.busyShare),
    fsyncsPerSec: mid((r) => r.fsyncsPerSec),
    entriesPerSec: mid((r) => r.entriesPerSec),
    entriesPerFsync: mid((r) => r.entriesPerFsync),
    latP50: mid((r) => r.latP50),
    latP99: mid((r) => r.latP99),
    stallPerCommit: mid((r) => r.stallPerCommit),
    gapP50: mid((r) => r.gapP50),
    gapP99: mid((r) => r.gapP99),
    gapMax: mid((r) => r.gapMax),
  };
}

function table(rows: readonly Row[], busy: boolean): void {
  console.table(
    rows.map((r) => ({
      writer: r.writer,
      ...(preallocations.length > 1 ? { prealloc: r.preallocate } : {}),
      writers: r.concurrency,
      "fsyncs/s": Math.round(r.fsyncsPerSec),
      "entries/s": Math.round(r.entriesPerSec),
      "entries/fsync": r.entriesPerFsync.toFixed(1),
      "persist p50": us(r.latP50),
      "persist p99": us(r.latP99),
      "loop held/commit": us(r.stallPerCommit),
      ...(busy
        ? { "background work done": `${Math.round(r.busyShare * 100)}% of wall time` }
        : { "loop gap p50": us(r.gapP50), "loop gap p99": us(r.gapP99), "loop gap max": us(r.gapMax) }),
    })),
  );
}

console.log(
  `raft log write path, ${seconds} s per run, medians of ${repeat} interleaved runs, ${payload.length} B entries, fdatasync per batch, preallocate ${preallocations.join(" / ")} B`,
);
const configs = [1, 64].flatMap((concurrency) =>
  (["inline", "worker"] as const).flatMap((writer) => preallocations.map((preallocate) => ({ writer, preallocate, concurrency }))),
);
for (const busy of [false, true]) {
  console.log(busy ? `\nwith event-loop load (${BUSY_SLICE_MS * 1000} µs of CPU per loop turn):` : "\nidle event loop:");
  const runs: Row[][] = configs.map(() => []);
  for (let r = 0; r < repeat; r++) {
    for (let i = 0; i < configs.length; i++) runs[i].push(await run(configs[i].writer, configs[i].preallocate, configs[i].concurrency, busy));
  }
  table(runs.map(median), busy);
}
if (longLog > 0) await longLogStartup(longLog);
const follower = Number(args["follower-batches"]);
if (follower > 0) await followerBatches(follower);
