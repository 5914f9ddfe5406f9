import { expect } from 'chai';
import fc from 'fast-check';
import type { Violation } from './fuzz/runner.js';
import { Fuzzer } from './fuzz/runner.js';
import type { FuzzRequest } from './fuzz/fuzz-request.js';
import { takeSnapshot } from './fuzz/snapshot.js';
import { SpecModel } from './fuzz/spec-model.js';
import { slowClient } from './fuzz/slow-client.js';
import { ServerSystem } from './system.js';

/*
 * Thousands of requests generated from docs/openapi.yaml, valid and not, sent through the gateway
 * as alice, bob, an administrator or nobody; each answer checked against the contract, and what
 * it changed checked in the databases. GOZON_FUZZ_SEED replays a run (the seed is printed);
 * GOZON_FUZZ_RUNS sets how many requests; GOZON_FUZZ_KEEP_GOING=1 lists every kind of finding
 * instead of stopping at the first (and shrinking it).
 */

const seed = Number(process.env.GOZON_FUZZ_SEED ?? new Date().toISOString().slice(0, 10).replaceAll('-', ''));
const runs = Number(process.env.GOZON_FUZZ_RUNS ?? 3_000);
const keepGoing = process.env.GOZON_FUZZ_KEEP_GOING === '1';
/** How long a client may take to send one request before the gateway gives up on it. */
// The servers' request deadline (30 s, `REQUEST_TIMEOUT_MS`), checked every second, and a margin for a loaded machine.
const SLOW_CLIENT_DEADLINE_MS = 40_000;

const valid = (r: Omit<FuzzRequest, 'query' | 'mutations' | 'contentType'>): FuzzRequest => ({
  query: [],
  mutations: [],
  contentType: r.body === undefined ? undefined : 'application/json',
  ...r,
});

describe('generative API test through the gateway on Postgres + RabbitMQ', function () {
  this.timeout(240_000);
  let system: ServerSystem;
  let fuzzer: Fuzzer;

  before(async () => {
    system = await ServerSystem.start({ logLevel: 'warn' });
    const [alice, bob, admin] = await Promise.all([
      system.token('alice'),
      system.token('bob'),
      system.token('e2e-admin', true),
    ]);
    fuzzer = new Fuzzer(new SpecModel(), {
      base: system.gatewayUrl,
      tokens: { alice, bob, admin },
      snapshot: () => takeSnapshot(system.databases),
    });
    // alice and bob own accounts with money, and orders, before anything odd is sent.
    for (const caller of ['alice', 'bob'] as const) {
      await fuzzer.step(
        valid({ op: 'createAccount', method: 'POST', path: ['payments', 'accounts'], caller, body: '{}' }),
      );
      await fuzzer.step(
        valid({
          op: 'deposit',
          method: 'POST',
          path: ['payments', 'accounts', 'deposit'],
          caller,
          body: '{"amount":50000}',
        }),
      );
      for (const amount of [100, 200, 300]) {
        await fuzzer.step(
          valid({
            op: 'placeOrder',
            method: 'POST',
            path: ['orders'],
            caller,
            body: `{"amount":${amount},"description":"first"}`,
          }),
        );
      }
    }
  });
  after(async () => {
    await system?.stop();
  });

  it('answers every generated request as the contract says, and a refused one changes nothing', async () => {
    console.log(`      seed: ${seed} (replay: GOZON_FUZZ_SEED=${seed}), ${runs} requests`);
    const found = new Map<string, { count: number; first: Violation }>();
    const started = Date.now();
    await fc.assert(
      fuzzer.property(
        keepGoing
          ? (v) => {
              const seen = found.get(v.signature);
              if (seen) seen.count += 1;
              else found.set(v.signature, { count: 1, first: v });
            }
          : undefined,
      ),
      { seed, numRuns: runs, endOnFailure: keepGoing, verbose: 1 },
    );
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    console.log(
      `      ${fuzzer.requests} requests in ${seconds} s; statuses ${JSON.stringify(Object.fromEntries([...fuzzer.statuses].sort()))}`,
    );
    if (found.size) {
      const report = [...found].map(([signature, { count, first }]) => `${signature} ×${count}\n  ${first.message}`);
      expect.fail(`${found.size} kinds of finding (seed ${seed}):\n${report.join('\n')}`);
    }
  });

  it('keeps the ledger once quiet: no order stays NEW; balance = deposits − FINISHED orders ≥ 0 for every user', async () => {
    const { orders, payments } = system.databases;
    const deadline = Date.now() + 30_000;
    let stuck: number;
    do {
      const { rows } = await orders.db.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM orders WHERE status = 'NEW'",
      );
      stuck = rows[0]!.n;
      if (stuck) await new Promise((resolve) => setTimeout(resolve, 250));
    } while (stuck && Date.now() < deadline);
    expect(stuck, 'orders still NEW 30 s after the last request').to.equal(0);
    const { rows: accounts } = await payments.db.query<{ user_id: string; balance: string }>(
      'SELECT user_id, balance::text FROM accounts',
    );
    const { rows: finished } = await orders.db.query<{ user_id: string; sum: string }>(
      "SELECT user_id, sum(amount)::text AS sum FROM orders WHERE status = 'FINISHED' GROUP BY user_id",
    );
    const paid = new Map(finished.map((r) => [r.user_id, BigInt(r.sum)]));
    const admin = await system.client();
    const wrong: string[] = [];
    for (const user of new Set([...accounts.map((a) => a.user_id), ...fuzzer.world.deposits.keys(), ...paid.keys()])) {
      const balance = BigInt(accounts.find((a) => a.user_id === user)?.balance ?? -1);
      const expected = BigInt(fuzzer.world.deposits.get(user) ?? 0) - (paid.get(user) ?? 0n);
      if (balance !== expected || balance < 0n)
        wrong.push(`${user}: balance ${balance}, deposits − FINISHED = ${expected}`);
      if (balance >= 0n) {
        const res = await admin.get(`/payments/accounts/${encodeURIComponent(user)}/balance`);
        const seen = (await res.json()) as { balance?: number };
        if (seen.balance !== Number(balance))
          wrong.push(`${user}: the API says ${JSON.stringify(seen)}, the database ${balance}`);
      }
    }
    console.log(`      ledger of ${accounts.length} accounts checked`);
    expect(wrong, 'the ledger').to.deep.equal([]);
  });

  it(`cuts off a client sending one byte a second within ${SLOW_CLIENT_DEADLINE_MS / 1000} s, answering others meanwhile`, async () => {
    const token = await system.token('alice');
    const results = await Promise.all([
      slowClient(system.gatewayUrl, token, 'body', SLOW_CLIENT_DEADLINE_MS),
      slowClient(system.gatewayUrl, token, 'headers', SLOW_CLIENT_DEADLINE_MS),
    ]);
    for (const r of results)
      console.log(`      slow ${r.part}: ${r.outcome}; others answered ${r.othersAnswered}/${r.othersSent}`);
    expect(results.map((r) => `${r.part}: others answered ${r.othersAnswered}/${r.othersSent}`)).to.deep.equal(
      results.map((r) => `${r.part}: others answered ${r.othersSent}/${r.othersSent}`),
    );
    expect(results.map((r) => `${r.part}: ${r.cutOff ? 'cut off' : r.outcome}`)).to.deep.equal([
      'body: cut off',
      'headers: cut off',
    ]);
  });
});
