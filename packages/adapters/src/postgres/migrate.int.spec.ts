import { expect } from 'chai';
import { rejectionOf } from '../contract/index.js';
import { createTestDatabase, type TestDatabase } from '../testing/postgres.js';
import { isCheckViolation, isUniqueViolation, migrate, migrations, PgDatabase } from './index.js';

const tables = async (t: TestDatabase): Promise<string[]> => {
  const { rows } = await t.db.query<{ name: string }>(
    `SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1`,
  );
  return rows.map((r) => r.name);
};

describe('postgres migrations', function () {
  this.timeout(30_000);

  for (const service of ['orders', 'payments'] as const) {
    it(`applies the ${service} schema once, and a second run changes nothing`, async () => {
      const t = await createTestDatabase(null);
      try {
        const first = await migrate(t.db, service);
        expect(first).to.deep.equal(migrations[service].map((m) => m.id));
        const schema = await tables(t);
        expect(await migrate(t.db, service)).to.deep.equal([]);
        expect(await tables(t)).to.deep.equal(schema);
        expect(schema).to.include.members([
          'outbox',
          'inbox',
          'idempotency_keys',
          'delivery_attempts',
          'schema_migrations',
        ]);
        expect(schema).to.include.members(service === 'orders' ? ['orders'] : ['accounts', 'payments']);
      } finally {
        await t.drop();
      }
    });
  }

  it('lets concurrent starters on separate connections apply each migration exactly once', async () => {
    const t = await createTestDatabase(null);
    const starters = Array.from({ length: 4 }, () => PgDatabase.connect(t.url, { max: 1 }));
    try {
      const results = await Promise.all(starters.map((db) => migrate(db, 'payments')));
      expect(results.flat().sort()).to.deep.equal(migrations.payments.map((m) => m.id).sort());
      const { rows } = await t.db.query<{ id: string }>('SELECT id FROM schema_migrations ORDER BY id');
      expect(rows.map((r) => r.id)).to.deep.equal(migrations.payments.map((m) => m.id));
    } finally {
      await Promise.all(starters.map((db) => db.close()));
      await t.drop();
    }
  });
});

describe('postgres schema guards', function () {
  this.timeout(30_000);
  let t: TestDatabase;
  before(async () => {
    t = await createTestDatabase('payments');
  });
  after(async () => {
    await t?.drop();
  });

  it('refuses a negative balance whatever the caller does', async () => {
    await t.db.query(`INSERT INTO accounts (user_id, balance) VALUES ('careless', 100)`);
    expect(
      isCheckViolation(
        await rejectionOf(t.db.query(`UPDATE accounts SET balance = balance - 101 WHERE user_id = 'careless'`)),
      ),
    ).to.equal(true);
    expect(
      isCheckViolation(
        await rejectionOf(t.db.query(`INSERT INTO accounts (user_id, balance) VALUES ('negative', -1)`)),
      ),
    ).to.equal(true);
    const { rows } = await t.db.query<{ balance: string }>(`SELECT balance FROM accounts WHERE user_id = 'careless'`);
    expect(Number(rows[0]?.balance)).to.equal(100);
  });

  it('keeps one payment per order', async () => {
    const insert = `INSERT INTO payments (order_id, user_id, amount, status, failure_reason, created_at)
                    VALUES ('6f1c1d8e-0000-4000-8000-000000000001', 'u', 5, 'FAILED', 'account_not_found', now())`;
    await t.db.query(insert);
    expect(isUniqueViolation(await rejectionOf(t.db.query(insert)))).to.equal(true);
  });
});
