import { MAX_MESSAGE_ID } from '@gozon/core';

/**
 * How many times each message came back to a consumer unsettled. A message whose handling kills
 * the process (a crash, OOM, `process.exit`) is never settled, so the broker hands it out again
 * and again; only a count kept outside the handling's own transaction can see that happen.
 */
export interface DeliveryCounter {
  /**
   * Adds one to the times `messageId` came back to `consumer` unsettled and returns the new count
   * (1 on its first redelivery). Committed at once, on its own, so the count survives a crash of
   * the handling that follows. A count not added to for longer than an episode (an hour by
   * default) starts over at 1: a crash loop comes back within minutes, while a message seen again
   * much later (replayed from the dead-letter queue once its bug is fixed) deserves a fresh start.
   */
  count(consumer: string, messageId: string): Promise<number>;
  /**
   * Takes one count of `messageId` back (never below 0), committed at once: for a bus that counts
   * a handover before it knows the message must wait its turn, so a crash while it waits does not
   * charge it.
   */
  takeBack(consumer: string, messageId: string): Promise<void>;
}

/** The poison guard of a subscriber: where redeliveries are counted, and how many are allowed. */
export interface PoisonGuard {
  readonly counter: DeliveryCounter;
  /** Redeliveries a message may have and still be handled; the next one dead-letters it. */
  readonly maxRedeliveries: number;
}

export const DEFAULT_MAX_REDELIVERIES = 5;

/** How long a redelivery count lasts without being added to before it starts over. */
export const DEFAULT_POISON_EPISODE_MS = 60 * 60 * 1000;

export type PoisonDecision =
  { readonly action: 'handle' } | { readonly action: 'dead-letter'; readonly reason: string };

/**
 * What a consumer does with a message that came back for the `redeliveries`-th time: it handles
 * it while `redeliveries <= maxRedeliveries` (so the handler runs at most `maxRedeliveries + 1`
 * times in all), then dead-letters it without handling it again.
 */
export const poisonDecision = (redeliveries: number, maxRedeliveries: number): PoisonDecision =>
  redeliveries > maxRedeliveries
    ? { action: 'dead-letter', reason: `dead-lettered as poison after ${redeliveries} redeliveries` }
    : { action: 'handle' };

/** Reported (as a subscriber's failure) for a message the poison guard dead-lettered. */
export class PoisonMessage extends Error {
  override readonly name = 'PoisonMessage';

  constructor(
    readonly messageId: string,
    readonly redeliveries: number,
    reason: string,
  ) {
    super(reason);
  }
}

/**
 * Screens a redelivered message: counts it and decides. Never throws: if the counter fails (its
 * database is down) the message is handled as usual, since a guard must never block the queue.
 */
export const screenRedelivery = async (
  guard: PoisonGuard,
  consumer: string,
  messageId: string,
  onCounterError: (err: unknown) => void,
): Promise<PoisonMessage | null> => {
  // An id over the limit is not counted (it would only bloat the counter's keys): the codec
  // dead-letters the message as malformed anyway.
  if (messageId.length > MAX_MESSAGE_ID) return null;
  let redeliveries: number;
  try {
    redeliveries = await guard.counter.count(consumer, messageId);
  } catch (err) {
    try {
      onCounterError(err);
    } catch {
      // A failing observer must not keep the message from being handled.
    }
    return null;
  }
  const decision = poisonDecision(redeliveries, guard.maxRedeliveries);
  return decision.action === 'dead-letter' ? new PoisonMessage(messageId, redeliveries, decision.reason) : null;
};
