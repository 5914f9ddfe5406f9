// The `gozon` command line: which part to run, read strictly.
import { parseArgs } from 'node:util';
import { strictly, UsageError } from './command-line.js';

const COMMANDS = ['all', 'gateway', 'orders', 'payments', 'web', 'migrate', 'dlq', 'token'] as const;
export type Command = (typeof COMMANDS)[number];

export const USAGE = [
  `usage: gozon <${COMMANDS.join('|')}>`,
  '       gozon token <user_id> [--admin]   prints an access token from the built-in provider',
  '       gozon dlq list | show <message-id>… | replay <message-id>… | replay --all',
].join('\n');

const isCommand = (word: string | undefined): word is Command => COMMANDS.includes(word as Command);

/**
 * Reads `gozon <command> …`: the command, and what follows it for the commands that take more
 * (`token`, `dlq` read their own). The parts and `migrate` take nothing: a stray flag is refused
 * rather than ignored. Answers 'help' for `--help`.
 */
export const parseGozon = (args: readonly string[]): 'help' | { command: Command; rest: string[] } => {
  const [first, ...rest] = args;
  if (isCommand(first)) {
    if (first === 'token' || first === 'dlq') return { command: first, rest };
    const { values } = strictly(`gozon ${first}`, () =>
      parseArgs({ args: rest, options: { help: { type: 'boolean', short: 'h' } } }),
    );
    return values.help ? 'help' : { command: first, rest };
  }
  const { values, positionals } = strictly('gozon', () =>
    parseArgs({ args: [...args], options: { help: { type: 'boolean', short: 'h' } }, allowPositionals: true }),
  );
  if (values.help) return 'help';
  throw new UsageError(
    positionals[0] === undefined
      ? `gozon: which part to run is missing (gozon --help lists the commands)`
      : `gozon: unknown command ${positionals[0]} (gozon --help lists the commands)`,
  );
};
