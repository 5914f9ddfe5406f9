import { pino, type Logger } from 'pino';
import pretty from 'pino-pretty';
import { traceFields } from './observability/tracing.js';

/**
 * JSON lines on stdout, or readable lines when stdout is a terminal; `LOG_LEVEL` sets the level
 * (info by default). Every line written inside a request or message span carries its `trace_id`
 * and `span_id`.
 */
export const createLogger = (name: string, tty: boolean = process.stdout.isTTY === true): Logger =>
  pino(
    {
      name,
      level: process.env['LOG_LEVEL'] ?? 'info',
      base: { pid: process.pid },
      // Connection strings never reach a log line, whatever an error carries.
      redact: ['*.connectionString', '*.password', 'err.config', '*.authorization', '*.cookie'],
      mixin: () => traceFields(),
    },
    tty ? pretty({ colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' }) : undefined,
  );
