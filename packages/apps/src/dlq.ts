import { parseArgs } from 'node:util';
import { Routes } from '@gozon/core';
import { DataDirInUse } from '@gozon/adapters/pglite';
import { RabbitConnection, RabbitDeadLetters, defaultTopology } from '@gozon/adapters/rabbitmq';
import { strictly, UsageError, USAGE_EXIT_CODE } from './command-line.js';
import type { Config } from './config.js';
import { EmbeddedDeadLetters, type DeadLetters, type DeadLetterView } from './embedded-dead-letters.js';
import { openOrExplain } from './runtime/infrastructures.js';

export const DLQ_USAGE = 'usage: gozon dlq list | show <message-id>… | replay <message-id>… | replay --all';

/** The exit code when the embedded databases are open in another process (`gozon all`): nothing was done. */
export const IN_USE_EXIT_CODE = 3;

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

const line = (d: DeadLetterView): string => {
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

const body = (d: DeadLetterView): string => {
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
 * With `AMQP_URL` unset, the same on the embedded bus's `dead_letters` tables (see
 * `EmbeddedDeadLetters`); refused, with exit code 3, while `gozon all` has their databases open.
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
  if (config.amqpUrl) return onRabbit(config.amqpUrl, config, (letters) => act(letters, command, print));
  let letters: EmbeddedDeadLetters;
  try {
    letters = await EmbeddedDeadLetters.open(config);
  } catch (err) {
    if (!(err instanceof DataDirInUse)) throw err;
    complain(`gozon dlq: ${err.message} (gozon all?); stop it, then run gozon dlq again`);
    return IN_USE_EXIT_CODE;
  }
  try {
    return await act(letters, command, print);
  } finally {
    await letters.close();
  }
};

/** Runs `work` on RabbitMQ's dead-letter queues. */
const onRabbit = async (
  url: string,
  config: Config,
  work: (letters: DeadLetters) => Promise<number>,
): Promise<number> => {
  const connection = new RabbitConnection({
    url,
    topology: { ...defaultTopology, exchange: config.exchange, queueType: config.queueType },
  });
  await openOrExplain(connection);
  try {
    const rabbit = new RabbitDeadLetters(connection, [Routes.orderPayments, Routes.paymentStatus]);
    return await work({
      list: () => rabbit.list(),
      // The broker takes a replay at once; a consumer that fails on it again dead-letters it again.
      replay: async (which) => ({ replayed: await rabbit.replay(which), failed: [] }),
    });
  } finally {
    await connection.close();
  }
};

/** Carries out `command` on the dead letters; answers the exit code. */
const act = async (
  letters: DeadLetters,
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
  const { replayed, failed } = await letters.replay((d) => all || ids.includes(d.message.properties.messageId ?? ''));
  for (const id of replayed) print(`replayed ${id}`);
  for (const { id, reason } of failed) print(`failed again ${id}: ${reason} (still dead-lettered)`);
  print(`${replayed.length} replayed${failed.length > 0 ? `, ${failed.length} failed again` : ''}`);
  return failed.length === 0 && (replayed.length > 0 || all) ? 0 : 1;
};
