// Every command line of the project is parsed strictly by `node:util` `parseArgs`: a typo in a
// flag must stop a command before it does anything, not run it with the flag ignored.

/** A command line that cannot be run: `message` is one line for stderr, and the exit code is 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** The exit code of a refused command line. */
export const USAGE_EXIT_CODE = 2;

/** The first line and sentence of `parseArgs`'s message, which goes on to give advice at length. */
const firstSentence = (err: unknown): string => {
  const text = err instanceof Error ? err.message : String(err);
  const line = text.split('\n')[0] ?? text;
  const end = line.indexOf('. ');
  return (end === -1 ? line : line.slice(0, end)).replace(/\.$/, '');
};

/**
 * Runs `parse` (a `parseArgs` call) and turns what it refuses into a UsageError naming `command`:
 * `gozon dlq: Unknown option '--al' (see --help)`.
 */
export const strictly = <T>(command: string, parse: () => T): T => {
  try {
    return parse();
  } catch (err) {
    throw new UsageError(`${command}: ${firstSentence(err)} (see --help)`);
  }
};

/** Ends a refused command line as every command does: its one line on stderr, exit code 2. */
export const refuse = (err: UsageError): void => {
  process.stderr.write(`${err.message}\n`);
  process.exitCode = USAGE_EXIT_CODE;
};
