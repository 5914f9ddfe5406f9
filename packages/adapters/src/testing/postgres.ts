// The adapter's specs' scratch database: one from the testkit, opened as a PgDatabase and migrated.
import { createScratchDatabase } from '@gozon/testkit';
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
export const createTestDatabase = async (service: Service | null): Promise<TestDatabase> => {
  const scratch = await createScratchDatabase(service);
  const db = PgDatabase.connect(scratch.url, { max: 10 });
  const drop = async (): Promise<void> => {
    await db.close();
    await scratch.drop();
  };
  try {
    if (service) await migrate(db, service);
  } catch (err) {
    await drop();
    throw err;
  }
  return { name: scratch.name, url: scratch.url, db, drop };
};
