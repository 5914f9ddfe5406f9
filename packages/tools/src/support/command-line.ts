// How every tool's command line ends when it cannot run: one line on stderr and exit code 2, or
// the usage on stdout and exit code 0 for `--help`.
import { parseArgs } from 'node:util';
import { refuse, strictly, UsageError } from '@gozon/apps/internals';

/**
 * Runs `parse` over this process's arguments; prints `usage` and exits 0 when it answers 'help',
 * refuses (one line, exit 2) what it throws as a UsageError.
 */
export const commandLine = <T>(usage: string, parse: (args: string[]) => T | 'help'): T => {
  try {
    const parsed = parse(process.argv.slice(2));
    if (parsed !== 'help') return parsed;
    process.stdout.write(`${usage}\n`);
    process.exit(0);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    refuse(err);
    process.exit();
  }
};

/** `text` as a number greater than 0, or a UsageError naming `--name`. */
export const positive = (command: string, name: string, text: string | undefined): number => {
  const n = Number(text);
  if (text === undefined || text.trim() === '' || !Number.isFinite(n) || n <= 0) {
    throw new UsageError(
      `${command}: ${name === 'messages' ? 'the number of messages' : `--${name}`} must be a positive number (got ${String(text)})`,
    );
  }
  return n;
};

/** `text` if it names something (a file, a directory), or a UsageError naming `--name`. */
export const nonEmpty = (command: string, name: string, text: string | undefined): string | undefined => {
  if (text !== undefined && text.trim() === '') throw new UsageError(`${command}: --${name} needs a value`);
  return text;
};

/**
 * The measurement scripts' command line, `[messages]`: how many messages to send (default
 * 20,000), or 'help'.
 */
export const parseMessageCount = (command: string, args: readonly string[]): number | 'help' => {
  const { values, positionals } = strictly(command, () =>
    parseArgs({
      args: [...args],
      options: { help: { type: 'boolean', short: 'h', default: false } },
      allowPositionals: true,
    }),
  );
  if (values.help) return 'help';
  if (positionals.length > 1) throw new UsageError(`${command}: one number of messages at most`);
  return Math.round(positive(command, 'messages', positionals[0] ?? '20000'));
};
