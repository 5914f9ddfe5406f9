import type { ClaimedMessage, OutboxStore } from '@gozon/messaging';
import { plannedPerCall } from './pg-database.js';
import { OUTBOX_COLUMNS, toClaimed } from './rows.js';
import type { SqlDatabase } from './sql.js';

// SKIP LOCKED lets concurrent relays take disjoint batches instead of queueing on each other;
// RETURNING hands back the attempts as they were before this claim. The limit is written into the
// text rather than bound: statements are prepared, and after a few runs Postgres may keep a
// generic plan, which cannot see a bound LIMIT and guesses a tenth of the table; with the mark in
// front it then hash-joins a sequential scan of the whole outbox, making every claim O(backlog).
const claimSql = (limit: number, filter = ''): string =>
  `UPDATE outbox SET leased_until = now() + $1 * interval '1 millisecond', attempts = attempts + 1
   WHERE message_id IN (
     SELECT message_id FROM outbox
     WHERE published_at IS NULL AND leased_until <= now() ${filter}
     ORDER BY xid, position
     LIMIT ${limit}
     FOR UPDATE SKIP LOCKED)
   RETURNING ${OUTBOX_COLUMNS}, attempts - 1 AS attempts`;

// Planned for each call (see `plannedPerCall`), as is the mark in markAndClaim below.
const MARK = plannedPerCall(
  'UPDATE outbox SET published_at = coalesce(published_at, now()) WHERE message_id = ANY($1::text[])',
);

type ClaimStatements = { claim: string; markAndClaim: string };

/** The claim statements for batches of `limit` (a relay uses one size, so a store keeps few). */
const claimStatements = (statements: Map<number, ClaimStatements>, limit: number): ClaimStatements => {
  if (!Number.isSafeInteger(limit) || limit < 1) throw new RangeError(`claim limit ${limit} is not a positive integer`);
  let found = statements.get(limit);
  if (found === undefined) {
    // Both parts of markAndClaim see the same snapshot, so its claim must skip the rows being
    // marked itself (they are leased, unless the publish outlasted the lease).
    found = {
      claim: claimSql(limit),
      markAndClaim: plannedPerCall(`WITH marked AS (
         UPDATE outbox SET published_at = coalesce(published_at, now()) WHERE message_id = ANY($2::text[]))
       ${claimSql(limit, 'AND message_id <> ALL($2::text[])')}`),
    };
    statements.set(limit, found);
  }
  return found;
};

/**
 * The relay's side of a Postgres outbox. Each call is one short statement in its own
 * transaction; leases are measured on the database's clock, so relays on several hosts agree.
 */
export class PgOutboxStore implements OutboxStore {
  /** This store's statements by batch size. */
  private readonly statements = new Map<number, ClaimStatements>();

  constructor(private readonly db: SqlDatabase) {}

  async claim(limit: number, leaseMs: number): Promise<ClaimedMessage[]> {
    const { rows } = await this.db.query(claimStatements(this.statements, limit).claim, [leaseMs]);
    // RETURNING keeps no order of its own.
    return rows.map(toClaimed).sort((a, b) => a.position - b.position);
  }

  async markAndClaim(published: readonly string[], limit: number, leaseMs: number): Promise<ClaimedMessage[]> {
    if (published.length === 0) return this.claim(limit, leaseMs);
    // One statement, one round trip.
    const { rows } = await this.db.query(claimStatements(this.statements, limit).markAndClaim, [leaseMs, published]);
    return rows.map(toClaimed).sort((a, b) => a.position - b.position);
  }

  async markPublished(ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    // By primary key alone: a `published_at IS NULL` filter lets the planner read the whole
    // unpublished index (a BitmapAnd) whenever its statistics underrate the backlog, making each
    // mark O(backlog). A row marked already keeps its first published_at.
    await this.db.query(MARK, [ids]);
  }

  async release(ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.db.query(
      `UPDATE outbox SET leased_until = '-infinity' WHERE message_id = ANY($1::text[]) AND published_at IS NULL`,
      [ids],
    );
  }

  async pending(): Promise<number> {
    const { rows } = await this.db.query<{ n: unknown }>('SELECT count(*) AS n FROM outbox WHERE published_at IS NULL');
    return Number(rows[0]?.n ?? 0);
  }

  /** How many rows wait to be published and how old the oldest is, on the database's clock (for metrics). */
  async stats(): Promise<OutboxStats> {
    const { rows } = await this.db.query<{ n: unknown; age: unknown }>(
      `SELECT count(*) AS n, COALESCE(EXTRACT(EPOCH FROM now() - min(created_at)), 0) AS age
       FROM outbox WHERE published_at IS NULL`,
    );
    return { pending: Number(rows[0]?.n ?? 0), oldestAgeSeconds: Math.max(0, Number(rows[0]?.age ?? 0)) };
  }
}

export interface OutboxStats {
  /** Rows not yet published. */
  readonly pending: number;
  /** Age of the oldest of them in seconds; 0 when none waits. */
  readonly oldestAgeSeconds: number;
}
