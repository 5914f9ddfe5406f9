import { parseArgs } from 'node:util';
import { Routes } from '@gozon/core';
import { RabbitConnection, RabbitDeadLetters, defaultTopology, type DeadLetter } from '@gozon/adapters/rabbitmq';
import { strictly, UsageError, USAGE_EXIT_CODE } from './command-line.js';
import { ConfigError, type Config } from './config.js';

export const DLQ_USAGE = 'usage: gozon dlq list | show <message-id>… | replay <message-id>… | replay --all';

/** What `gozon dlq` was asked to do. */
export type DlqCommand =
  | { readonly action: 'help' }
  | { readonly action: 'list' }
  | { readonly action: 'show'; readonly ids: readonly string[] }
  | { readonly action: 'replay'; readonly ids: readonly string[]; readonly all: boolean };

/** Reads the arguments after `gozon dlq`; throws a UsageError for anything else. */
export const parseDlq = (args: readonly string[]): DlqCommand => {
  const { values, positionals } = strictly('gozon dlq', () =>
    parseArgs({
      args: [...args],
      options: { all: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
    }),
  );
  if (values.help) return { action: 'help' };
  const [action, ...ids] = positionals;
  const all = values.all === true;
  if (all && action !== 'replay') throw new UsageError(`gozon dlq: --all goes with replay only; ${DLQ_USAGE}`);
  if (action === 'list' && ids.length === 0) return { action };
  if (action === 'show' && ids.length > 0) return { action, ids };
  if (action === 'replay' && (ids.length > 0 || all)) return { action, ids, all };
  throw new UsageError(
    action === undefined
      ? `gozon dlq: what to do is missing; ${DLQ_USAGE}`
      : `gozon dlq: cannot ${args.join(' ')}; ${DLQ_USAGE}`,
  );
};

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
  complain: (text: string) => void = (text) => process.stderr.write(`${text}\n`),
): Promise<number> => {
  let command: DlqCommand;
  try {
    command = parseDlq(args);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    complain(err.message);
    return USAGE_EXIT_CODE;
  }
  if (command.action === 'help') {
    print(DLQ_USAGE);
    return 0;
  }
  if (!config.amqpUrl) throw new ConfigError('gozon dlq needs AMQP_URL (unset)');
  const connection = new RabbitConnection({
    url: config.amqpUrl,
    topology: { ...defaultTopology, exchange: config.exchange },
  });
  await connection.open();
  try {
    return await act(new RabbitDeadLetters(connection, [Routes.orderPayments, Routes.paymentStatus]), command, print);
  } finally {
    await connection.close();
  }
};

/** Carries out `command` on the dead letters; answers the exit code. */
const act = async (
  letters: RabbitDeadLetters,
  command: Exclude<DlqCommand, { action: 'help' }>,
  print: (text: string) => void,
): Promise<number> => {
  if (command.action === 'list') {
    const all = await letters.list();
    for (const d of all) print(line(d));
    print(`${all.length} dead-lettered message${all.length === 1 ? '' : 's'}`);
    return 0;
  }
  if (command.action === 'show') {
    const found = (await letters.list()).filter((d) => command.ids.includes(d.message.properties.messageId ?? ''));
    for (const d of found) {
      print(line(d));
      print(JSON.stringify(d.message.properties, null, 2));
      print(body(d));
    }
    if (found.length === 0) print(`no dead letter with id ${command.ids.join(', ')}`);
    return found.length > 0 ? 0 : 1;
  }
  const { all, ids } = command;
  const replayed = await letters.replay((d) => all || ids.includes(d.message.properties.messageId ?? ''));
  for (const id of replayed) print(`replayed ${id}`);
  print(`${replayed.length} replayed`);
  return replayed.length > 0 || all ? 0 : 1;
};
