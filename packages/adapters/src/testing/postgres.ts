// The adapter's specs' scratch database: one from the testkit, opened as a PgDatabase and migrated.
import { openScratchDatabase } from '@gozon/testkit';
import { migrate, PgDatabase, type Service } from '../postgres/index.js';

/** A database of its own for one test or suite; `drop` closes it and deletes it. */
export interface TestDatabase {
  readonly name: string;
  /** A connection string for the new database (e.g. for a listener or a second pool). */
  readonly url: string;
  readonly db: PgDatabase;
  drop(): Promise<void>;
}

/** Creates an empty database with a unique name and, given a service, migrates it. */
export const createTestDatabase = (service: Service | null): Promise<TestDatabase> =>
  openScratchDatabase(
    service,
    (url) => PgDatabase.connect(url, { max: 10 }),
    (db) => (service ? migrate(db, service) : Promise.resolve()),
  );
