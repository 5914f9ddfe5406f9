import { pino, type Logger } from 'pino';

/** JSON lines on stdout; `LOG_LEVEL` sets the level (info by default). */
export const createLogger = (name: string): Logger =>
  pino({
    name,
    level: process.env['LOG_LEVEL'] ?? 'info',
    base: { pid: process.pid },
    // Connection strings never reach a log line, whatever an error carries.
    redact: ['*.connectionString', '*.password', 'err.config'],
  });
