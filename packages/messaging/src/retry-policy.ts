import { isPermanentFailure } from './codec.js';

export interface RetryPolicy {
  /** Deliveries a message gets in all before it is dead-lettered (1 means no retry). */
  readonly maxAttempts: number;
  /** Wait before the first retry; it doubles with each further one up to `maxDelayMs`. */
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  /**
   * Failures that say a dependency is down (its connection refused, reset, timed out), not that
   * the message is wrong: retried with the growing delay for as long as they last, never
   * dead-lettered, so an outage longer than the retries leaves messages waiting, not in the DLQ.
   */
  readonly isTransient?: (err: unknown) => boolean;
}

export const defaultRetryPolicy: RetryPolicy = { maxAttempts: 5, baseDelayMs: 200, maxDelayMs: 10_000 };

export type FailureDecision =
  | {
      readonly action: 'retry';
      readonly delayMs: number;
      /** A dependency is down: this retry does not use up one of the message's attempts. */
      readonly transient?: true;
    }
  | { readonly action: 'dead-letter'; readonly reason: string };

/**
 * What a consumer does with a message whose handler failed on delivery number `attempt`, after
 * `waits` earlier retries for transient failures. Transient failures are retried with their own
 * growing delay and never use up attempts, so a message that waited out an outage still has all
 * its retries for an ordinary failure afterwards.
 */
export const decideOnFailure = (err: unknown, attempt: number, policy: RetryPolicy, waits = 0): FailureDecision => {
  const reason = err instanceof Error ? err.message : String(err);
  if (isPermanentFailure(err)) return { action: 'dead-letter', reason };
  if (policy.isTransient?.(err))
    return { action: 'retry', delayMs: Math.min(policy.baseDelayMs * 2 ** waits, policy.maxDelayMs), transient: true };
  if (attempt >= policy.maxAttempts)
    return { action: 'dead-letter', reason: `gave up after ${attempt} attempts: ${reason}` };
  return { action: 'retry', delayMs: Math.min(policy.baseDelayMs * 2 ** (attempt - 1), policy.maxDelayMs) };
};
