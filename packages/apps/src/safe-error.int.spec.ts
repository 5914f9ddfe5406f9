import { createTestDatabase } from './scratch.spec.helper.js';
import { describeLoggedDatabaseErrors } from './safe-error.spec.helper.js';

describeLoggedDatabaseErrors('Postgres (node-postgres)', async () => {
  const test = await createTestDatabase(null);
  const db = test.db;
  return {
    query: (text, params) => db.query(text, params),
    exec: (script) => db.exec(script),
    transaction: (work) => db.transaction(work),
    close: () => test.drop(),
  };
});
