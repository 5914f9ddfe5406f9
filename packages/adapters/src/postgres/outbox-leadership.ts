import type { HeldRead, OutboxHold, OutboxLeadership, ReadCursor } from '@gozon/messaging';
import pg from 'pg';
import { OUTBOX_COLUMNS, toClaimed } from './rows.js';
import { plannedPerCall, type PgDatabase } from './pg-database.js';
import type { SqlDatabase } from './sql.js';

// Advisory locks are per database, so this one key serves every service's outbox.
const LOCK = `hashtext('gozon outbox relay')`;

// The mark first, in the same statement; the read cannot see it, so the caller passes only rows
// read before. The read goes on from a cursor, in the order of the transactions that appended
// (`xid`, then position), and stops short of the oldest transaction still running (the snapshot's
// xmin, `horizon`), the only ones that can still commit rows: nothing then appears behind the
// cursor, so the read never goes back over what it read (nor over the index entries that published
// rows leave behind until VACUUM). A transaction that stays open holds the rows committed after
// it back until it ends; the publish on commit does not wait for it. The horizon comes back even
// when no row does. The limit is in the text for the reason given in outbox-store.ts.
const readSql = (limit: number): string =>
  `WITH marked AS (
     UPDATE outbox SET published_at = coalesce(published_at, now()) WHERE message_id = ANY($1::text[])),
   horizon AS (SELECT pg_snapshot_xmin(pg_current_snapshot()) AS xmin)
   SELECT pending.*, horizon.xmin::text AS horizon FROM horizon LEFT JOIN LATERAL (
     SELECT ${OUTBOX_COLUMNS}, attempts, xid::text AS txid FROM outbox
     WHERE published_at IS NULL AND (xid, position) > ($2::xid8, $3::bigint) AND xid < horizon.xmin
       AND leased_until <= now()
     ORDER BY xid, position
     LIMIT ${limit}) pending ON true`;

/** A cursor as this store writes it: the transaction id and the position last read, or passed. */
const parseCursor = (cursor: ReadCursor): [bigint, bigint] => {
  const [xid, position] = (cursor ?? '0:0').split(':');
  return [BigInt(xid ?? 0), BigInt(position ?? 0)];
};

/**
 * Where the read after `rows` starts: after the last of them when the batch was full (more may
 * wait), else at the horizon, past every row that can no longer commit behind it. Never back.
 */
const nextCursor = (
  from: ReadCursor,
  read: readonly Record<string, unknown>[],
  limit: number,
  horizon: bigint,
): ReadCursor => {
  const last = read[read.length - 1];
  if (read.length === limit && last) return `${String(last.txid)}:${String(last.position)}`;
  const [xid] = parseCursor(from);
  return horizon > xid ? `${horizon}:0` : from;
};

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

  async markAndRead(published: readonly string[], from: ReadCursor, limit: number): Promise<HeldRead> {
    if (!Number.isSafeInteger(limit) || limit < 1)
      throw new RangeError(`read limit ${limit} is not a positive integer`);
    let sql = this.statements.get(limit);
    if (sql === undefined) this.statements.set(limit, (sql = plannedPerCall(readSql(limit))));
    const [xid, position] = parseCursor(from);
    const { rows } = await this.db.query(sql, [published, xid.toString(), position.toString()]);
    const read = rows.filter((row) => row.message_id !== null);
    const horizon = BigInt(String(rows[0]?.horizon ?? 0));
    return { rows: read.map(toClaimed), next: nextCursor(from, read, limit, horizon) };
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
