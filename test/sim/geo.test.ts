/**
 * Geography in simulated time: with the leader in region A (2 voters 1 ms
 * apart; B is 15 ms away), a commit costs the fastest majority — about one
 * intra-region round trip plus an fsync — not the 30 ms round trip to B.
 */
import { expect, test } from "bun:test";
import { GEO_CROSS_MS, GEO_FSYNC_MS, GEO_INTRA_MS, percentile, runGeo } from "./geo.ts";

function latencies(region: "A" | "B"): number[] {
  const all: number[] = [];
  for (let seed = 1; seed <= 5; seed++) {
    const r = runGeo(seed, region);
    expect(r.violation).toBeNull();
    all.push(...r.latencies);
  }
  return all.sort((a, b) => a - b);
}

test("leader in A commits at the fastest majority (≈ 2 ms + fsync), well under the cross-region round trip", () => {
  const lat = latencies("A");
  expect(lat.length).toBeGreaterThan(500);
  const p50 = percentile(lat, 50);
  expect(p50).toBeGreaterThanOrEqual(2 * GEO_INTRA_MS);
  expect(p50).toBeLessThan(2 * GEO_INTRA_MS + GEO_FSYNC_MS + 1);
  expect(percentile(lat, 99)).toBeLessThan((2 * GEO_CROSS_MS) / 4);
});

test("leader in B pays the cross-region round trip", () => {
  const p50 = percentile(latencies("B"), 50);
  expect(p50).toBeGreaterThanOrEqual(2 * GEO_CROSS_MS);
  expect(p50).toBeLessThan(2 * GEO_CROSS_MS * 1.2 + GEO_FSYNC_MS);
});
