/**
 * A bounded map that forgets its least recently used entries first. A hit
 * only stamps the entry with a counter (cheaper than reordering a Map on
 * every lookup, which the apply path does several times per statement); when
 * the map overflows, the oldest eighth is evicted in one scan.
 */
export class LruCache<K, V> {
  private readonly map = new Map<K, { value: V; used: number }>();
  private clock = 0;

  constructor(
    private readonly capacity: number,
    private readonly onEvict?: (value: V, key: K) => void,
  ) {
    if (!(capacity >= 1)) throw new RangeError("LruCache capacity must be at least 1");
  }

  get size(): number {
    return this.map.size;
  }

  get(key: K): V | undefined {
    const slot = this.map.get(key);
    if (slot === undefined) return undefined;
    slot.used = ++this.clock;
    return slot.value;
  }

  set(key: K, value: V): void {
    const old = this.map.get(key);
    if (old !== undefined) {
      if (old.value !== value) this.onEvict?.(old.value, key);
      old.value = value;
      old.used = ++this.clock;
      return;
    }
    this.map.set(key, { value, used: ++this.clock });
    if (this.map.size > this.capacity) this.evictOldest(Math.max(1, this.map.size - Math.floor((this.capacity * 7) / 8)));
  }

  private evictOldest(n: number): void {
    const victims = [...this.map].sort((a, b) => a[1].used - b[1].used).slice(0, n);
    for (const [key, slot] of victims) {
      this.map.delete(key);
      this.onEvict?.(slot.value, key);
    }
  }

  clear(): void {
    const entries = [...this.map];
    this.map.clear();
    for (const [k, slot] of entries) this.onEvict?.(slot.value, k);
  }
}
