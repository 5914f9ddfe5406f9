import { pino, type DestinationStream, type Logger } from 'pino';
import pretty from 'pino-pretty';
import { traceFields } from './observability/tracing.js';

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

/**
 * JSON lines on stdout, or readable lines when stdout is a terminal; `LOG_LEVEL` sets the level
 * (info by default). Every line written inside a request or message span carries its `trace_id`
 * and `span_id`.
 */
export const createLogger = (
  name: string,
  tty: boolean = process.stdout.isTTY === true,
  destination?: DestinationStream,
): Logger =>
  pino(
    {
      name,
      level: process.env['LOG_LEVEL'] ?? 'info',
      base: { pid: process.pid },
      // Connection strings never reach a log line, whatever an error carries. Exact paths, not
      // wildcards: a wildcard path makes every line cost about twice as much to write.
      redact: REDACTED,
      mixin: () => traceFields(),
    },
    tty ? pretty({ colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' }) : destination,
  );
