import type { SqlDatabase } from './sql.js';

/** How long each kind of row is kept, in hours. */
export interface RetentionWindows {
  /** Outbox rows, counted from when they were published (unpublished rows are never removed). */
  readonly outboxHours: number;
  /**
   * Inbox rows (and redelivery counts): a message id older than this could be applied again if it
   * came back.
   */
  readonly inboxHours: number;
  /** Client retry keys (the contract keeps them at least 24 hours). */
  readonly idempotencyHours: number;
  /** The longest time after which a message may still come back: redelivery, retries, a DLQ replay. */
  readonly replayHorizonHours: number;
}

export const defaultRetention: RetentionWindows = {
  outboxHours: 24 * 7,
  inboxHours: 24 * 14,
  idempotencyHours: 48,
  replayHorizonHours: 24 * 7,
};

export class RetentionConfigError extends Error {}

/**
 * Refuses windows that would break a guarantee: an inbox that forgets a message id before that
 * message can no longer come back would let a late redelivery or replay act twice.
 */
export const checkRetention = (w: RetentionWindows): RetentionWindows => {
  for (const [name, value] of Object.entries(w)) {
    if (!Number.isFinite(value) || value <= 0)
      throw new RetentionConfigError(`retention ${name} must be a positive number of hours`);
  }
  if (w.inboxHours < w.replayHorizonHours) {
    throw new RetentionConfigError(
      `the inbox window (${w.inboxHours} h) is shorter than the replay horizon (${w.replayHorizonHours} h): a message replayed or redelivered after its inbox row is gone would be applied twice`,
    );
  }
  if (w.idempotencyHours < 24) {
    throw new RetentionConfigError(`idempotency keys must be kept at least 24 hours (got ${w.idempotencyHours} h)`);
  }
  return w;
};

const TABLES = [
  { table: 'outbox', column: 'published_at', window: 'outboxHours' },
  { table: 'inbox', column: 'received_at', window: 'inboxHours' },
  { table: 'idempotency_keys', column: 'created_at', window: 'idempotencyHours' },
  // A redelivery count is needed as long as the message may come back, as its inbox row is.
  { table: 'delivery_attempts', column: 'last_seen_at', window: 'inboxHours' },
] as const;

/**
 * Deletes rows past their window in small batches, each its own short statement, skipping rows a
 * writer holds, so cleanup never blocks the services' transactions for long.
 */
export class PgRetention {
  constructor(
    private readonly db: SqlDatabase,
    private readonly windows: RetentionWindows,
    private readonly batchSize = 500,
  ) {
    checkRetention(windows);
  }

  /** One sweep over every table; returns how many rows each lost. */
  async sweep(): Promise<Record<string, number>> {
    const removed: Record<string, number> = {};
    for (const { table, column, window } of TABLES) {
      removed[table] = 0;
      for (;;) {
        const { rowCount } = await this.db.query(
          `DELETE FROM ${table} WHERE ctid = ANY(ARRAY(
             SELECT ctid FROM ${table}
              WHERE ${column} < now() - make_interval(secs => $1)
              ORDER BY ${column} LIMIT $2 FOR UPDATE SKIP LOCKED))`,
          [this.windows[window] * 3600, this.batchSize],
        );
        removed[table] += rowCount;
        if (rowCount < this.batchSize) break;
      }
    }
    return removed;
  }
}
