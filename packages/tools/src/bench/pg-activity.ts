// What a scratch database did, from the server's cumulative statistics: transactions committed
// (`pg_stat_database`) and index entries read (`pg_stat_user_indexes`). Postgres 15 flushes a
// backend's counts lazily (at a transaction's end at most once a second, and when it exits), so a
// figure is read only once the connections that worked on the database are closed and the
// counters have stopped moving.
import pg from 'pg';

/** Scans and entries read of one index. */
export interface IndexReads {
  readonly scans: number;
  readonly entriesRead: number;
}

/** The database's counters at one moment. */
export interface ActivitySnapshot {
  /** Transactions committed before and after this snapshot's own reading of the index counters. */
  readonly commitsBeforeRead: number;
  readonly commitsAfterRead: number;
  readonly indexes: Readonly<Record<string, IndexReads>>;
}

/** What the database did between two snapshots, the snapshots' own reading left out. */
export interface Activity {
  readonly commits: number;
  readonly indexEntriesRead: number;
  readonly indexes: Readonly<Record<string, IndexReads>>;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs `work` on a connection of its own to `url`, closed afterwards (its backend exits). */
const connected = async <T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> => {
  const client = new pg.Client({ connectionString: url });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
};

// Longer than the second a live backend may hold its counts back: counters unchanged that long
// have every count of the closed connections.
const SETTLED_MS = 1_200;

/** Transactions committed in `name`, once the count has not moved for SETTLED_MS (or after 15 s). */
const settledCommits = async (admin: pg.Client, name: string): Promise<number> => {
  const read = async (): Promise<number> => {
    const { rows } = await admin.query<{ n: string }>(
      'SELECT xact_commit AS n FROM pg_stat_database WHERE datname = $1',
      [name],
    );
    return Number(rows[0]?.n);
  };
  const deadline = Date.now() + 15_000;
  let last = await read();
  let since = Date.now();
  while (Date.now() - since < SETTLED_MS && Date.now() < deadline) {
    await sleep(200);
    const now = await read();
    if (now !== last) [last, since] = [now, Date.now()];
  }
  return last;
};

const indexReads = (url: string): Promise<Record<string, IndexReads>> =>
  connected(url, async (client) => {
    const { rows } = await client.query<{ name: string; scans: string; read: string }>(
      'SELECT indexrelname AS name, idx_scan AS scans, idx_tup_read AS read FROM pg_stat_user_indexes',
    );
    return Object.fromEntries(rows.map((r) => [r.name, { scans: Number(r.scans), entriesRead: Number(r.read) }]));
  });

/**
 * The counters of the database `name` at `url`, read once they have settled: call it when no
 * connection to that database is left open. The commits are read on the server's `postgres`
 * database, so that reading them adds none.
 */
export const activitySnapshot = async (database: { name: string; url: string }): Promise<ActivitySnapshot> => {
  const adminUrl = new URL(database.url);
  adminUrl.pathname = '/postgres';
  return connected(adminUrl.toString(), async (admin) => {
    const commitsBeforeRead = await settledCommits(admin, database.name);
    const indexes = await indexReads(database.url);
    const commitsAfterRead = await settledCommits(admin, database.name);
    return { commitsBeforeRead, commitsAfterRead, indexes };
  });
};

export const activityBetween = (before: ActivitySnapshot, after: ActivitySnapshot): Activity => {
  const indexes: Record<string, IndexReads> = {};
  let indexEntriesRead = 0;
  for (const [name, end] of Object.entries(after.indexes)) {
    const start = before.indexes[name] ?? { scans: 0, entriesRead: 0 };
    indexes[name] = { scans: end.scans - start.scans, entriesRead: end.entriesRead - start.entriesRead };
    indexEntriesRead += indexes[name].entriesRead;
  }
  return { commits: after.commitsBeforeRead - before.commitsAfterRead, indexEntriesRead, indexes };
};
