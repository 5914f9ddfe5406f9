import { pino, type DestinationStream, type Logger } from 'pino';
import pretty from 'pino-pretty';
import type { LogLevel } from './env.js';
import { traceFields } from './observability/tracing.js';
import { safeError } from './safe-error.js';

/** What is logged with secrets in it: errors (a driver's error may carry its config) and headers. */
export const REDACTED = [
  'err.connectionString',
  'err.password',
  'err.config',
  'err.client',
  'err.url',
  'err.headers.authorization',
  'err.headers.cookie',
  'headers.authorization',
  'headers.cookie',
];

/** How long a log line may wait in the buffer before it is written. */
export const LOG_FLUSH_MS = 100;

/** How many bytes of lines (about a dozen request lines) are gathered into one write. */
const LOG_BATCH_BYTES = 4096;

/**
 * Where the JSON lines go (stdout unless told): written asynchronously, a batch of lines at a
 * time. One write per line costs a hand-off to libuv's thread pool and back, several times what
 * serialising the line does; the gateway writes a line per request. A line therefore appears
 * when its batch fills or within `LOG_FLUSH_MS`, whichever is first. Nothing is lost on the ways
 * a GoZon process ends: `process.exit` (graceful shutdown, a failed start), an uncaught exception
 * and an emptied event loop write what is buffered before the process goes (pino flushes its
 * asynchronous destinations on `exit` and `beforeExit`). Only a process killed outright
 * (SIGKILL, out of memory) loses its last `LOG_FLUSH_MS` of lines.
 */
export const logDestination = (dest: string | number = process.stdout.fd ?? 1): ReturnType<typeof pino.destination> =>
  pino.destination({ dest, sync: false, minLength: LOG_BATCH_BYTES, periodicFlush: LOG_FLUSH_MS });

/**
 * JSON lines on stdout (`logDestination`: batched, see there), or readable lines when stdout is a
 * terminal; `level` is the configuration's (`LOG_LEVEL`, checked there), info by default. Every
 * line written inside a request or message span carries its `trace_id` and `span_id`.
 */
export const createLogger = (
  name: string,
  tty: boolean = process.stdout.isTTY === true,
  destination?: DestinationStream,
  level: LogLevel = 'info',
): Logger =>
  pino(
    {
      name,
      level,
      base: { pid: process.pid },
      // Connection strings never reach a log line, whatever an error carries. Exact paths, not
      // wildcards: a wildcard path makes every line cost about twice as much to write.
      redact: REDACTED,
      // An error shows its class, code and message, never the values of a failed statement.
      serializers: { err: safeError },
      mixin: () => traceFields(),
    },
    tty
      ? pretty({ colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' })
      : (destination ?? logDestination()),
  );

/**
 * Passes `err` on to `report` at most once per `everyMs`, with how many failures it stands for (it
 * and those held back since the last report): a broker outage fails the publish of every commit,
 * and one warning each would flood the log with lines that say nothing new.
 */
export const sparingly = (
  everyMs: number,
  report: (err: unknown, failures: number) => void,
  now: () => number = Date.now,
): ((err: unknown) => void) => {
  let last = Number.NEGATIVE_INFINITY;
  let held = 0;
  return (err) => {
    held += 1;
    if (now() - last < everyMs) return;
    last = now();
    const failures = held;
    held = 0;
    report(err, failures);
  };
};
