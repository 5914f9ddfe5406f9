import { Routes } from '@gozon/core';
import { RabbitConnection, RabbitDeadLetters, defaultTopology, type DeadLetter } from '@gozon/adapters/rabbitmq';
import { ConfigError, type Config } from './config.js';

const USAGE = 'usage: gozon dlq list | show <message-id> | replay <message-id>… | replay --all';

const line = (d: DeadLetter): string => {
  const p = d.message.properties;
  return [
    p.messageId ?? '(no id)',
    d.queue,
    p.type ?? '(no type)',
    `order ${p.correlationId ?? '?'}`,
    `${d.reason ?? 'dead-lettered'}${d.attempts ? ` after ${d.attempts} attempts` : ''}`,
    // A replay carries no userId and is accepted: an unexpected publisher here is worth a look first.
    `from ${d.publishedBy ?? '(no userId)'}`,
  ].join('  ');
};

const body = (d: DeadLetter): string => {
  const text = new TextDecoder().decode(d.message.body);
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
};

/**
 * `gozon dlq`: what sits in the dead-letter queues, and replaying it. A replay sends the original
 * message (same messageId) back to its queue, so the consumer's inbox keeps it from acting twice.
 */
export const runDlq = async (
  args: readonly string[],
  config: Config,
  print: (text: string) => void,
): Promise<number> => {
  if (!config.amqpUrl) throw new ConfigError('gozon dlq needs AMQP_URL (unset)');
  const [command, ...rest] = args;
  if (!command || !['list', 'show', 'replay'].includes(command) || (command !== 'list' && rest.length === 0)) {
    print(USAGE);
    return 2;
  }
  const connection = new RabbitConnection({
    url: config.amqpUrl,
    topology: { ...defaultTopology, exchange: config.exchange },
  });
  await connection.open();
  try {
    const letters = new RabbitDeadLetters(connection, [Routes.orderPayments, Routes.paymentStatus]);
    if (command === 'list') {
      const all = await letters.list();
      for (const d of all) print(line(d));
      print(`${all.length} dead-lettered message${all.length === 1 ? '' : 's'}`);
      return 0;
    }
    if (command === 'show') {
      const found = (await letters.list()).filter((d) => rest.includes(d.message.properties.messageId ?? ''));
      for (const d of found) {
        print(line(d));
        print(JSON.stringify(d.message.properties, null, 2));
        print(body(d));
      }
      if (found.length === 0) print(`no dead letter with id ${rest.join(', ')}`);
      return found.length > 0 ? 0 : 1;
    }
    const all = rest.includes('--all');
    const replayed = await letters.replay((d) => all || rest.includes(d.message.properties.messageId ?? ''));
    for (const id of replayed) print(`replayed ${id}`);
    print(`${replayed.length} replayed`);
    return replayed.length > 0 || all ? 0 : 1;
  } finally {
    await connection.close();
  }
};
