// The adapter's specs' scratch database: one from the testkit, opened as a PgDatabase and migrated.
import { openScratchDatabase, type OpenedDatabase } from '@gozon/testkit';
import { migrate, PgDatabase, type Service } from '../postgres/index.js';

/** A database of its own; `drop` closes the pool and deletes the database. */
export type TestDatabase = OpenedDatabase<PgDatabase>;

/** Creates an empty database with a unique name and, given a service, migrates it. */
export const createTestDatabase = (service: Service | null): Promise<TestDatabase> =>
  openScratchDatabase(
    service,
    (url) => PgDatabase.connect(url, { max: 10 }),
    (db) => (service ? migrate(db, service) : Promise.resolve()),
  );
