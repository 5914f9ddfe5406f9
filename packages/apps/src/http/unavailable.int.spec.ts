import { expect } from 'chai';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CreateAccount, Deposit, GetBalance } from '@gozon/core';
import { paymentsUnitOfWork, PgAccountQueries, PgDatabase } from '@gozon/adapters/postgres';
import { authenticate } from '../auth/bearer.js';
import { createPaymentsApp } from '../payments/payments-app.js';

describe('a service whose database is down', () => {
  let server: Server;
  let base = '';
  let db: PgDatabase;
  const logged: unknown[] = [];

  before(async () => {
    // Nothing listens on port 1: every connection is refused, as with a stopped server.
    db = PgDatabase.connect('postgres://postgres:secret@127.0.0.1:1/payments', { connectionTimeoutMs: 2_000 });
    const uow = paymentsUnitOfWork(db);
    const app = createPaymentsApp(
      {
        createAccount: new CreateAccount(uow),
        deposit: new Deposit(uow),
        getBalance: new GetBalance(new PgAccountQueries(db)),
      },
      {
        ready: async () => {
          await db.query('SELECT 1');
          return true;
        },
        logError: (err) => logged.push(err),
        authenticate: authenticate(null),
      },
    );
    server = createServer(app.callback());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(async () => {
    await new Promise((resolve) => server.close(resolve));
    await db.close();
  });

  it('answers 503 in the error shape, quickly, leaking no connection string', async () => {
    const started = Date.now();
    const res = await fetch(`${base}/payments/accounts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ user_id: 'u1' }),
    });
    const text = await res.text();
    expect(res.status, text).to.equal(503);
    expect(JSON.parse(text)).to.deep.equal({
      error: { code: 'service_unavailable', message: 'a dependency is unavailable; try again shortly' },
    });
    expect(text).to.not.contain('secret').and.not.contain('postgres://');
    expect(Date.now() - started).to.be.lessThan(5_000);
    expect(logged).to.have.length(1);
  });

  it('is not ready', async () => {
    const res = await fetch(`${base}/readyz`);
    expect(res.status).to.equal(503);
    expect(((await res.json()) as { error: { code: string } }).error.code).to.equal('not_ready');
    expect((await fetch(`${base}/healthz`)).status).to.equal(200);
  });
});
