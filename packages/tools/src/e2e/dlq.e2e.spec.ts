import { expect } from 'chai';
import { Routes } from '@gozon/core';
import {
  defaultTopology,
  publishConfirmed,
  publishOptions,
  contentOf,
  RabbitConnection,
  RabbitQueueTools,
} from '@gozon/adapters/rabbitmq';
import type { GozonClient } from './client.js';
import { GozonProcess } from './processes.js';
import { ServerSystem } from './system.js';

const dlq = `${Routes.orderPayments}.dlq`;

describe('gozon dlq: list, show and replay dead letters on RabbitMQ', function () {
  this.timeout(120_000);
  let system: ServerSystem;
  let api: GozonClient;
  let connection: RabbitConnection;
  let queues: RabbitQueueTools;

  before(async () => {
    system = await ServerSystem.start();
    api = await system.client();
    connection = new RabbitConnection({ url: system.vhost.url, topology: defaultTopology });
    await connection.open();
    queues = new RabbitQueueTools(connection);
  });
  after(async () => {
    await connection?.close();
    await system?.stop();
  });

  const gozonDlq = async (...args: string[]): Promise<{ code: number | null; output: string }> => {
    // A list of nodes whose first is down: gozon dlq goes on to the first that answers.
    const down = new URL(system.vhost.url);
    down.port = '1';
    const nodes = `${down.toString()},${system.vhost.url}`;
    const run = new GozonProcess('dlq', { AMQP_URL: nodes }, undefined, undefined, args);
    await run.start();
    const code = await run.exited();
    return { code, output: run.output };
  };

  /** Puts messages on a queue exactly as they are (as the broker's dead-lettering would). */
  const putOn = async (queue: string, messages: Awaited<ReturnType<RabbitQueueTools['take']>>) => {
    const channel = await connection.current().createConfirmChannel();
    try {
      await publishConfirmed(
        channel,
        messages.map((m) => ({ exchange: '', routingKey: queue, content: contentOf(m), options: publishOptions(m) })),
      );
    } finally {
      await channel.close();
    }
  };

  it('replays a dead-lettered payment request once, and a second replay of the same id changes nothing', async () => {
    const user = await api.fundedUser(1000);
    // The payment request is stranded in the DLQ, as after the consumer gave up on it.
    await system.parts.payments.kill('SIGTERM');
    const order = await api.order(user, 400);
    let stranded: Awaited<ReturnType<RabbitQueueTools['take']>> = [];
    const deadline = Date.now() + 10_000;
    while (stranded.length === 0 && Date.now() < deadline) stranded = await queues.take(Routes.orderPayments, 1);
    expect(stranded).to.have.length(1);
    const id = stranded[0]?.properties.messageId ?? '';
    await putOn(dlq, stranded);
    await system.parts.payments.start();

    const listed = await gozonDlq('list');
    expect(listed.code).to.equal(0);
    expect(listed.output).to.contain(id).and.contain(order.id).and.contain('1 dead-lettered message');
    const shown = await gozonDlq('show', id);
    expect(shown.output).to.contain(`"order_id": "${order.id}"`);
    expect((await api.getOrder(order.id)).status).to.equal('NEW');

    const replayed = await gozonDlq('replay', id);
    expect(replayed.code).to.equal(0);
    expect(replayed.output).to.contain(`replayed ${id}`);
    const [final] = await api.final([order.id]);
    expect(final?.status).to.equal('FINISHED');
    expect(await api.balance(user)).to.equal(600);
    expect(await queues.depth(dlq)).to.equal(0);

    // The same message again (same id): the inbox absorbs it.
    await putOn(dlq, stranded);
    expect((await gozonDlq('replay', '--all')).output).to.contain(`replayed ${id}`);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(await api.balance(user)).to.equal(600);
    const inbox = await system.databases.payments.db.query<{ n: string }>(
      'SELECT count(*) AS n FROM inbox WHERE message_id = $1',
      [id],
    );
    expect(Number(inbox.rows[0]?.n)).to.equal(1);
  });

  it('says plainly when there is nothing to replay', async () => {
    const none = await gozonDlq('replay', 'no-such-id');
    expect(none.code).to.equal(1);
    expect(none.output).to.contain('0 replayed');
  });
});
