import { describe, expect, test } from "bun:test";
import { LatencyHistogram } from "../../bench/latency-histogram.ts";

describe("LatencyHistogram", () => {
  test("percentiles of 1..10000 µs are within the 1/128 bucket precision", () => {
    const h = new LatencyHistogram();
    for (let v = 1; v <= 10_000; v++) h.recordMicros(v);
    expect(h.count).toBe(10_000);
    for (const [q, exact] of [[0.5, 5_000], [0.9, 9_000], [0.99, 9_900], [1, 10_000]] as const) {
      const got = h.percentileMicros(q);
      expect(got).toBeGreaterThanOrEqual(exact);
      expect(got).toBeLessThanOrEqual(exact * (1 + 1 / 128));
    }
    expect(h.minMicros).toBe(1);
    expect(h.maxMicros).toBe(10_000);
    expect(h.meanMicros).toBeCloseTo(5_000.5, 6);
  });

  test("small values are exact and a single huge outlier only moves the top percentile", () => {
    const h = new LatencyHistogram();
    for (let i = 0; i < 99; i++) h.recordMicros(200);
    h.recordMicros(30 * 60 * 1e6);
    expect(h.percentileMicros(0.5)).toBe(200);
    expect(h.percentileMicros(0.99)).toBe(200);
    expect(h.percentileMicros(1)).toBe(30 * 60 * 1e6);
  });

  test("merging snapshots equals recording everything in one histogram", () => {
    const a = new LatencyHistogram();
    const b = new LatencyHistogram();
    const all = new LatencyHistogram();
    for (let i = 0; i < 5_000; i++) {
      const v = (i * 7919) % 100_000;
      (i % 2 === 0 ? a : b).recordMicros(v);
      all.recordMicros(v);
    }
    const merged = LatencyHistogram.fromSnapshot(JSON.parse(JSON.stringify(a.snapshot())));
    merged.merge(b);
    for (const q of [0.1, 0.5, 0.9, 0.99, 0.999]) expect(merged.percentileMicros(q)).toBe(all.percentileMicros(q));
    expect(merged.count).toBe(all.count);
    expect(merged.maxMicros).toBe(all.maxMicros);
  });

  test("an empty histogram reports NaN rather than a made-up zero", () => {
    expect(new LatencyHistogram().percentileMicros(0.5)).toBeNaN();
  });
});
