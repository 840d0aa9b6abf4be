import type { Entry } from "./types.ts";

/** Fixed per-entry cost so that empty entries still fill the byte budgets. */
const ENTRY_OVERHEAD = 16;
const CONF_ENTRY_SIZE = 64;

/** Approximate wire/memory size of an entry, used for batching and in-flight limits. */
export function entrySize(e: Entry): number {
  switch (e.type) {
    case "normal":
      return ENTRY_OVERHEAD + e.data.byteLength;
    case "noop":
      return ENTRY_OVERHEAD;
    case "conf":
      return CONF_ENTRY_SIZE;
  }
}

export function entriesSize(entries: readonly Entry[]): number {
  let n = 0;
  for (const e of entries) n += entrySize(e);
  return n;
}
