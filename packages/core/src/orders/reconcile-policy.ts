/**
 * When an order still waiting for its payment's outcome asks for it again. A message lost on the
 * way (a purged queue, a dead letter never replayed) then delays an order, never strands it.
 */
export interface ReconcilePolicy {
  /** How long after it was placed an order still NEW asks again (`GOZON_RECONCILE_AFTER_SECONDS`). */
  readonly afterMs: number;
  /** The longest wait between two asks: each wait doubles the one before, up to this. */
  readonly maxDelayMs: number;
  /** Orders asked again in one transaction. */
  readonly batch: number;
  /** Orders asked again in one sweep at most; the rest wait for the next sweep. */
  readonly perSweep: number;
}

export const defaultReconcilePolicy: ReconcilePolicy = {
  afterMs: 30_000,
  maxDelayMs: 600_000,
  batch: 100,
  perSweep: 1_000,
};

/** The wait after an order's `asks`-th ask for its payment: after, 2 × after, 4 × after…, at most `maxDelayMs`. */
export const askAgainDelay = (policy: Pick<ReconcilePolicy, 'afterMs' | 'maxDelayMs'>, asks: number): number =>
  Math.min(policy.maxDelayMs, policy.afterMs * 2 ** Math.max(0, Math.min(asks - 1, 30)));
