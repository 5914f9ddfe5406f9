import type { PgDatabase } from '@gozon/adapters/postgres';

/**
 * What a request may change, per user, read from both databases in one statement each, in a form
 * that paying for orders does not change: what was credited to an account (its balance plus what
 * it paid) and the orders' ids, amounts and descriptions (not their status). So two snapshots
 * differ only by what requests did, even while earlier orders are being paid.
 */
export interface Snapshot {
  /** user → credited minor units (balance + succeeded payments), for each account. */
  readonly credited: ReadonlyMap<string, bigint>;
  /** user → `count:md5` of their orders (id, amount, description). */
  readonly orders: ReadonlyMap<string, string>;
  /** `count:md5` of the Idempotency-Keys each service keeps. */
  readonly keys: string;
}

export const EMPTY_SNAPSHOT: Snapshot = { credited: new Map(), orders: new Map(), keys: '' };

const KEYS = `(SELECT count(*) || ':' || coalesce(md5(string_agg(scope || '/' || key || '/' || fingerprint, ',' ORDER BY scope, key)), '')
  FROM idempotency_keys) AS keys`;

export const takeSnapshot = async (databases: {
  orders: { db: PgDatabase };
  payments: { db: PgDatabase };
}): Promise<Snapshot> => {
  const [payments, orders] = await Promise.all([
    databases.payments.db.query<{ user_id: string | null; credited: string | null; keys: string }>(
      `SELECT a.user_id, (a.balance + coalesce(p.paid, 0))::text AS credited, ${KEYS}
       FROM (SELECT 1) one
       LEFT JOIN accounts a ON true
       LEFT JOIN (SELECT user_id, sum(amount) AS paid FROM payments WHERE status = 'SUCCEEDED' GROUP BY user_id) p
         ON p.user_id = a.user_id`,
    ),
    databases.orders.db.query<{ user_id: string | null; digest: string | null; keys: string }>(
      `SELECT o.user_id, o.digest, ${KEYS}
       FROM (SELECT 1) one
       LEFT JOIN (SELECT user_id, count(*) || ':' || md5(string_agg(id::text || ':' || amount || ':' || description, ',' ORDER BY id)) AS digest
                  FROM orders GROUP BY user_id) o ON true`,
    ),
  ]);
  const credited = new Map<string, bigint>();
  for (const row of payments.rows) if (row.user_id !== null) credited.set(row.user_id, BigInt(row.credited ?? '0'));
  const digests = new Map<string, string>();
  for (const row of orders.rows) if (row.user_id !== null) digests.set(row.user_id, row.digest ?? '');
  return {
    credited,
    orders: digests,
    keys: `payments ${payments.rows[0]?.keys ?? ''} orders ${orders.rows[0]?.keys ?? ''}`,
  };
};

/** The users whose accounts or orders differ between two snapshots, and whether any key was added. */
export const changes = (before: Snapshot, after: Snapshot): { users: Set<string>; keys: boolean } => {
  const users = new Set<string>();
  for (const [a, b] of [
    [before.credited, after.credited],
    [before.orders, after.orders],
  ] as const) {
    for (const user of new Set([...a.keys(), ...b.keys()])) if (a.get(user) !== b.get(user)) users.add(user);
  }
  return { users, keys: before.keys !== after.keys };
};

/** How many orders a snapshot counts for `user`. */
export const orderCount = (s: Snapshot, user: string): number => Number(s.orders.get(user)?.split(':')[0] ?? 0);
