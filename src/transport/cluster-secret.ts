import { createHash, timingSafeEqual } from "node:crypto";

/**
 * Checks presented secrets against the configured one in time independent of
 * where they differ. Comparing SHA-256 digests makes the compared lengths
 * equal, so the length of the real secret does not leak either.
 */
export class ClusterSecret {
  private readonly digest: Buffer | null;

  constructor(secret: string | null) {
    this.digest = secret === null ? null : createHash("sha256").update(secret).digest();
  }

  /** Always true when no secret is configured. */
  matches(presented: string | null): boolean {
    if (this.digest === null) return true;
    if (presented === null) return false;
    return timingSafeEqual(this.digest, createHash("sha256").update(presented).digest());
  }
}
