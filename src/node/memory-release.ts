/**
 * Gives a node's memory back once a burst of traffic is over.
 *
 * JavaScriptCore collects only when the program allocates, so the garbage of a
 * burst (request and response bodies, decoded peer frames, per-request
 * closures) stays resident after the traffic stops: measured on a 3-node
 * cluster, a leader that had served 256 writing clients sat idle at 117 MB
 * with a 32 MB JS heap of which 24 MB was garbage, and a full collection took
 * it to 85 MB within seconds. `Bun.gc(true)` runs that collection and
 * `mi_collect` for mimalloc (the allocator of everything outside the JS
 * heap); JSC's scavenger then returns the freed pages to the OS.
 *
 * The collection has to be synchronous (tens to a few hundred ms on 2 busy
 * cores): `Bun.gc(false)` only asks for a collection that JSC performs when
 * JS next allocates, which a quiet node does not do. So it runs only when
 * the node is quiet: almost no requests or applied entries, and no JS
 * collection of its own for a while (the heap size JSC reports jumps only when
 * it collects, and it collects every few MB allocated, so this also catches
 * work the counters miss, such as peer RPCs). A pause then delays nobody, and
 * it stays well under the 300 ms minimum election timeout that a leader's
 * heartbeats guard.
 */
import { heapSize } from "bun:jsc";

export interface MemorySample {
  /** Resident set size of the process. */
  readonly rssBytes: number;
  /** JS heap as bun:jsc heapSize() reports it: survivors of JSC's last collection (it jumps when JSC collects) plus a slow drift. */
  readonly heapBytes: number;
  /** A counter that grows with the node's work: requests served plus entries applied. */
  readonly work: number;
  readonly atMs: number;
}

export interface MemoryReleasePolicy {
  /** Consecutive quiet samples before a release. */
  readonly quietSamples: number;
  /** At most this much work between two samples still counts as quiet. */
  readonly quietWork: number;
  /** A heap size change smaller than this between two samples is drift, not a collection. */
  readonly heapNoiseBytes: number;
  /** Release only when resident memory is this far above its lowest point since the last release. */
  readonly slackBytes: number;
  /** Never two releases closer than this. */
  readonly minGapMs: number;
}

export const DEFAULT_MEMORY_RELEASE_POLICY: MemoryReleasePolicy = {
  quietSamples: 2,
  quietWork: 5,
  heapNoiseBytes: 1024 * 1024,
  slackBytes: 16 * 1024 * 1024,
  minGapMs: 5_000,
};

/**
 * Decides, one sample at a time, when a release is worth it. Pure: the
 * caller takes the samples and runs the collection.
 */
export class MemoryReleaseSchedule {
  private floorRss: number;
  private lastHeap: number;
  private lastWork: number;
  private quiet = 0;
  private lastReleaseAt = -Infinity;

  constructor(
    private readonly policy: MemoryReleasePolicy,
    first: MemorySample,
  ) {
    this.floorRss = first.rssBytes;
    this.lastHeap = first.heapBytes;
    this.lastWork = first.work;
  }

  /** Records a sample; true when the node should collect now. */
  observe(s: MemorySample): boolean {
    const collectedMeanwhile = Math.abs(s.heapBytes - this.lastHeap) >= this.policy.heapNoiseBytes;
    const work = s.work - this.lastWork;
    this.lastHeap = s.heapBytes;
    this.lastWork = s.work;
    this.quiet = !collectedMeanwhile && work <= this.policy.quietWork ? this.quiet + 1 : 0;
    this.floorRss = Math.min(this.floorRss, s.rssBytes);
    return (
      this.quiet >= this.policy.quietSamples &&
      s.rssBytes - this.floorRss >= this.policy.slackBytes &&
      s.atMs - this.lastReleaseAt >= this.policy.minGapMs
    );
  }

  /**
   * Records the state right after a release. What it could not free is live
   * (or not yet returned by the scavenger, which later samples lower again),
   * so the next release waits for that much plus the slack: a node whose live
   * memory grew never collects over and over for nothing.
   */
  released(after: MemorySample): void {
    this.floorRss = after.rssBytes;
    this.lastHeap = after.heapBytes;
    this.lastWork = after.work;
    this.quiet = 0;
    this.lastReleaseAt = after.atMs;
  }
}

export interface MemoryReleaseSources {
  /** Requests served plus entries applied so far (monotonic). */
  readonly work: () => number;
  /** Runs the collection; defaults to a full synchronous GC plus mimalloc cleanup. */
  readonly collect?: () => void;
  readonly sample?: () => { rssBytes: number; heapBytes: number };
  readonly now?: () => number;
  readonly onRelease?: (r: ReleaseReport) => void;
}

export interface ReleaseReport {
  readonly rssBeforeBytes: number;
  readonly rssAfterBytes: number;
  readonly heapBeforeBytes: number;
  readonly heapAfterBytes: number;
  readonly pauseMs: number;
}

export interface MemoryReleaser {
  /** Takes one sample and releases if the schedule says so (the timer calls this). */
  check(): ReleaseReport | null;
  stop(): void;
}

/** Samples cost ~15 µs on a quiet node (a busy one is not sampled); four a second let a release start within a second of a burst's end. */
const SAMPLE_INTERVAL_MS = 250;

function processSample(): { rssBytes: number; heapBytes: number } {
  return { rssBytes: process.memoryUsage.rss(), heapBytes: heapSize() };
}

/** Samples every `intervalMs` (the timer does not keep the process alive) and releases memory when a burst is over. */
export function startMemoryRelease(
  sources: MemoryReleaseSources,
  policy: MemoryReleasePolicy = DEFAULT_MEMORY_RELEASE_POLICY,
  intervalMs: number = SAMPLE_INTERVAL_MS,
): MemoryReleaser {
  const collect = sources.collect ?? (() => Bun.gc(true));
  const sample = sources.sample ?? processSample;
  const now = sources.now ?? (() => performance.now());
  const take = (): MemorySample => ({ ...sample(), work: sources.work(), atMs: now() });
  let last = take();
  const schedule = new MemoryReleaseSchedule(policy, last);

  const check = (): ReleaseReport | null => {
    const work = sources.work();
    // A node that is working is not quiet, whatever its memory says: reuse the last reading
    // instead of asking JSC for its heap size, which waits on a busy collector (profiles of a
    // leader under load showed it at ~1 % of the event loop).
    const before = work - last.work > policy.quietWork ? { ...last, work, atMs: now() } : take();
    last = before;
    if (!schedule.observe(before)) return null;
    const t0 = now();
    collect();
    const after = take();
    last = after;
    schedule.released(after);
    const report = {
      rssBeforeBytes: before.rssBytes,
      rssAfterBytes: after.rssBytes,
      heapBeforeBytes: before.heapBytes,
      heapAfterBytes: after.heapBytes,
      pauseMs: after.atMs - t0,
    };
    sources.onRelease?.(report);
    return report;
  };
  const timer = setInterval(check, intervalMs);
  timer.unref();
  return { check, stop: () => clearInterval(timer) };
}
