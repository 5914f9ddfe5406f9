import type { ClaimedMessage, OutboxHold, OutboxLeadership } from '@gozon/messaging';
import pg from 'pg';
import { OUTBOX_COLUMNS, toClaimed } from './rows.js';
import { plannedPerCall, type PgDatabase } from './pg-database.js';
import type { SqlDatabase } from './sql.js';

// Advisory locks are per database, so this one key serves every service's outbox.
const LOCK = `hashtext('gozon outbox relay')`;

// The mark first, in the same statement; the read cannot see it, so the caller passes only rows
// behind `after`. The limit is in the text for the reason given in outbox-store.ts.
const readSql = (limit: number): string =>
  `WITH marked AS (
     UPDATE outbox SET published_at = coalesce(published_at, now()) WHERE message_id = ANY($1::text[]))
   SELECT ${OUTBOX_COLUMNS}, attempts FROM outbox
   WHERE published_at IS NULL AND leased_until <= now() AND position > $2
   ORDER BY position
   LIMIT ${limit}`;

/**
 * A relay's hold on a Postgres outbox: a session advisory lock on a connection of its own, outside
 * the pool, so it lasts exactly as long as that session. Postgres drops it when the session ends
 * (the process died, the connection broke); `held` turns false as soon as the client notices.
 */
class PgOutboxLeadership implements OutboxLeadership {
  private lost = false;
  /** This hold's read statements by batch size (a relay uses one). */
  private readonly statements = new Map<number, string>();

  constructor(
    private readonly db: SqlDatabase,
    private readonly session: pg.Client,
  ) {
    const lose = (): void => {
      this.lost = true;
    };
    session.on('error', lose);
    session.on('end', lose);
  }

  get held(): boolean {
    return !this.lost;
  }

  async markAndRead(published: readonly string[], after: number, limit: number): Promise<ClaimedMessage[]> {
    if (!Number.isSafeInteger(limit) || limit < 1)
      throw new RangeError(`read limit ${limit} is not a positive integer`);
    let sql = this.statements.get(limit);
    if (sql === undefined) this.statements.set(limit, (sql = plannedPerCall(readSql(limit))));
    const { rows } = await this.db.query(sql, [published, after]);
    return rows.map(toClaimed);
  }

  async resign(): Promise<void> {
    this.lost = true;
    // Ending the session releases the lock.
    await this.session.end().catch(() => undefined);
  }
}

/** Takes the outbox's relay lock on a session of its own, or resolves null while another session holds it. */
export const leadOutbox = async (db: SqlDatabase, config: pg.ClientConfig): Promise<OutboxLeadership | null> => {
  const session = new pg.Client({ ...config, keepAlive: true });
  session.on('error', () => undefined);
  try {
    await session.connect();
    const { rows } = await session.query<{ held: boolean }>(`SELECT pg_try_advisory_lock(${LOCK}) AS held`);
    if (rows[0]?.held === true) return new PgOutboxLeadership(db, session);
  } catch (err) {
    await session.end().catch(() => undefined);
    throw err;
  }
  await session.end().catch(() => undefined);
  return null;
};

/**
 * The hold on the outbox of `db` for one relay (`HeldRelay`): a session of its own on the pool's
 * server. Only a Postgres server has sessions that outlive a statement; an embedded database is
 * claimed with leases instead (`LeasedRelay`).
 */
export const pgOutboxHold =
  (db: PgDatabase): OutboxHold =>
  () =>
    leadOutbox(db, db.pool.options);
