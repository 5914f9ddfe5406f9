import { expect } from 'chai';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readConfig } from '@gozon/apps/internals';
import { mintAccessToken } from '@gozon/apps/internals/provider';
import { GozonClient } from './client.js';
import { freePort, GozonProcess } from './processes.js';

describe('npm start with no servers configured: gozon all on the embedded default', function () {
  this.timeout(180_000);
  let dir: string;
  let gozon: GozonProcess;
  let api: GozonClient;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gozon-embedded-'));
    const [gateway, orders, payments, web] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
    const env = {
      GATEWAY_PORT: String(gateway),
      ORDERS_PORT: String(orders),
      PAYMENTS_PORT: String(payments),
      WEB_PORT: String(web),
      ORDERS_DATABASE_URL: '',
      PAYMENTS_DATABASE_URL: '',
      AMQP_URL: '',
    };
    gozon = new GozonProcess('all', env, `http://127.0.0.1:${gateway}/healthz`, dir);
    await gozon.start(120_000);
    // An administrator's token from the built-in provider's keys, which `gozon all` keeps in its data directory.
    const config = readConfig({ ...env, GOZON_DATA_DIR: join(dir, '.gozon-data') });
    api = new GozonClient(`http://127.0.0.1:${gateway}`, await mintAccessToken(config, 'e2e-admin', true));
  });

  after(async () => {
    await gozon?.kill('SIGTERM');
    await rm(dir, { recursive: true, force: true });
  });

  it('says at start-up which adapters each part runs on', async () => {
    await gozon.outputMatching(/gateway: listening on/);
    expect(gozon.output).to.match(/payments: listening on 127\.0\.0\.1:\d+; storage embedded postgres \(PGlite/);
    expect(gozon.output).to.match(
      /orders: listening on 127\.0\.0\.1:\d+; storage embedded postgres \(PGlite.*broker embedded/,
    );
    expect(gozon.output).to.match(/gateway: listening on/);
  });

  it('pays the seed order and cancels the others', async () => {
    const user = await api.fundedUser(2000);
    const paid = await api.order(user, 1500);
    const over = await api.order(user, 1000);
    const stranger = await api.order(`nobody-${Date.now()}`, 10);
    const [a, b, c] = await api.final([paid.id, over.id, stranger.id]);
    expect(a?.status).to.equal('FINISHED');
    expect(b).to.include({ status: 'CANCELLED', failure_reason: 'insufficient_funds' });
    expect(c).to.include({ status: 'CANCELLED', failure_reason: 'account_not_found' });
    expect(await api.balance(user)).to.equal(500);
  });

  it('loses no accepted order and pays none twice across kill -9 and restart mid-flow', async () => {
    const user = await api.fundedUser(3000);
    const accepted: string[] = [];
    // Orders keep coming while the process is killed; only 201s count as accepted.
    const burst = (async () => {
      for (let i = 0; i < 60; i += 1) {
        const res = await api.post('/orders', { user_id: user, amount: 100 }).catch(() => undefined);
        if (res?.status === 201) {
          accepted.push(((await res.json()) as { id: string }).id);
        }
      }
    })();
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(await gozon.kill('SIGKILL')).to.equal(null);
    await burst;
    await gozon.start(120_000);
    expect(accepted.length).to.be.greaterThan(0);
    await api.final(accepted, 60_000);
    // A request cut off by the kill may still have been committed: it was never acknowledged,
    // so it may exist or not. The ledger counts every order the user has.
    const all = await api.json<{ id: string; status: string; amount: number }[]>(
      // Up to 60 orders: all on one page.
      api.get(`/orders?user_id=${user}&limit=200`),
      200,
    );
    const finals = await api.final(
      all.map((o) => o.id),
      60_000,
    );
    expect(all.map((o) => o.id)).to.include.members(accepted);
    const paid = finals.filter((o) => o.status === 'FINISHED').reduce((sum, o) => sum + o.amount, 0);
    expect(await api.balance(user)).to.equal(3000 - paid);
    expect(paid).to.equal(Math.min(all.length, 30) * 100);
  });
});
