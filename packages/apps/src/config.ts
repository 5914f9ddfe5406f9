import { DEFAULT_MAX_REDELIVERIES } from '@gozon/core';
import { checkRetention, defaultRetention, type RetentionWindows } from '@gozon/adapters/postgres';
/** Everything a GoZon process reads from its environment, in one place. */
export interface Config {
  readonly gatewayPort: number;
  readonly ordersPort: number;
  readonly paymentsPort: number;
  readonly webPort: number;
  readonly ordersUrl: string;
  readonly paymentsUrl: string;
  readonly webUrl: string;
  readonly ordersDatabaseUrl: string | undefined;
  readonly paymentsDatabaseUrl: string | undefined;
  readonly amqpUrl: string | undefined;
  readonly exchange: string;
  /** Where the embedded default keeps its data. */
  readonly dataDir: string;
  /** How long outbox, inbox and idempotency rows are kept, and how often to sweep. */
  readonly retention: RetentionWindows;
  readonly retentionIntervalMs: number;
  /** Redeliveries a message may have (e.g. after crashing its consumer) before it is dead-lettered. */
  readonly maxRedeliveries: number;
}

export class ConfigError extends Error {}

const port = (env: NodeJS.ProcessEnv, name: string, fallback: number): number => {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0 || value > 65_535) {
    throw new ConfigError(`${name} must be a port number (0-65535), got "${raw}"`);
  }
  return value;
};

const text = (env: NodeJS.ProcessEnv, name: string): string | undefined => {
  const value = env[name]?.trim();
  return value ? value : undefined;
};

const hours = (env: NodeJS.ProcessEnv, name: string, fallback: number): number => {
  const raw = text(env, name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new ConfigError(`${name} must be a positive number, got "${raw}"`);
  return value;
};

const count = (env: NodeJS.ProcessEnv, name: string, fallback: number): number => {
  const raw = text(env, name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) throw new ConfigError(`${name} must be a whole number ≥ 0, got "${raw}"`);
  return value;
};

const retention = (env: NodeJS.ProcessEnv): RetentionWindows => {
  const windows = {
    outboxHours: hours(env, 'GOZON_RETENTION_OUTBOX_HOURS', defaultRetention.outboxHours),
    inboxHours: hours(env, 'GOZON_RETENTION_INBOX_HOURS', defaultRetention.inboxHours),
    idempotencyHours: hours(env, 'GOZON_RETENTION_IDEMPOTENCY_HOURS', defaultRetention.idempotencyHours),
    replayHorizonHours: hours(env, 'GOZON_REPLAY_HORIZON_HOURS', defaultRetention.replayHorizonHours),
  };
  try {
    return checkRetention(windows);
  } catch (err) {
    throw new ConfigError(err instanceof Error ? err.message : String(err));
  }
};

export const readConfig = (env: NodeJS.ProcessEnv = process.env): Config => {
  const ordersPort = port(env, 'ORDERS_PORT', 8081);
  const paymentsPort = port(env, 'PAYMENTS_PORT', 8082);
  const webPort = port(env, 'WEB_PORT', 8083);
  return {
    gatewayPort: port(env, 'GATEWAY_PORT', 8080),
    ordersPort,
    paymentsPort,
    webPort,
    ordersUrl: text(env, 'ORDERS_URL') ?? `http://127.0.0.1:${ordersPort}`,
    paymentsUrl: text(env, 'PAYMENTS_URL') ?? `http://127.0.0.1:${paymentsPort}`,
    webUrl: text(env, 'WEB_URL') ?? `http://127.0.0.1:${webPort}`,
    ordersDatabaseUrl: text(env, 'ORDERS_DATABASE_URL'),
    paymentsDatabaseUrl: text(env, 'PAYMENTS_DATABASE_URL'),
    amqpUrl: text(env, 'AMQP_URL'),
    exchange: text(env, 'AMQP_EXCHANGE') ?? 'gozon',
    dataDir: text(env, 'GOZON_DATA_DIR') ?? '.gozon-data',
    retention: retention(env),
    retentionIntervalMs: hours(env, 'GOZON_RETENTION_INTERVAL_MINUTES', 10) * 60_000,
    maxRedeliveries: count(env, 'GOZON_MAX_REDELIVERIES', DEFAULT_MAX_REDELIVERIES),
  };
};

/** The variables a part started alone cannot do without. */
export const requireVars = (config: Config, part: 'orders' | 'payments' | 'migrate'): void => {
  const missing: string[] = [];
  if ((part === 'orders' || part === 'migrate') && !config.ordersDatabaseUrl) missing.push('ORDERS_DATABASE_URL');
  if ((part === 'payments' || part === 'migrate') && !config.paymentsDatabaseUrl) missing.push('PAYMENTS_DATABASE_URL');
  if (part !== 'migrate' && !config.amqpUrl) missing.push('AMQP_URL');
  if (missing.length > 0) {
    throw new ConfigError(
      `gozon ${part} needs ${missing.join(', ')} (unset); \`gozon all\` runs without them on the embedded default`,
    );
  }
};
