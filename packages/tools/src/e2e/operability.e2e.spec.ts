import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import type { GozonClient } from './client.js';
import { scrape, scrapeUntil, total, type Sample } from './scrape.js';
import { ServerSystem } from './system.js';

type LogLine = Record<string, unknown>;

const logLines = (output: string): LogLine[] =>
  output.split('\n').flatMap((line) => {
    try {
      const parsed: unknown = JSON.parse(line);
      return typeof parsed === 'object' && parsed !== null ? [parsed as LogLine] : [];
    } catch {
      return [];
    }
  });

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('operability: metrics, logs and trace context across processes', function () {
  this.timeout(180_000);
  let system: ServerSystem;
  let api: GozonClient;
  before(async () => {
    system = await ServerSystem.start({ cuttableOrdersBroker: true });
    api = await system.client();
  });
  after(async () => {
    await system?.stop();
  });

  it("reports each service's requests, messages and settled orders on its own /metrics", async () => {
    const ordersBefore = await scrape(system.urls.orders);
    const paymentsBefore = await scrape(system.urls.payments);
    const user = await api.fundedUser(100);
    const placed = await Promise.all([api.order(user, 30), api.order(user, 40), api.order(user, 1_000)]);
    await api.getOrder(placed[0]!.id);
    const finals = await api.final(placed.map((o) => o.id));
    expect(finals.map((o) => o.status)).to.deep.equal(['FINISHED', 'FINISHED', 'CANCELLED']);

    const orders = await scrapeUntil(
      system.urls.orders,
      (s) =>
        total(s, 'gozon_order_settle_duration_seconds_count') -
          total(ordersBefore, 'gozon_order_settle_duration_seconds_count') ===
        3,
      'orders settled',
    );
    const payments = await scrape(system.urls.payments);
    const delta = (after: Sample[], before: Sample[], name: string, labels: Record<string, string> = {}) =>
      total(after, name, labels) - total(before, name, labels);

    const http = 'gozon_http_request_duration_seconds_count';
    expect(delta(orders, ordersBefore, http, { method: 'POST', route: '/orders', status: '201' })).to.equal(3);
    // The route is the pattern, never the raw path with the order's id in it.
    expect(delta(orders, ordersBefore, http, { method: 'GET', route: '/orders/:id', status: '200' })).to.be.at.least(1);
    expect(orders.filter((s) => s.name === http && s.labels['route']?.includes(placed[0]!.id))).to.deep.equal([]);
    expect(
      delta(payments, paymentsBefore, http, { method: 'POST', route: '/payments/accounts', status: '201' }),
    ).to.equal(1);
    expect(
      delta(payments, paymentsBefore, http, { method: 'POST', route: '/payments/accounts/deposit', status: '200' }),
    ).to.equal(1);

    const settled = 'gozon_order_settle_duration_seconds_count';
    expect(delta(orders, ordersBefore, settled, { status: 'FINISHED' })).to.equal(2);
    expect(delta(orders, ordersBefore, settled, { status: 'CANCELLED' })).to.equal(1);

    const handled = 'gozon_message_handling_duration_seconds_count';
    expect(delta(payments, paymentsBefore, handled, { type: 'payment.requested', outcome: 'charged' })).to.equal(2);
    expect(delta(payments, paymentsBefore, handled, { type: 'payment.requested', outcome: 'declined' })).to.equal(1);
    expect(delta(orders, ordersBefore, handled, { type: 'payment.succeeded', outcome: 'applied' })).to.equal(2);
    expect(delta(orders, ordersBefore, handled, { type: 'payment.failed', outcome: 'applied' })).to.equal(1);

    expect(delta(orders, ordersBefore, 'gozon_messages_published_total', { routing_key: 'order.payments' })).to.equal(
      3,
    );
    expect(
      delta(payments, paymentsBefore, 'gozon_messages_published_total', { routing_key: 'payment.status' }),
    ).to.equal(3);
    expect(delta(orders, ordersBefore, 'gozon_outbox_publish_batch_size_sum')).to.equal(3);

    // Present and 0: nothing was absorbed, retried or dead-lettered.
    for (const [samples, service] of [
      [orders, 'orders'],
      [payments, 'payments'],
    ] as const) {
      for (const name of [
        'gozon_inbox_duplicates_total',
        'gozon_message_retries_total',
        'gozon_messages_dead_lettered_total',
      ]) {
        const series = samples.filter((s) => s.name === name);
        expect(series, `${service} ${name}`).to.have.length.greaterThan(0);
        expect(series.every((s) => s.value === 0 && s.labels['service'] === service)).to.equal(true);
      }
      expect(total(samples, 'gozon_outbox_pending_messages')).to.equal(0);
      expect(total(samples, 'process_cpu_user_seconds_total')).to.be.greaterThan(0);
    }
    expect(total(orders, 'gozon_queue_messages', { queue: 'payment.status.dlq' })).to.equal(0);
    expect(orders.some((s) => s.name === 'gozon_queue_messages' && s.labels['queue'] === 'payment.status')).to.equal(
      true,
    );

    // The services' metrics are theirs: the public entry does not hand them out.
    const atGateway = await fetch(`${system.gatewayUrl}/metrics`);
    expect(atGateway.status).to.equal(404);
    expect(await atGateway.text()).to.not.contain('gozon_');
  });

  it("follows one order's trace id through every hop's log lines", async () => {
    const user = await api.fundedUser(50);
    const traceId = randomBytes(16).toString('hex');
    const callerSpan = randomBytes(8).toString('hex');
    const res = await api.post(
      '/orders',
      { user_id: user, amount: 20 },
      { traceparent: `00-${traceId}-${callerSpan}-01`, 'x-request-id': `req-${traceId}` },
    );
    expect(res.status).to.equal(201);
    expect(res.headers.get('x-request-id')).to.equal(`req-${traceId}`);
    const order = (await res.json()) as { id: string };
    await api.final([order.id]);

    const traced = async (part: 'gateway' | 'orders' | 'payments', match: (l: LogLine) => boolean) => {
      const deadline = Date.now() + 10_000;
      for (;;) {
        const lines = logLines(system.parts[part].output).filter((l) => l['trace_id'] === traceId && match(l));
        if (lines.length > 0 || Date.now() > deadline) return lines;
        await sleep(100);
      }
    };
    const [gateway] = await traced('gateway', (l) => l['msg'] === 'request' && l['route'] === '/orders*');
    const [request] = await traced('orders', (l) => l['msg'] === 'request' && l['route'] === '/orders');
    const [charge] = await traced(
      'payments',
      (l) => l['msg'] === 'message handled' && l['type'] === 'payment.requested',
    );
    const [apply] = await traced('orders', (l) => l['msg'] === 'message handled' && l['type'] === 'payment.succeeded');

    expect(gateway, 'gateway request line').to.include({ status: 201, request_id: `req-${traceId}` });
    expect(request, 'orders request line').to.include({ method: 'POST', status: 201, request_id: `req-${traceId}` });
    expect(request!['duration_ms']).to.be.a('number');
    expect(charge, 'payments consumer line').to.include({ correlation_id: order.id, outcome: 'charged' });
    expect(charge!['message_id']).to.be.a('string');
    expect(apply, 'orders consumer line').to.include({ correlation_id: order.id, outcome: 'applied' });
    // Each hop is a span of its own in the one trace.
    const spans = [callerSpan, gateway!['span_id'], request!['span_id'], charge!['span_id'], apply!['span_id']];
    expect(new Set(spans).size).to.equal(5);
    for (const span of spans) expect(span).to.match(/^[0-9a-f]{16}$/);
  });

  it("logs a page request in web's own line, with the gateway's request id and trace", async () => {
    const traceId = randomBytes(16).toString('hex');
    const res = await fetch(`${system.gatewayUrl}/app.js`, {
      headers: { traceparent: `00-${traceId}-${randomBytes(8).toString('hex')}-01`, 'x-request-id': `page-${traceId}` },
    });
    expect(res.status).to.equal(200);
    await res.text();
    const deadline = Date.now() + 10_000;
    let lines: LogLine[] = [];
    while (lines.length === 0 && Date.now() < deadline) {
      await sleep(100);
      lines = logLines(system.parts.web.output).filter((l) => l['msg'] === 'request' && l['trace_id'] === traceId);
    }
    expect(lines, 'web request line').to.have.length(1);
    expect(lines[0]).to.include({
      service: 'web',
      method: 'GET',
      route: '/*',
      path: '/app.js',
      status: 200,
      request_id: `page-${traceId}`,
    });
  });

  it('shows orders waiting while payments is down, with the outbox of orders empty: the broker holds the requests', async () => {
    const user = await api.fundedUser(100);
    await system.parts.payments.kill('SIGTERM');
    let placed: string[] = [];
    try {
      placed = (await Promise.all([api.order(user, 10), api.order(user, 20)])).map((o) => o.id);
      const waiting = await scrapeUntil(
        system.urls.orders,
        (s) =>
          total(s, 'gozon_orders_oldest_awaiting_age_seconds') >= 1.5 && total(s, 'gozon_orders_awaiting_outcome') >= 2,
        'orders awaiting an outcome',
      );
      // The relay handed the requests to RabbitMQ, where they wait for payments.
      expect(total(waiting, 'gozon_outbox_pending_messages')).to.equal(0);
      expect(total(waiting, 'gozon_outbox_oldest_pending_age_seconds')).to.equal(0);
    } finally {
      await system.parts.payments.start();
    }
    await api.final(placed);
    await scrapeUntil(
      system.urls.orders,
      (s) =>
        total(s, 'gozon_orders_oldest_awaiting_age_seconds') === 0 && total(s, 'gozon_orders_awaiting_outcome') === 0,
      'no order waiting',
    );
  });

  it('shows the outbox of orders ageing while it cannot reach the broker, and back at 0 once it can', async () => {
    const link = system.ordersBrokerLink!;
    const user = await api.fundedUser(100);
    await link.cut();
    let placed: string[] = [];
    try {
      // Orders are still taken: the payment requests wait in the outbox.
      placed = (await Promise.all([api.order(user, 10), api.order(user, 20)])).map((o) => o.id);
      const ageing = await scrapeUntil(
        system.urls.orders,
        (s) =>
          total(s, 'gozon_outbox_oldest_pending_age_seconds') >= 1.5 && total(s, 'gozon_outbox_pending_messages') >= 2,
        'outbox ageing',
      );
      expect(total(ageing, 'gozon_outbox_publish_duration_seconds_count', { result: 'error' })).to.be.greaterThan(0);
    } finally {
      await link.restore();
    }
    await scrapeUntil(
      system.urls.orders,
      (s) =>
        total(s, 'gozon_outbox_oldest_pending_age_seconds') === 0 && total(s, 'gozon_outbox_pending_messages') === 0,
      'outbox drained',
    );
    const finals = await api.final(placed, 30_000);
    expect(finals.every((o) => o.status === 'FINISHED')).to.equal(true);
  });
});
