/**
 * Environment for a node process's memory allocator. Bun allocates outside
 * the JS heap with mimalloc, whose background thread returns freed pages to
 * the OS 10 ms after they were freed (mimalloc's default `purge_delay`). A
 * node under load frees and reuses the same few megabytes of request and
 * frame buffers all the time, so it paid for madvise calls and page faults
 * over and over: on a 3-node cluster taking 100-statement batches the
 * scavenger thread alone cost about 150 µs of system time per log entry per
 * node (measured per thread from /proc). A 1 s delay keeps the pages of a
 * steady load in place and still returns a burst's memory a second after it
 * ends (and src/node/memory-release.ts collects explicitly once a node is quiet).
 *
 * mimalloc reads its options from the environment when the process starts,
 * so they must be set by whatever starts the node: the `cluster` command and
 * the benchmark set them for their children, the Dockerfile for Fly.
 */
export const ALLOCATOR_ENV: Readonly<Record<string, string>> = {
  MIMALLOC_PURGE_DELAY: "1000",
};

/** `env` with the allocator settings added where it does not set them itself. */
export function withAllocatorSettings(env: Readonly<Record<string, string | undefined>>): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = { ...env };
  for (const [k, v] of Object.entries(ALLOCATOR_ENV)) if (out[k] === undefined) out[k] = v;
  return out;
}
