/**
 * Content hashes of log entries. A log is summarised as a hash chain
 * h(i) = mix(h(i−1), fingerprint(entry i)), so "two logs agree on every entry
 * up to i" becomes "their chain values at i are equal" — the Log Matching
 * property (Raft paper §5.3) can then be checked in O(1) per appended entry.
 */
import type { ConfChange, Entry } from "../../src/raft/types.ts";
import { hash32 } from "./prng.ts";

const TYPE_CODE = { normal: 1, noop: 2, conf: 3 } as const;

/** Hash of one entry's term, kind and payload (not its index: the chain position supplies that). */
export function entryFingerprint(e: Entry): number {
  let h = hash32(TYPE_CODE[e.type], e.term);
  if (e.type === "normal") {
    const d = e.data;
    for (let i = 0; i < d.length; i++) h = hash32(h, d[i]!);
    h = hash32(h, d.length);
  } else if (e.type === "conf") {
    h = hashString(h, confKey(e.change));
  }
  return h;
}

/** Chain value after appending an entry with `fingerprint` to a prefix whose chain value is `prev`. */
export function chain(prev: number, fingerprint: number): number {
  // Two independent 32-bit lanes packed into a safe integer keep accidental collisions negligible.
  const hi = hash32(Math.floor(prev / 0x200000) ^ 0x5bd1e995, fingerprint) & 0x1fffff;
  const lo = hash32((prev >>> 0) ^ 0x27d4eb2f, fingerprint ^ 0x165667b1);
  return hi * 0x100000000 + lo;
}

export function confKey(c: ConfChange): string {
  switch (c.op) {
    case "add-voter":
    case "add-learner":
      return `${c.op}:${c.member.id}@${c.member.region}`;
    case "promote":
    case "remove":
      return `${c.op}:${c.id}`;
  }
}

function hashString(h: number, s: string): number {
  for (let i = 0; i < s.length; i++) h = hash32(h, s.charCodeAt(i));
  return h;
}

export function describeEntry(e: Entry): string {
  switch (e.type) {
    case "normal":
      return `${e.index}@${e.term}:${new TextDecoder().decode(e.data.subarray(0, 24))}`;
    case "noop":
      return `${e.index}@${e.term}:noop`;
    case "conf":
      return `${e.index}@${e.term}:conf(${confKey(e.change)})`;
  }
}
