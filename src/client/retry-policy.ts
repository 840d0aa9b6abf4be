/** How often and how patiently the client retries when the cluster is between leaders. */

export interface RetryPolicy {
  /** Extra attempts after the first. */
  readonly retries: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { retries: 10, baseDelayMs: 25, maxDelayMs: 1000 };

/**
 * Exponential backoff with full jitter (so clients that lost the same leader do
 * not return in lockstep), lengthened to the server's Retry-After hint.
 */
export function retryDelayMs(policy: RetryPolicy, attempt: number, retryAfter: string | null): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** attempt);
  const jittered = ceiling / 2 + Math.random() * (ceiling / 2);
  const hinted = retryAfterMs(retryAfter);
  return hinted === null ? jittered : Math.max(jittered, Math.min(hinted, policy.maxDelayMs));
}

function retryAfterMs(header: string | null): number | null {
  if (header === null || !/^\d+(\.\d+)?$/.test(header.trim())) return null;
  return Number(header) * 1000;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
