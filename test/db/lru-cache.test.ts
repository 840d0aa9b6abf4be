import { expect, test } from "bun:test";
import { LruCache } from "../../src/db/lru-cache.ts";

test("evicts the least recently used entries, reporting each eviction once", () => {
  const evicted: string[] = [];
  const cache = new LruCache<string, number>(8, (_v, k) => evicted.push(k));
  for (let i = 0; i < 8; i++) cache.set(`k${i}`, i);
  // Touch k0 and k1: they become the most recent.
  expect(cache.get("k0")).toBe(0);
  expect(cache.get("k1")).toBe(1);
  cache.set("k8", 8);
  expect(cache.size).toBeLessThanOrEqual(8);
  expect(evicted).toContain("k2");
  expect(evicted).not.toContain("k0");
  expect(evicted).not.toContain("k1");
  expect(cache.get("k2")).toBeUndefined();
  expect(cache.get("k8")).toBe(8);
  // Replacing a value evicts the old one; clearing evicts everything left.
  cache.set("k8", 80);
  expect(evicted.filter((k) => k === "k8")).toHaveLength(1);
  const before = evicted.length;
  const left = cache.size;
  cache.clear();
  expect(evicted.length - before).toBe(left);
  expect(cache.size).toBe(0);
});
