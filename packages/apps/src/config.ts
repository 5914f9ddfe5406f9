import { parseKeyPairsIntoRecord } from '@opentelemetry/core';
import { checkRetention, type RetentionWindows } from '@gozon/adapters/postgres';
import { userOf } from '@gozon/adapters/rabbitmq';
import { parseEnv, type Env, type LogLevel } from './env.js';
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
  /** Each service's own broker connection (its own RabbitMQ user), falling back to `AMQP_URL`. */
  readonly ordersAmqpUrl: string | undefined;
  readonly paymentsAmqpUrl: string | undefined;
  /**
   * The RabbitMQ user each service publishes as, which the other service expects as the sender of
   * its queue (`ORDERS_AMQP_USER`, `PAYMENTS_AMQP_USER`; default: the user of that service's URL).
   */
  readonly ordersAmqpUser: string | undefined;
  readonly paymentsAmqpUser: string | undefined;
  readonly exchange: string;
  /** `AMQP_QUEUE_TYPE`: classic queues, or quorum queues replicated across a cluster. */
  readonly queueType: 'classic' | 'quorum';
  /** Where the embedded default keeps its data. */
  readonly dataDir: string;
  /** How long outbox, inbox and idempotency rows are kept, and how often to sweep. */
  readonly retention: RetentionWindows;
  readonly retentionIntervalMs: number;
  /** Redeliveries a message may have (e.g. after crashing its consumer) before it is dead-lettered. */
  readonly maxRedeliveries: number;
  /** How long an order may stay NEW before its payment is asked for again (`GOZON_RECONCILE_AFTER_SECONDS`). */
  readonly reconcileAfterMs: number;
  /** The gateway's origin as browsers and token holders see it (`GOZON_PUBLIC_URL`). */
  readonly publicUrl: string;
  /** Who is asking: how callers prove it. */
  readonly auth: AuthConfig;
  /** The address the gateway listens on (`HOST`); parts started by `gozon all` behind it use 127.0.0.1. */
  readonly host: string;
  /** The edge: who may set `X-Forwarded-*`, and the request budgets. */
  readonly edge: EdgeConfig;
  /** The lowest level logged (`LOG_LEVEL`). */
  readonly logLevel: LogLevel;
  /** Where spans are exported, if anywhere (`OTEL_*`). */
  readonly tracing: TracingConfig;
}

/** The gateway as the public edge. */
export interface EdgeConfig {
  /**
   * Addresses of load balancers in front of the gateway (`TRUST_PROXY`, comma-separated): their
   * `X-Forwarded-*` are believed and name the client; anyone else's are replaced.
   */
  readonly trustedProxies: ReadonlySet<string>;
  /** Shares the request budgets among gateways (`REDIS_URL`); unset, each counts alone in memory. */
  readonly redisUrl: string | undefined;
  /** Requests per window one client address may send (`GOZON_RATE_LIMIT_PER_ADDRESS`; 0: none). */
  readonly perAddress: number;
  /** Requests per window one signed-in user may send (`GOZON_RATE_LIMIT_PER_USER`; 0: none). */
  readonly perUser: number;
  /** The window of the budgets, in seconds (`GOZON_RATE_LIMIT_WINDOW_SECONDS`). */
  readonly windowSeconds: number;
}

export { DEFAULT_RATE_LIMIT_PER_ADDRESS, DEFAULT_RATE_LIMIT_PER_USER } from './env.js';

/** How requests prove who is asking (see the contract's "Identity"). */
export interface AuthConfig {
  /** `oidc` (the default) or `none`: no identity, for a trusted network only. */
  readonly mode: 'oidc' | 'none';
  /** The issuer tokens must come from: `OIDC_ISSUER`, or the built-in provider at `<publicUrl>/auth`. */
  readonly issuer: string;
  /** Whether the gateway hosts the built-in provider (`OIDC_ISSUER` unset). */
  readonly builtIn: boolean;
  /** The `aud` a token must carry (`OIDC_AUDIENCE`). */
  readonly audience: string;
  /** The claim that names the user (`OIDC_USER_CLAIM`). */
  readonly userClaim: string;
  /**
   * Where the signing keys are fetched (`OIDC_JWKS_URL`); unset, from the issuer's discovery
   * document. With the built-in provider the default reaches the gateway on this machine.
   */
  readonly jwksUrl: string | undefined;
  /**
   * The web page's client at an external issuer (`OIDC_CLIENT_ID`, `OIDC_CLIENT_SECRET`), used by the
   * gateway's sign-in for browsers; unset with the built-in provider, which brings its own.
   */
  readonly client: { readonly id: string; readonly secret: string | undefined } | undefined;
}

export class ConfigError extends Error {}

/** Where spans go: the OTLP exporter's standard variables, read once with the others. */
export interface TracingConfig {
  /** The traces endpoint (`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, else `…_ENDPOINT` + `/v1/traces`); unset: no export. */
  readonly endpoint: string | undefined;
  readonly serviceName: string | undefined;
  readonly headers: Readonly<Record<string, string>>;
  readonly timeoutMillis: number | undefined;
  readonly compression: 'none' | 'gzip' | undefined;
}

/** As the OpenTelemetry specification says: the generic endpoint is a base the signal's path goes under. */
const tracing = (env: Env): TracingConfig => {
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT;
  return {
    endpoint: env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? (base ? `${base.replace(/\/+$/, '')}/v1/traces` : undefined),
    serviceName: env.OTEL_SERVICE_NAME,
    // The specific headers add to the generic ones, and win where both name one.
    headers: {
      ...parseKeyPairsIntoRecord(env.OTEL_EXPORTER_OTLP_HEADERS),
      ...parseKeyPairsIntoRecord(env.OTEL_EXPORTER_OTLP_TRACES_HEADERS),
    },
    timeoutMillis: env.OTEL_EXPORTER_OTLP_TRACES_TIMEOUT ?? env.OTEL_EXPORTER_OTLP_TIMEOUT,
    compression: env.OTEL_EXPORTER_OTLP_TRACES_COMPRESSION ?? env.OTEL_EXPORTER_OTLP_COMPRESSION,
  };
};

const retention = (env: Env): RetentionWindows => {
  try {
    return checkRetention({
      outboxHours: env.GOZON_RETENTION_OUTBOX_HOURS,
      inboxHours: env.GOZON_RETENTION_INBOX_HOURS,
      idempotencyHours: env.GOZON_RETENTION_IDEMPOTENCY_HOURS,
      replayHorizonHours: env.GOZON_REPLAY_HORIZON_HOURS,
    });
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new ConfigError(`GOZON_RETENTION_*_HOURS and GOZON_REPLAY_HORIZON_HOURS: ${reason}`);
  }
};

const withoutTrailingSlash = (url: string | undefined): string | undefined => url?.replace(/\/+$/, '');

const auth = (env: Env, publicUrl: string): AuthConfig => {
  const external = withoutTrailingSlash(env.OIDC_ISSUER);
  const clientId = env.OIDC_CLIENT_ID;
  return {
    mode: env.GOZON_AUTH,
    issuer: external ?? `${publicUrl}/auth`,
    builtIn: external === undefined,
    audience: env.OIDC_AUDIENCE ?? 'gozon',
    userClaim: env.OIDC_USER_CLAIM ?? 'sub',
    jwksUrl:
      withoutTrailingSlash(env.OIDC_JWKS_URL) ??
      (external ? undefined : `http://127.0.0.1:${env.GATEWAY_PORT}/auth/jwks`),
    client: clientId ? { id: clientId, secret: env.OIDC_CLIENT_SECRET } : undefined,
  };
};

const edge = (env: Env): EdgeConfig => ({
  trustedProxies: new Set(
    (env.TRUST_PROXY ?? '')
      .split(',')
      .map((address) => address.trim())
      .filter(Boolean),
  ),
  redisUrl: env.REDIS_URL,
  perAddress: env.GOZON_RATE_LIMIT_PER_ADDRESS,
  perUser: env.GOZON_RATE_LIMIT_PER_USER,
  windowSeconds: env.GOZON_RATE_LIMIT_WINDOW_SECONDS,
});

/** `<NAME>_AMQP_USER`, else the user its `<NAME>_AMQP_URL` (or `AMQP_URL`) logs in as. */
const amqpUser = (explicit: string | undefined, url: string | undefined): string | undefined => {
  if (url === undefined) return explicit;
  try {
    const user = userOf(url);
    return explicit ?? user;
  } catch (err) {
    throw new ConfigError(err instanceof Error ? err.message : String(err));
  }
};

/** The environment read once, checked against `envSchema`; a refused value is a `ConfigError`. */
export const readConfig = (variables: NodeJS.ProcessEnv = process.env): Config => {
  const parsed = parseEnv(variables);
  if ('refusal' in parsed) throw new ConfigError(parsed.refusal);
  const { env } = parsed;
  const publicUrl = withoutTrailingSlash(env.GOZON_PUBLIC_URL) ?? `http://localhost:${env.GATEWAY_PORT}`;
  const ordersAmqpUrl = env.ORDERS_AMQP_URL ?? env.AMQP_URL;
  const paymentsAmqpUrl = env.PAYMENTS_AMQP_URL ?? env.AMQP_URL;
  return {
    gatewayPort: env.GATEWAY_PORT,
    ordersPort: env.ORDERS_PORT,
    paymentsPort: env.PAYMENTS_PORT,
    webPort: env.WEB_PORT,
    ordersUrl: env.ORDERS_URL ?? `http://127.0.0.1:${env.ORDERS_PORT}`,
    paymentsUrl: env.PAYMENTS_URL ?? `http://127.0.0.1:${env.PAYMENTS_PORT}`,
    webUrl: env.WEB_URL ?? `http://127.0.0.1:${env.WEB_PORT}`,
    ordersDatabaseUrl: env.ORDERS_DATABASE_URL,
    paymentsDatabaseUrl: env.PAYMENTS_DATABASE_URL,
    amqpUrl: env.AMQP_URL,
    ordersAmqpUrl,
    paymentsAmqpUrl,
    ordersAmqpUser: amqpUser(env.ORDERS_AMQP_USER, ordersAmqpUrl),
    paymentsAmqpUser: amqpUser(env.PAYMENTS_AMQP_USER, paymentsAmqpUrl),
    exchange: env.AMQP_EXCHANGE ?? 'gozon',
    queueType: env.AMQP_QUEUE_TYPE,
    dataDir: env.GOZON_DATA_DIR ?? '.gozon-data',
    retention: retention(env),
    retentionIntervalMs: env.GOZON_RETENTION_INTERVAL_MINUTES * 60_000,
    maxRedeliveries: env.GOZON_MAX_REDELIVERIES,
    reconcileAfterMs: env.GOZON_RECONCILE_AFTER_SECONDS * 1_000,
    publicUrl,
    auth: auth(env, publicUrl),
    host: env.HOST ?? '0.0.0.0',
    edge: edge(env),
    logLevel: env.LOG_LEVEL,
    tracing: tracing(env),
  };
};

/**
 * The configuration of this process, or, on a refused value, its one line on stderr and exit
 * status 1 (as any configuration a part cannot start with): no stack trace for a typo.
 */
export const configOrExit = (variables: NodeJS.ProcessEnv = process.env): Config => {
  try {
    return readConfig(variables);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    console.error(`gozon: ${err.message}`);
    process.exit(1);
  }
};

/** The variables a part started alone cannot do without. */
export const requireVars = (config: Config, part: 'orders' | 'payments' | 'migrate'): void => {
  const missing: string[] = [];
  if ((part === 'orders' || part === 'migrate') && !config.ordersDatabaseUrl) missing.push('ORDERS_DATABASE_URL');
  if ((part === 'payments' || part === 'migrate') && !config.paymentsDatabaseUrl) missing.push('PAYMENTS_DATABASE_URL');
  if (part === 'orders' && !config.ordersAmqpUrl) missing.push('ORDERS_AMQP_URL or AMQP_URL');
  if (part === 'payments' && !config.paymentsAmqpUrl) missing.push('PAYMENTS_AMQP_URL or AMQP_URL');
  if (missing.length > 0) {
    throw new ConfigError(
      `gozon ${part} needs ${missing.join(', ')} (unset); \`gozon all\` runs without them on the embedded default`,
    );
  }
};
