import { createHash, timingSafeEqual } from "node:crypto";

/**
 * Whether a presented secret matches the configured one, in time independent
 * of where they differ. Hashing first makes the compared lengths equal, so
 * the length of the real secret does not leak either.
 */
export function secretMatches(expected: string | null, presented: string | null): boolean {
  if (expected === null) return true;
  if (presented === null) return false;
  const a = createHash("sha256").update(expected).digest();
  const b = createHash("sha256").update(presented).digest();
  return timingSafeEqual(a, b);
}
