import type { AskedAgain, ReconcileOrders, ReconcilePolicy } from '@gozon/core';
import type { Running } from './consumers.js';

/** How the orders service sweeps for orders whose payment to ask again. */
export interface ReconcileOptions {
  readonly policy: ReconcilePolicy;
  /** Told of the orders each sweep asked again for (a log line each, counters). */
  readonly onAskedAgain?: (asked: readonly AskedAgain[]) => void;
  /** Told when a sweep failed (the database is down); the next one tries again. */
  readonly onError?: (err: unknown) => void;
}

/** How often a sweep runs: a quarter of the wait before asking again, between 0.25 s and 5 s. */
export const sweepEveryMs = (afterMs: number): number => Math.min(5_000, Math.max(250, afterMs / 4));

/** Runs `reconcile.sweep()` every `sweepEveryMs`, one sweep at a time; stopping waits for the one under way. */
export const sweeping = (reconcile: Pick<ReconcileOrders, 'sweep'>, options: ReconcileOptions): Running => {
  const everyMs = sweepEveryMs(options.policy.afterMs);
  let timer: NodeJS.Timeout | undefined;
  let current: Promise<void> = Promise.resolve();
  let stopped = true;
  const once = async (): Promise<void> => {
    try {
      const asked = await reconcile.sweep();
      if (asked.length > 0) options.onAskedAgain?.(asked);
    } catch (err) {
      options.onError?.(err);
    }
  };
  const schedule = (): void => {
    if (stopped) return;
    timer = setTimeout(() => {
      current = once().then(schedule);
    }, everyMs);
    timer.unref();
  };
  return {
    start: async () => {
      stopped = false;
      schedule();
    },
    stop: async () => {
      stopped = true;
      clearTimeout(timer);
      await current;
    },
  };
};
