import { DEFAULT_MAX_REDELIVERIES } from '@gozon/messaging';
import { checkRetention, defaultRetention, type RetentionWindows } from '@gozon/adapters/postgres';
import { userOf } from '@gozon/adapters/rabbitmq';
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
  /** Where the embedded default keeps its data. */
  readonly dataDir: string;
  /** How long outbox, inbox and idempotency rows are kept, and how often to sweep. */
  readonly retention: RetentionWindows;
  readonly retentionIntervalMs: number;
  /** Redeliveries a message may have (e.g. after crashing its consumer) before it is dead-lettered. */
  readonly maxRedeliveries: number;
  /** The gateway's origin as browsers and token holders see it (`GOZON_PUBLIC_URL`). */
  readonly publicUrl: string;
  /** Who is asking: how callers prove it. */
  readonly auth: AuthConfig;
  /** The address the gateway listens on (`HOST`); parts started by `gozon all` behind it use 127.0.0.1. */
  readonly host: string;
  /** The edge: who may set `X-Forwarded-*`, and the request budgets. */
  readonly edge: EdgeConfig;
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

/**
 * Default budgets per second, per client address and per user: flood guards above what one gateway
 * serves on a developer machine (about 2,900 req/s), so that `npm run bench` and `npm run chaos`
 * (one address, one administrator's token) pass unhindered; they bite when one caller floods
 * several gateways sharing them through Redis. A deployment sets its own.
 */
export const DEFAULT_RATE_LIMIT_PER_ADDRESS = 5_000;
export const DEFAULT_RATE_LIMIT_PER_USER = 5_000;

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

const url = (env: NodeJS.ProcessEnv, name: string): string | undefined => {
  const raw = text(env, name);
  if (raw === undefined) return undefined;
  try {
    const parsed = new URL(raw);
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new Error('not http');
  } catch {
    throw new ConfigError(`${name} must be an http(s) URL, got "${raw}"`);
  }
  return raw.replace(/\/+$/, '');
};

const auth = (env: NodeJS.ProcessEnv, publicUrl: string, gatewayPort: number): AuthConfig => {
  const mode = text(env, 'GOZON_AUTH') ?? 'oidc';
  if (mode !== 'oidc' && mode !== 'none') throw new ConfigError(`GOZON_AUTH must be oidc or none, got "${mode}"`);
  const external = url(env, 'OIDC_ISSUER');
  const clientId = text(env, 'OIDC_CLIENT_ID');
  return {
    mode,
    issuer: external ?? `${publicUrl}/auth`,
    builtIn: external === undefined,
    audience: text(env, 'OIDC_AUDIENCE') ?? 'gozon',
    userClaim: text(env, 'OIDC_USER_CLAIM') ?? 'sub',
    jwksUrl: url(env, 'OIDC_JWKS_URL') ?? (external ? undefined : `http://127.0.0.1:${gatewayPort}/auth/jwks`),
    client: clientId ? { id: clientId, secret: text(env, 'OIDC_CLIENT_SECRET') } : undefined,
  };
};

const edge = (env: NodeJS.ProcessEnv): EdgeConfig => {
  const redisUrl = text(env, 'REDIS_URL');
  if (redisUrl !== undefined && !/^rediss?:\/\//.test(redisUrl)) {
    throw new ConfigError(`REDIS_URL must be a redis:// or rediss:// URL, got "${redisUrl}"`);
  }
  const windowSeconds = count(env, 'GOZON_RATE_LIMIT_WINDOW_SECONDS', 1);
  if (windowSeconds === 0) throw new ConfigError('GOZON_RATE_LIMIT_WINDOW_SECONDS must be at least 1');
  return {
    trustedProxies: new Set(
      (text(env, 'TRUST_PROXY') ?? '')
        .split(',')
        .map((a) => a.trim())
        .filter(Boolean),
    ),
    redisUrl,
    perAddress: count(env, 'GOZON_RATE_LIMIT_PER_ADDRESS', DEFAULT_RATE_LIMIT_PER_ADDRESS),
    perUser: count(env, 'GOZON_RATE_LIMIT_PER_USER', DEFAULT_RATE_LIMIT_PER_USER),
    windowSeconds,
  };
};

/** `<NAME>_AMQP_USER`, else the user its `<NAME>_AMQP_URL` (or `AMQP_URL`) logs in as. */
const amqpUser = (env: NodeJS.ProcessEnv, name: string, url: string | undefined): string | undefined => {
  const explicit = text(env, name);
  if (explicit !== undefined || url === undefined) return explicit;
  try {
    return userOf(url);
  } catch {
    throw new ConfigError(`${name.replace(/_USER$/, '_URL')} (or AMQP_URL) is not a URL`);
  }
};

export const readConfig = (env: NodeJS.ProcessEnv = process.env): Config => {
  const gatewayPort = port(env, 'GATEWAY_PORT', 8080);
  const publicUrl = url(env, 'GOZON_PUBLIC_URL') ?? `http://localhost:${gatewayPort}`;
  const amqpUrl = text(env, 'AMQP_URL');
  const ordersPort = port(env, 'ORDERS_PORT', 8081);
  const paymentsPort = port(env, 'PAYMENTS_PORT', 8082);
  const webPort = port(env, 'WEB_PORT', 8083);
  const ordersAmqpUrl = text(env, 'ORDERS_AMQP_URL') ?? amqpUrl;
  const paymentsAmqpUrl = text(env, 'PAYMENTS_AMQP_URL') ?? amqpUrl;
  return {
    gatewayPort,
    ordersPort,
    paymentsPort,
    webPort,
    ordersUrl: text(env, 'ORDERS_URL') ?? `http://127.0.0.1:${ordersPort}`,
    paymentsUrl: text(env, 'PAYMENTS_URL') ?? `http://127.0.0.1:${paymentsPort}`,
    webUrl: text(env, 'WEB_URL') ?? `http://127.0.0.1:${webPort}`,
    ordersDatabaseUrl: text(env, 'ORDERS_DATABASE_URL'),
    paymentsDatabaseUrl: text(env, 'PAYMENTS_DATABASE_URL'),
    amqpUrl,
    ordersAmqpUrl,
    paymentsAmqpUrl,
    ordersAmqpUser: amqpUser(env, 'ORDERS_AMQP_USER', ordersAmqpUrl),
    paymentsAmqpUser: amqpUser(env, 'PAYMENTS_AMQP_USER', paymentsAmqpUrl),
    exchange: text(env, 'AMQP_EXCHANGE') ?? 'gozon',
    dataDir: text(env, 'GOZON_DATA_DIR') ?? '.gozon-data',
    retention: retention(env),
    retentionIntervalMs: hours(env, 'GOZON_RETENTION_INTERVAL_MINUTES', 10) * 60_000,
    maxRedeliveries: count(env, 'GOZON_MAX_REDELIVERIES', DEFAULT_MAX_REDELIVERIES),
    publicUrl,
    auth: auth(env, publicUrl, gatewayPort),
    host: text(env, 'HOST') ?? '0.0.0.0',
    edge: edge(env),
  };
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
