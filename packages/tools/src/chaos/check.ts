import pg from 'pg';
import { rabbitmqctl } from '../support/scratch.js';
import { orderTag, verdict, type LogicalRequest, type Population } from './workload.js';

export interface OrderRow {
  readonly id: string;
  readonly user_id: string;
  readonly amount: number;
  readonly description: string;
  readonly status: 'NEW' | 'FINISHED' | 'CANCELLED';
  readonly failure_reason: string | null;
}

export interface PaymentRow {
  readonly order_id: string;
  readonly user_id: string;
  readonly amount: number;
  readonly status: 'SUCCEEDED' | 'FAILED';
  readonly failure_reason: string | null;
}

/** Everything the checks read, taken from the databases and the broker from outside the services. */
export interface Ledger {
  readonly orders: readonly OrderRow[];
  readonly payments: readonly PaymentRow[];
  readonly accounts: ReadonlyMap<string, number>;
  /** Outbox rows not yet published, per service. */
  readonly outboxPending: { readonly orders: number; readonly payments: number };
  /** Inbox rows, per service (messages applied once each). */
  readonly inboxRows: { readonly orders: number; readonly payments: number };
  /** Messages in each queue of the vhost (ready + unacknowledged). */
  readonly queues: ReadonlyMap<string, number>;
}

/** Runs `work` on a client of its own to `url`, closed afterwards. */
export const withClient = async <T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> => {
  const client = new pg.Client({ connectionString: url, application_name: 'gozon-chaos' });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end().catch(() => undefined);
  }
};

const count = async (client: pg.Client, sql: string): Promise<number> =>
  Number((await client.query<{ n: string }>(sql)).rows[0]?.n ?? 0);

/** `rabbitmqctl` against the broker the run uses. */
export type Ctl = (...args: string[]) => Promise<string>;

/** Messages per queue of `vhost`, from the broker itself (what waits and what is handed out). */
export const queueDepths = async (vhost: string, ctl: Ctl = rabbitmqctl): Promise<Map<string, number>> => {
  const out = await ctl('list_queues', '-p', vhost, '--no-table-headers', 'name', 'messages');
  const depths = new Map<string, number>();
  for (const line of out.split('\n')) {
    const [name, messages] = line.trim().split(/\s+/);
    if (name && messages !== undefined && /^\d+$/.test(messages)) depths.set(name, Number(messages));
  }
  return depths;
};

export const isDeadLetterQueue = (name: string): boolean => name.endsWith('.dlq');

/** How far from quiet the system is: orders still NEW, outbox rows unpublished, messages queued. */
export interface Backlog {
  readonly newOrders: number;
  readonly outbox: number;
  readonly queued: number;
}

export const backlog = async (
  urls: { orders: string; payments: string },
  vhost: string,
  ctl: Ctl = rabbitmqctl,
): Promise<Backlog> => {
  const [newOrders, ordersOutbox, paymentsOutbox, queues] = await Promise.all([
    withClient(urls.orders, (c) => count(c, `SELECT count(*) AS n FROM orders WHERE status = 'NEW'`)),
    withClient(urls.orders, (c) => count(c, `SELECT count(*) AS n FROM outbox WHERE published_at IS NULL`)),
    withClient(urls.payments, (c) => count(c, `SELECT count(*) AS n FROM outbox WHERE published_at IS NULL`)),
    queueDepths(vhost, ctl),
  ]);
  let queued = 0;
  for (const [name, n] of queues) if (!isDeadLetterQueue(name)) queued += n;
  return { newOrders, outbox: ordersOutbox + paymentsOutbox, queued };
};

export const readLedger = async (
  urls: { orders: string; payments: string },
  vhost: string,
  ctl: Ctl = rabbitmqctl,
): Promise<Ledger> => {
  const [ordersSide, paymentsSide, queues] = await Promise.all([
    withClient(urls.orders, async (c) => ({
      orders: (
        await c.query<OrderRow>(
          `SELECT id::text, user_id, amount::float8 AS amount, description, status, failure_reason FROM orders`,
        )
      ).rows,
      outbox: await count(c, `SELECT count(*) AS n FROM outbox WHERE published_at IS NULL`),
      inbox: await count(c, `SELECT count(*) AS n FROM inbox`),
    })),
    withClient(urls.payments, async (c) => ({
      payments: (
        await c.query<PaymentRow>(
          `SELECT order_id::text, user_id, amount::float8 AS amount, status, failure_reason FROM payments`,
        )
      ).rows,
      accounts: (
        await c.query<{ user_id: string; balance: number }>(`SELECT user_id, balance::float8 AS balance FROM accounts`)
      ).rows,
      outbox: await count(c, `SELECT count(*) AS n FROM outbox WHERE published_at IS NULL`),
      inbox: await count(c, `SELECT count(*) AS n FROM inbox`),
    })),
    queueDepths(vhost, ctl),
  ]);
  return {
    orders: ordersSide.orders,
    payments: paymentsSide.payments,
    accounts: new Map(paymentsSide.accounts.map((a) => [a.user_id, a.balance])),
    outboxPending: { orders: ordersSide.outbox, payments: paymentsSide.outbox },
    inboxRows: { orders: ordersSide.inbox, payments: paymentsSide.inbox },
    queues,
  };
};

/** One broken invariant; `rule` groups them in the report. */
export interface Violation {
  readonly rule: string;
  readonly detail: string;
}

export interface CheckSummary {
  readonly violations: readonly Violation[];
  readonly orders: {
    readonly total: number;
    readonly finished: number;
    readonly cancelled: number;
    readonly new: number;
  };
  readonly requests: {
    readonly orders: Record<'acknowledged' | 'rejected' | 'indeterminate', number>;
    readonly deposits: Record<'acknowledged' | 'rejected' | 'indeterminate', number>;
    /** Indeterminate order requests that did take effect (the order exists). */
    readonly indeterminateOrdersApplied: number;
  };
  readonly clientRetries: {
    /** Attempts after the first of a keyed request (retries and double submissions). */
    readonly repeatedAttempts: number;
    /** Keyed requests answered 2xx more than once: each must have made one effect and one answer. */
    readonly answeredMoreThanOnce: number;
  };
  readonly users: { readonly checked: number; readonly withIndeterminateDeposits: number };
  readonly deadLettered: ReadonlyMap<string, number>;
}

/** Whether `target` is a sum of some of `amounts` (each used at most once). */
export const isSubsetSum = (amounts: readonly number[], target: number): boolean => {
  if (target < 0) return false;
  if (amounts.length > 22) return target <= amounts.reduce((a, b) => a + b, 0); // bounds only
  let sums = new Set<number>([0]);
  for (const amount of amounts) {
    const next = new Set(sums);
    for (const s of sums) if (s + amount <= target) next.add(s + amount);
    sums = next;
  }
  return sums.has(target);
};

/**
 * The checks, from outside: what the clients were told against what the databases and the broker
 * hold once the system is quiet. Jepsen's set and bank checks, with timeouts as indeterminate.
 */
export const checkLedger = (
  ledger: Ledger,
  requests: readonly LogicalRequest[],
  population: Population,
  unexpectedExits: readonly string[],
): CheckSummary => {
  const violations: Violation[] = [];
  const fail = (rule: string, detail: string) => violations.push({ rule, detail });
  const strangers = new Set(population.strangers);

  // --- orders: none lost, none unrequested, none doubled --------------------------------------
  const orderRequests = new Map(requests.filter((r) => r.kind === 'order').map((r) => [r.tag, r]));
  const ordersByTag = new Map<string, OrderRow[]>();
  for (const order of ledger.orders) {
    const tag = orderTag(order.description);
    const request = tag ? orderRequests.get(tag) : undefined;
    if (!tag || !request) {
      fail('nothing exists that was never requested', `order ${order.id} (${JSON.stringify(order.description)})`);
      continue;
    }
    ordersByTag.set(tag, [...(ordersByTag.get(tag) ?? []), order]);
  }
  const tally = {
    orders: { acknowledged: 0, rejected: 0, indeterminate: 0 },
    deposits: { acknowledged: 0, rejected: 0, indeterminate: 0 },
  };
  let indeterminateOrdersApplied = 0;
  let repeatedAttempts = 0;
  let answeredMoreThanOnce = 0;
  for (const request of requests) {
    const outcome = verdict(request);
    if (request.phase === 'workload') tally[request.kind === 'order' ? 'orders' : 'deposits'][outcome] += 1;
    if (request.key) repeatedAttempts += Math.max(0, request.attempts.length - 1);
    const answers = request.attempts.filter((a) => a.outcome === 'acknowledged');
    if (answers.length > 1) answeredMoreThanOnce += 1;
    for (const a of request.attempts) {
      if (a.detail === 'idempotency_key_reused') {
        fail('a retry gets the first answer', `${request.tag}: 422 idempotency_key_reused for the same body`);
      }
    }
    if (request.kind === 'deposit') {
      // Every 2xx answer to one keyed deposit is the first answer again.
      const balances = new Set(answers.map((a) => a.balance));
      if (balances.size > 1) {
        fail(
          'a retry gets the first answer',
          `deposit ${request.tag}: answers with balances ${[...balances].join(', ')}`,
        );
      }
      continue;
    }
    const rows = ordersByTag.get(request.tag) ?? [];
    if (rows.length > 1) {
      fail(
        'one request makes at most one order',
        `${request.tag}: ${rows.length} orders (${rows.map((r) => r.id).join(', ')})`,
      );
    }
    const row = rows[0];
    if (outcome === 'acknowledged') {
      if (!row) {
        fail(
          'no acknowledged order is lost',
          `${request.tag}: answered ${answers[0]?.status ?? '2xx'} id ${answers[0]?.orderId ?? '?'}, not in the database`,
        );
        continue;
      }
      const ids = new Set(answers.map((a) => a.orderId));
      if (ids.size !== 1 || !ids.has(row.id)) {
        fail('a retry gets the first answer', `${request.tag}: answered ids ${[...ids].join(', ')}, stored ${row.id}`);
      }
    } else if (outcome === 'rejected' && row) {
      fail(
        'a refused request changes nothing',
        `${request.tag}: answered ${request.attempts.map((a) => a.status).join('/')} but order ${row.id} exists`,
      );
    } else if (outcome === 'indeterminate' && row) {
      indeterminateOrdersApplied += 1;
    }
    if (row && (row.user_id !== request.user || row.amount !== request.amount)) {
      fail(
        'an order is what was asked',
        `${request.tag}: asked ${request.user}/${request.amount}, stored ${row.user_id}/${row.amount}`,
      );
    }
    if (
      row &&
      strangers.has(row.user_id) &&
      !(row.status === 'CANCELLED' && row.failure_reason === 'account_not_found')
    ) {
      fail('an order without an account is cancelled', `${request.tag}: ${row.status} ${row.failure_reason ?? ''}`);
    }
  }

  // --- every order left NEW and its payment agrees ---------------------------------------------
  const payments = new Map(ledger.payments.map((p) => [p.order_id, p]));
  const orderIds = new Set(ledger.orders.map((o) => o.id));
  let finished = 0;
  let cancelled = 0;
  let stillNew = 0;
  const finishedByUser = new Map<string, number>();
  for (const order of ledger.orders) {
    if (order.status === 'NEW') {
      stillNew += 1;
      fail('every order leaves NEW', `order ${order.id} (${order.description}) is still NEW`);
      continue;
    }
    const payment = payments.get(order.id);
    if (order.status === 'FINISHED') {
      finished += 1;
      finishedByUser.set(order.user_id, (finishedByUser.get(order.user_id) ?? 0) + order.amount);
      if (payment?.status !== 'SUCCEEDED' || payment.amount !== order.amount || payment.user_id !== order.user_id) {
        fail(
          'a FINISHED order has its one successful payment',
          `order ${order.id}: payment ${JSON.stringify(payment ?? null)}`,
        );
      }
    } else {
      cancelled += 1;
      // An order cancelled for lack of funds or account has its declined payment, with the reason.
      if (payment?.status !== 'FAILED' || payment.failure_reason !== order.failure_reason) {
        fail(
          'a CANCELLED order has its declined payment',
          `order ${order.id}: ${order.failure_reason ?? ''}, payment ${JSON.stringify(payment ?? null)}`,
        );
      }
    }
  }
  for (const payment of ledger.payments) {
    if (!orderIds.has(payment.order_id)) fail('no payment without an order', `payment for ${payment.order_id}`);
  }

  // --- the bank check: balance = deposits − FINISHED, ≥ 0 --------------------------------------
  const deposits = new Map<string, { sure: number; maybe: number[] }>();
  for (const request of requests) {
    if (request.kind !== 'deposit') continue;
    const entry = deposits.get(request.user) ?? { sure: 0, maybe: [] };
    const outcome = verdict(request);
    if (outcome === 'acknowledged') entry.sure += request.amount;
    if (outcome === 'indeterminate') entry.maybe.push(request.amount);
    deposits.set(request.user, entry);
  }
  let withIndeterminate = 0;
  for (const user of population.funded) {
    const balance = ledger.accounts.get(user);
    if (balance === undefined) {
      fail('every opened account exists', `${user} has no account`);
      continue;
    }
    if (balance < 0) fail('balance ≥ 0', `${user}: ${balance}`);
    const { sure, maybe } = deposits.get(user) ?? { sure: 0, maybe: [] };
    if (maybe.length > 0) withIndeterminate += 1;
    const spent = finishedByUser.get(user) ?? 0;
    // Deposits without an answer may or may not have happened: some subset of them did.
    if (!isSubsetSum(maybe, balance - sure + spent)) {
      fail(
        'balance = deposits − FINISHED',
        `${user}: balance ${balance}, acknowledged deposits ${sure}, FINISHED ${spent}` +
          (maybe.length ? `, unanswered deposits ${maybe.join('+')}` : ''),
      );
    }
  }
  for (const user of population.strangers) {
    if (ledger.accounts.has(user)) fail('nothing exists that was never requested', `an account for ${user}`);
  }
  for (const user of ledger.accounts.keys()) {
    if (!population.funded.includes(user) && !strangers.has(user)) {
      fail('nothing exists that was never requested', `an account for ${user}`);
    }
  }

  // --- quiet: outboxes published, queues drained (dead-letter queues are reported) ---------------
  if (ledger.outboxPending.orders + ledger.outboxPending.payments > 0) {
    fail(
      'outboxes drained',
      `unpublished rows: orders ${ledger.outboxPending.orders}, payments ${ledger.outboxPending.payments}`,
    );
  }
  const deadLettered = new Map<string, number>();
  for (const [queue, n] of ledger.queues) {
    if (isDeadLetterQueue(queue)) deadLettered.set(queue, n);
    else if (n > 0) fail('queues drained except the dead-letter queues', `${queue}: ${n} message(s)`);
  }
  for (const exit of unexpectedExits) fail('no process exits unless killed', exit);

  return {
    violations,
    orders: { total: ledger.orders.length, finished, cancelled, new: stillNew },
    requests: { orders: tally.orders, deposits: tally.deposits, indeterminateOrdersApplied },
    clientRetries: { repeatedAttempts, answeredMoreThanOnce },
    users: { checked: population.funded.length, withIndeterminateDeposits: withIndeterminate },
    deadLettered,
  };
};
