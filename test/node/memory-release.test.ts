import { describe, expect, test } from "bun:test";
import { heapSize } from "bun:jsc";
import { MemoryReleaseSchedule, startMemoryRelease, type MemoryReleasePolicy, type MemorySample } from "../../src/node/memory-release.ts";

const MB = 1024 * 1024;
const POLICY: MemoryReleasePolicy = { quietSamples: 2, quietWork: 10, heapNoiseBytes: 1 * MB, slackBytes: 16 * MB, minGapMs: 5_000 };

/** A node's samples, half a second apart; `rss`/`heap` in MB, `work` = requests + applied entries so far. */
class Timeline {
  private at = 0;
  private work = 0;
  sample(rss: number, heap: number, workDone = 0): MemorySample {
    this.work += workDone;
    this.at += 500;
    return { rssBytes: rss * MB, heapBytes: heap * MB, work: this.work, atMs: this.at };
  }
}

describe("MemoryReleaseSchedule", () => {
  test("releases once a burst that grew memory is over, not during it", () => {
    const t = new Timeline();
    const s = new MemoryReleaseSchedule(POLICY, t.sample(66, 8));
    // The burst: thousands of requests, JSC collecting on its own, memory growing.
    expect(s.observe(t.sample(90, 14, 3_000))).toBe(false);
    expect(s.observe(t.sample(120, 25, 3_000))).toBe(false);
    expect(s.observe(t.sample(130, 31, 3_000))).toBe(false);
    // Traffic stops: the garbage stays, nothing collects it.
    expect(s.observe(t.sample(130, 31, 2))).toBe(false);
    expect(s.observe(t.sample(130, 31, 1))).toBe(true);
  });

  test("a node at rest never collects, however long it idles", () => {
    const t = new Timeline();
    const s = new MemoryReleaseSchedule(POLICY, t.sample(66, 8));
    for (let i = 0; i < 100; i++) expect(s.observe(t.sample(70, 8.01 + i * 0.001, 1))).toBe(false);
  });

  test("low request counts do not make a node quiet while JSC keeps collecting (peer traffic)", () => {
    const t = new Timeline();
    const s = new MemoryReleaseSchedule(POLICY, t.sample(66, 8));
    // A leader answering ReadIndex RPCs for a follower: no requests of its own, but its heap jumps every sample.
    for (let i = 0; i < 20; i++) expect(s.observe(t.sample(140, i % 2 === 0 ? 30 : 12, 0))).toBe(false);
  });

  test("a steady trickle of requests above the quiet limit keeps it from collecting", () => {
    const t = new Timeline();
    const s = new MemoryReleaseSchedule(POLICY, t.sample(66, 8));
    for (let i = 0; i < 20; i++) expect(s.observe(t.sample(140, 20, 50))).toBe(false);
  });

  test("memory a release could not free is live: no second release until it grows again by the slack", () => {
    const t = new Timeline();
    const s = new MemoryReleaseSchedule(POLICY, t.sample(66, 8));
    s.observe(t.sample(150, 60, 5_000));
    s.observe(t.sample(150, 60));
    expect(s.observe(t.sample(150, 60))).toBe(true);
    s.released(t.sample(145, 58)); // mostly live data
    for (let i = 0; i < 40; i++) expect(s.observe(t.sample(145, 58))).toBe(false);
    // It grows again by more than the slack in another burst, then goes quiet.
    s.observe(t.sample(170, 70, 5_000));
    s.observe(t.sample(170, 70));
    expect(s.observe(t.sample(170, 70))).toBe(true);
  });

  test("the floor follows memory down as freed pages go back to the OS", () => {
    const t = new Timeline();
    const s = new MemoryReleaseSchedule(POLICY, t.sample(66, 8));
    s.observe(t.sample(130, 30, 5_000));
    s.observe(t.sample(130, 30));
    expect(s.observe(t.sample(130, 30))).toBe(true);
    s.released(t.sample(110, 8));
    for (const rss of [100, 90, 85, 85, 85, 85, 85, 85, 85, 85, 85, 85]) expect(s.observe(t.sample(rss, 8))).toBe(false);
    // A smaller burst later: 85 → 105 MB is past the slack from the new floor, though below the old post-release 110.
    s.observe(t.sample(105, 20, 2_000));
    s.observe(t.sample(105, 20));
    expect(s.observe(t.sample(105, 20))).toBe(true);
  });

  test("two releases are never closer than the minimum gap", () => {
    const t = new Timeline();
    const s = new MemoryReleaseSchedule(POLICY, t.sample(66, 8));
    s.observe(t.sample(130, 30, 5_000));
    s.observe(t.sample(130, 30));
    expect(s.observe(t.sample(130, 30))).toBe(true);
    const release = t.sample(80, 8);
    s.released(release);
    s.observe(t.sample(120, 25, 5_000));
    let releasedAt = 0;
    for (let i = 0; i < 20 && releasedAt === 0; i++) {
      const sample = t.sample(120, 25);
      if (s.observe(sample)) releasedAt = sample.atMs;
    }
    expect(releasedAt).toBeGreaterThanOrEqual(release.atMs + POLICY.minGapMs);
  });
});

describe("startMemoryRelease", () => {
  test("collects through the given hook when the schedule says so, and reports what it freed", () => {
    let rss = 66 * MB;
    let heap = 8 * MB;
    let work = 0;
    let now = 0;
    let collections = 0;
    let samples = 0;
    const releaser = startMemoryRelease(
      {
        work: () => work,
        sample: () => {
          samples++;
          return { rssBytes: rss, heapBytes: heap };
        },
        now: () => now,
        collect: () => {
          collections++;
          rss = 90 * MB;
          heap = 9 * MB;
        },
      },
      POLICY,
      3_600_000,
    );
    try {
      const tick = () => {
        now += 500;
        return releaser.check();
      };
      rss = 140 * MB;
      heap = 40 * MB;
      work = 10_000;
      const sampled = samples;
      expect(tick()).toBeNull(); // busy: memory is not even read
      expect(samples).toBe(sampled);
      expect(tick()).toBeNull(); // quiet, but the heap moved since the last reading
      expect(tick()).toBeNull();
      const report = tick();
      expect(collections).toBe(1);
      expect(report).toEqual({ rssBeforeBytes: 140 * MB, rssAfterBytes: 90 * MB, heapBeforeBytes: 40 * MB, heapAfterBytes: 9 * MB, pauseMs: 0 });
      for (let i = 0; i < 10; i++) expect(tick()).toBeNull();
      expect(collections).toBe(1);
    } finally {
      releaser.stop();
    }
  });

  test("the real collection frees garbage the JS heap holds", () => {
    Bun.gc(true);
    const before = heapSize();
    const holder: { rows: unknown[][] | null } = { rows: null };
    // Filled in a function of its own, in chunks: JSC scans stacks conservatively, and a stale
    // pointer left in this frame would keep the rows alive (the test failed about 1 run in 10).
    fillRows(holder);
    Bun.gc(true);
    const withRows = heapSize();
    expect(withRows).toBeGreaterThan(before + 4 * MB);
    holder.rows = null;
    let now = 0;
    const releaser = startMemoryRelease({ work: () => 0, sample: () => ({ rssBytes: now === 0 ? 0 : 1e12, heapBytes: 1 }), now: () => (now += 500) }, POLICY, 3_600_000);
    try {
      releaser.check();
      const report = releaser.check();
      expect(report).not.toBeNull();
      expect(heapSize()).toBeLessThan(withRows - 4 * MB);
    } finally {
      releaser.stop();
    }
  });
});

function fillRows(holder: { rows: unknown[][] | null }): void {
  holder.rows = Array.from({ length: 20 }, (_, c) => Array.from({ length: 10_000 }, (_, i) => ({ i, s: `row ${c}-${i}` })));
}
