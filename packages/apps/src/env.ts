import { isIP } from 'node:net';
import { DEFAULT_MAX_REDELIVERIES } from '@gozon/messaging';
import { defaultRetention } from '@gozon/adapters/postgres';
import { defaultReconcilePolicy } from '@gozon/core';
import { z } from 'zod';

/**
 * Every environment variable a GoZon process reads, with its accepted form and default: the one
 * place that knows them (`scripts/check-compose.mjs` reads the names from here). A value that is
 * blank counts as unset, as an empty `environment:` entry in a compose file does.
 */

/** What a variable accepts, for the line that refuses it; a secret's value is never repeated. */
interface Expectation {
  readonly expects: string;
  readonly secret?: boolean;
}

const blankIsUnset = (value: unknown): unknown => {
  if (typeof value !== 'string') return value;
  const trimmed = value.trim();
  return trimmed === '' ? undefined : trimmed;
};

const variable = <T extends z.ZodType>(schema: T, expectation: Expectation) =>
  z.preprocess(blankIsUnset, schema).meta({ ...expectation });

const protocolIs =
  (...protocols: string[]) =>
  (value: string): boolean =>
    URL.canParse(value) && protocols.includes(new URL(value).protocol);

const text = () => variable(z.string().optional(), { expects: 'text' });
const port = (fallback: number) =>
  variable(z.coerce.number().int().min(0).max(65_535).default(fallback), { expects: 'a port number (0-65535)' });
const count = (fallback: number) =>
  variable(z.coerce.number().int().min(0).default(fallback), { expects: 'a whole number ≥ 0' });
const positive = (fallback: number, unit: string) =>
  variable(z.coerce.number().positive().default(fallback), { expects: `a positive number of ${unit}` });
const httpUrl = (secret = false) =>
  variable(z.string().refine(protocolIs('http:', 'https:')).optional(), { expects: 'an http(s) URL', secret });
const postgresUrl = () =>
  variable(z.string().refine(protocolIs('postgres:', 'postgresql:')).optional(), {
    expects: 'a postgres:// URL',
    secret: true,
  });
/** Several RabbitMQ nodes may be listed, comma-separated (see the contract's "Beyond one machine"). */
const amqpUrls = () =>
  variable(
    z
      .string()
      .refine((value) => value.split(',').every((node) => protocolIs('amqp:', 'amqps:')(node.trim())))
      .optional(),
    { expects: 'an amqp:// URL, or several separated by commas', secret: true },
  );
const oneOf = <const T extends readonly [string, ...string[]]>(values: T, fallback: T[number]) =>
  variable(z.enum(values).default(fallback), { expects: `one of ${values.join(', ')}` });
/** `key=value` pairs separated by commas, as the OpenTelemetry specification writes headers. */
const headers = () =>
  variable(
    z
      .string()
      .refine((value) => value.split(',').every((pair) => /^[^=\s][^=]*=/.test(pair.trim())))
      .optional(),
    { expects: 'key=value pairs separated by commas', secret: true },
  );

/**
 * Default budgets per second, per client address and per user: flood guards above what one gateway
 * serves on a developer machine (about 2,900 req/s), so that `npm run bench` and `npm run chaos`
 * (one address, one administrator's token) pass unhindered; they bite when one caller floods
 * several gateways sharing them through Redis. A deployment sets its own.
 */
export const DEFAULT_RATE_LIMIT_PER_ADDRESS = 5_000;
export const DEFAULT_RATE_LIMIT_PER_USER = 5_000;

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export const envSchema = z.object({
  GATEWAY_PORT: port(8080),
  ORDERS_PORT: port(8081),
  PAYMENTS_PORT: port(8082),
  WEB_PORT: port(8083),
  HOST: text(),
  ORDERS_URL: httpUrl(),
  PAYMENTS_URL: httpUrl(),
  WEB_URL: httpUrl(),
  ORDERS_DATABASE_URL: postgresUrl(),
  PAYMENTS_DATABASE_URL: postgresUrl(),
  AMQP_URL: amqpUrls(),
  ORDERS_AMQP_URL: amqpUrls(),
  PAYMENTS_AMQP_URL: amqpUrls(),
  ORDERS_AMQP_USER: text(),
  PAYMENTS_AMQP_USER: text(),
  AMQP_EXCHANGE: text(),
  AMQP_QUEUE_TYPE: oneOf(['classic', 'quorum'], 'classic'),
  GOZON_DATA_DIR: text(),
  GOZON_RETENTION_OUTBOX_HOURS: positive(defaultRetention.outboxHours, 'hours'),
  GOZON_RETENTION_INBOX_HOURS: positive(defaultRetention.inboxHours, 'hours'),
  GOZON_RETENTION_IDEMPOTENCY_HOURS: positive(defaultRetention.idempotencyHours, 'hours'),
  GOZON_REPLAY_HORIZON_HOURS: positive(defaultRetention.replayHorizonHours, 'hours'),
  GOZON_RETENTION_INTERVAL_MINUTES: positive(10, 'minutes'),
  GOZON_MAX_REDELIVERIES: count(DEFAULT_MAX_REDELIVERIES),
  GOZON_RECONCILE_AFTER_SECONDS: positive(defaultReconcilePolicy.afterMs / 1_000, 'seconds'),
  GOZON_PUBLIC_URL: httpUrl(),
  GOZON_AUTH: oneOf(['oidc', 'none'], 'oidc'),
  OIDC_ISSUER: httpUrl(),
  OIDC_AUDIENCE: text(),
  OIDC_USER_CLAIM: text(),
  OIDC_JWKS_URL: httpUrl(),
  OIDC_CLIENT_ID: text(),
  OIDC_CLIENT_SECRET: variable(z.string().optional(), { expects: 'text', secret: true }),
  TRUST_PROXY: variable(
    z
      .string()
      .refine((value) => value.split(',').every((address) => isIP(address.trim()) !== 0))
      .optional(),
    { expects: 'IP addresses separated by commas' },
  ),
  REDIS_URL: variable(z.string().refine(protocolIs('redis:', 'rediss:')).optional(), {
    expects: 'a redis:// or rediss:// URL',
    secret: true,
  }),
  GOZON_RATE_LIMIT_PER_ADDRESS: count(DEFAULT_RATE_LIMIT_PER_ADDRESS),
  GOZON_RATE_LIMIT_PER_USER: count(DEFAULT_RATE_LIMIT_PER_USER),
  GOZON_RATE_LIMIT_WINDOW_SECONDS: variable(z.coerce.number().int().min(1).default(1), {
    expects: 'a whole number of seconds, at least 1',
  }),
  LOG_LEVEL: oneOf(LOG_LEVELS, 'info'),
  // The OTLP exporter's standard variables: endpoints and headers may carry credentials.
  OTEL_SERVICE_NAME: text(),
  OTEL_EXPORTER_OTLP_ENDPOINT: httpUrl(true),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: httpUrl(true),
  OTEL_EXPORTER_OTLP_HEADERS: headers(),
  OTEL_EXPORTER_OTLP_TRACES_HEADERS: headers(),
  OTEL_EXPORTER_OTLP_TIMEOUT: variable(z.coerce.number().int().positive().optional(), {
    expects: 'a positive whole number of milliseconds',
  }),
  OTEL_EXPORTER_OTLP_TRACES_TIMEOUT: variable(z.coerce.number().int().positive().optional(), {
    expects: 'a positive whole number of milliseconds',
  }),
  OTEL_EXPORTER_OTLP_COMPRESSION: variable(z.enum(['none', 'gzip']).optional(), { expects: 'one of none, gzip' }),
  OTEL_EXPORTER_OTLP_TRACES_COMPRESSION: variable(z.enum(['none', 'gzip']).optional(), {
    expects: 'one of none, gzip',
  }),
});

export type Env = z.infer<typeof envSchema>;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** How a refused value is shown: quoted, or for a secret only what kind of thing it is. */
const shown = (value: unknown, secret: boolean): string => {
  const raw = String(value);
  if (!secret) return JSON.stringify(raw);
  const first = raw.split(',')[0]!.trim();
  return URL.canParse(first)
    ? `a URL with scheme "${new URL(first).protocol}" (the rest is not shown: it may hold a secret)`
    : `${raw.length} characters (not shown: they may hold a secret)`;
};

/**
 * Parses the environment, or answers one line that names each refused variable, what it expects
 * and what it got.
 */
export const parseEnv = (env: NodeJS.ProcessEnv): { env: Env } | { refusal: string } => {
  const result = envSchema.safeParse(env);
  if (result.success) return { env: result.data };
  const names = [...new Set(result.error.issues.map((issue) => String(issue.path[0])))];
  const lines = names.map((name) => {
    const field = envSchema.shape[name as keyof Env];
    const { expects, secret } = (field.meta() ?? {}) as Partial<Expectation>;
    return `${name} must be ${expects ?? 'valid'}, got ${shown(env[name], secret === true)}`;
  });
  return { refusal: lines.join('; ') };
};
