import { expect } from 'chai';
import { checkLedger, isSubsetSum, type Ledger, type OrderRow, type PaymentRow } from './check.js';
import type { Attempt, LogicalRequest, Population } from './workload.js';

const population: Population = { funded: ['u1', 'u2'], strangers: ['x1'] };

const ok = (body: unknown, extra: Partial<Attempt> = {}): Attempt => ({
  at: 0,
  status: 201,
  outcome: 'acknowledged',
  concurrent: false,
  detail: JSON.stringify(body),
  ...extra,
});
const timeout: Attempt = { at: 0, status: 0, outcome: 'indeterminate', concurrent: false, detail: 'timeout' };
const refused: Attempt = { at: 0, status: 400, outcome: 'rejected', concurrent: false, detail: 'invalid_field' };

const order = (tag: string, user: string, amount: number, attempts: Attempt[], key = true): LogicalRequest => ({
  tag,
  kind: 'order',
  phase: 'workload',
  user,
  amount,
  description: `chaos:${tag}`,
  ...(key ? { key: `k-${tag}` } : {}),
  attempts,
});
const deposit = (tag: string, user: string, amount: number, attempts: Attempt[]): LogicalRequest => ({
  tag,
  kind: 'deposit',
  phase: 'setup',
  user,
  amount,
  key: `k-${tag}`,
  attempts,
});

const row = (
  id: string,
  tag: string,
  user: string,
  amount: number,
  status: OrderRow['status'],
  reason: string | null = null,
): OrderRow => ({
  id,
  user_id: user,
  amount,
  description: `chaos:${tag}`,
  status,
  failure_reason: reason,
});
const paid = (o: OrderRow): PaymentRow => ({
  order_id: o.id,
  user_id: o.user_id,
  amount: o.amount,
  status: o.status === 'FINISHED' ? 'SUCCEEDED' : 'FAILED',
  failure_reason: o.failure_reason,
});

/** A consistent history: u1 deposits 1000, pays 300 (o1), is declined 5000 (o2); x1 has no account (o3). */
const history = (): { ledger: Ledger; requests: LogicalRequest[] } => {
  const orders = [
    row('a', 'o1', 'u1', 300, 'FINISHED'),
    row('b', 'o2', 'u1', 5000, 'CANCELLED', 'insufficient_funds'),
    row('c', 'o3', 'x1', 10, 'CANCELLED', 'account_not_found'),
  ];
  return {
    ledger: {
      orders,
      payments: orders.map(paid),
      accounts: new Map([
        ['u1', 700],
        ['u2', 50],
      ]),
      outboxPending: { orders: 0, payments: 0 },
      inboxRows: { orders: 3, payments: 3 },
      queues: new Map([
        ['order.payments', 0],
        ['order.payments.dlq', 0],
      ]),
    },
    requests: [
      deposit('d1', 'u1', 1000, [ok({ balance: 1000 })]),
      deposit('d2', 'u2', 50, [timeout, ok({ balance: 50 }, { balance: 50 })]),
      order('o1', 'u1', 300, [ok({ id: 'a' }, { orderId: 'a' }), ok({ id: 'a' }, { orderId: 'a' })]),
      order('o2', 'u1', 5000, [timeout, ok({ id: 'b' }, { orderId: 'b' })]),
      order('o3', 'x1', 10, [ok({ id: 'c' }, { orderId: 'c' })]),
      order('o4', 'u2', 20, [timeout], false),
      order('o5', 'u2', 20, [refused]),
    ],
  };
};

const rules = (ledger: Ledger, requests: LogicalRequest[], exits: string[] = []): string[] =>
  checkLedger(ledger, requests, population, exits).violations.map((v) => v.rule);

describe('chaos checks: the ledger from outside', () => {
  it('finds nothing wrong in a consistent history', () => {
    const { ledger, requests } = history();
    const summary = checkLedger(ledger, requests, population, []);
    expect(summary.violations).to.deep.equal([]);
    expect(summary.orders).to.deep.equal({ total: 3, finished: 1, cancelled: 2, new: 0 });
    expect(summary.requests.orders).to.deep.equal({ acknowledged: 3, rejected: 1, indeterminate: 1 });
  });

  it('reports an acknowledged order that is gone', () => {
    const { ledger, requests } = history();
    const orders = ledger.orders.filter((o) => o.id !== 'b');
    expect(rules({ ...ledger, orders, payments: orders.map(paid) }, requests)).to.include(
      'no acknowledged order is lost',
    );
  });

  it('reports an order nobody asked for, and two orders for one request', () => {
    const { ledger, requests } = history();
    const extra = [
      row('z', 'o99', 'u2', 1, 'CANCELLED', 'insufficient_funds'),
      row('y', 'o3', 'x1', 10, 'CANCELLED', 'account_not_found'),
    ];
    const orders = [...ledger.orders, ...extra];
    const found = rules({ ...ledger, orders, payments: orders.map(paid) }, requests);
    expect(found).to.include('nothing exists that was never requested');
    expect(found).to.include('one request makes at most one order');
  });

  it('reports an order still NEW and a refused request that took effect', () => {
    const { ledger, requests } = history();
    const orders = [...ledger.orders, row('n', 'o5', 'u2', 20, 'NEW')];
    const found = rules({ ...ledger, orders }, requests);
    expect(found).to.include('every order leaves NEW');
    expect(found).to.include('a refused request changes nothing');
  });

  it('reports a balance that is not deposits − FINISHED, or an order without its payment', () => {
    const { ledger, requests } = history();
    expect(rules({ ...ledger, accounts: new Map([...ledger.accounts, ['u1', 400]]) }, requests)).to.deep.equal([
      'balance = deposits − FINISHED',
    ]);
    expect(rules({ ...ledger, payments: ledger.payments.slice(1) }, requests)).to.include(
      'a FINISHED order has its one successful payment',
    );
  });

  it('counts an unanswered deposit as either done or not, nothing in between', () => {
    const { ledger, requests } = history();
    const unanswered = [...requests, { ...deposit('d3', 'u2', 30, [timeout]), phase: 'workload' as const }];
    expect(rules(ledger, unanswered)).to.deep.equal([]);
    expect(rules({ ...ledger, accounts: new Map([...ledger.accounts, ['u2', 80]]) }, unanswered)).to.deep.equal([]);
    expect(rules({ ...ledger, accounts: new Map([...ledger.accounts, ['u2', 70]]) }, unanswered)).to.deep.equal([
      'balance = deposits − FINISHED',
    ]);
  });

  it('reports retries answered differently, queues not drained and processes that exited', () => {
    const { ledger, requests } = history();
    const changed = requests.map((r) =>
      r.tag === 'o1' ? { ...r, attempts: [ok({ id: 'a' }, { orderId: 'a' }), ok({ id: 'q' }, { orderId: 'q' })] } : r,
    );
    expect(rules(ledger, changed)).to.include('a retry gets the first answer');
    const queued = {
      ...ledger,
      queues: new Map([
        ['payment.status', 2],
        ['payment.status.dlq', 5],
      ]),
    };
    expect(rules(queued, requests)).to.deep.equal(['queues drained except the dead-letter queues']);
    expect(rules(ledger, requests, ['orders exited by itself'])).to.deep.equal(['no process exits unless killed']);
  });

  it('decides subset sums exactly', () => {
    expect(isSubsetSum([], 0)).to.equal(true);
    expect(isSubsetSum([5, 7, 11], 18)).to.equal(true);
    expect(isSubsetSum([5, 7, 11], 13)).to.equal(false);
    expect(isSubsetSum([5], -5)).to.equal(false);
  });
});
