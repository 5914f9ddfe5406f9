import { trace } from '@opentelemetry/api';
import type { Logger } from 'pino';
import type { BuiltInProvider } from '../auth/built-in-provider.js';
import { identityFor } from '../auth/identity.js';
import { OidcRelyingParty } from '../auth/relying-party.js';
import { SESSION_PREFIX, sessionRoutes, sessionRoutesWithoutAuth } from '../auth/session.js';
import { MemorySessionStore } from '../auth/session-store.js';
import { sessionToBearer } from '../auth/session-to-bearer.js';
import type { Config } from '../config.js';
import { createGatewayApp, gatewayRoute, type GatewayExtras, type Upstreams } from '../gateway/gateway-app.js';
import { GatewayRateLimits } from '../gateway/rate-limits.js';
import { requestTelemetry } from '../observability/request-telemetry.js';
import { createWebApp, webRoot, webRoute } from '../web/web-app.js';
import { HttpServer } from './http-server.js';
import type { Part } from './service-part.js';

/** The gateway exactly as `gozon gateway` runs it: identity, proxy, telemetry, request log lines. */
export const gatewayApp = (
  upstreams: Upstreams,
  log: Logger,
  extras: GatewayExtras = {},
): ReturnType<typeof createGatewayApp> =>
  createGatewayApp(
    upstreams,
    requestTelemetry({
      log: log.child({ service: 'gateway' }),
      tracer: trace.getTracer('gozon.gateway'),
      route: gatewayRoute,
      forward: true,
    }),
    undefined,
    extras,
  );

/** The web page's client at the provider: the built-in provider's own, or `OIDC_CLIENT_ID`'s. */
type WebClient = { readonly clientId: string; readonly clientSecret: string | undefined } | undefined;

/**
 * The browser sign-in (backend-for-frontend) at `/session`, and the step that turns its cookie
 * into a bearer token before the token check. With `GOZON_AUTH=none`, `/session` only says so.
 */
export const browserSessions = (config: Config, log: Logger, webClient: WebClient): GatewayExtras => {
  if (config.auth.mode === 'none') return { own: [{ prefix: SESSION_PREFIX, handle: sessionRoutesWithoutAuth() }] };
  const store = new MemorySessionStore();
  const redirectUri = `${config.publicUrl}${SESSION_PREFIX}/callback`;
  const relyingParty =
    webClient &&
    new OidcRelyingParty({
      issuer: config.auth.issuer,
      ...webClient,
      redirectUri,
      // The built-in provider lives in this process: reach it here, not through the public address.
      reachIssuerAt: config.auth.builtIn
        ? `http://127.0.0.1:${config.gatewayPort}${new URL(config.auth.issuer).pathname}`
        : undefined,
    });
  const handle = sessionRoutes({
    store,
    relyingParty,
    redirectUri,
    userClaim: config.auth.userClaim,
    secure: config.publicUrl.startsWith('https:'),
    log: log.child({ service: 'gateway' }),
  });
  return { own: [{ prefix: SESSION_PREFIX, handle }], api: [sessionToBearer(store)] };
};

/** The built-in OpenID provider at `/auth`, when identity is on and no external issuer is set. */
const builtInProvider = async (config: Config, log: Logger): Promise<BuiltInProvider | undefined> => {
  if (config.auth.mode !== 'oidc' || !config.auth.builtIn) return undefined;
  // Loaded only here: the provider library is not needed when identity comes from elsewhere.
  const { BuiltInProvider, builtInProviderOptions } = await import('../auth/built-in-provider.js');
  const provider = await BuiltInProvider.open({
    ...builtInProviderOptions(config),
    onServerError: (err) => log.error({ err }, 'auth: the built-in provider failed a request'),
  });
  log.info(`gateway: built-in OpenID provider at ${config.auth.issuer} (development sign-in: any user name)`);
  return provider;
};

/** The request budgets, shared through Redis when `REDIS_URL` is set; one line says which. */
const rateLimits = (config: Config, log: Logger): GatewayRateLimits => {
  const { perAddress, perUser, windowSeconds, redisUrl } = config.edge;
  const where = redisUrl ? 'shared through Redis' : 'in memory, this gateway alone';
  log.info(
    `gateway: rate limits per ${windowSeconds} s: ${perAddress || 'unlimited'} per client address, ${perUser || 'unlimited'} per user; ${where}`,
  );
  return GatewayRateLimits.open({ perAddress, perUser, windowSeconds, redisUrl }, log.child({ service: 'gateway' }));
};

export const startGateway = async (config: Config, log: Logger): Promise<Part> => {
  const provider = await builtInProvider(config, log);
  const client = config.auth.client;
  const webClient = provider?.webClient ?? (client && { clientId: client.id, clientSecret: client.secret });
  const sessions = browserSessions(config, log, webClient);
  const providerPath = provider && { prefix: new URL(config.auth.issuer).pathname, handle: provider.middleware };
  const own = [...(providerPath ? [providerPath] : []), ...(sessions.own ?? [])];
  // The gateway refuses a request without a valid token before it reaches a service (which checks again);
  // a browser's session has become its token just before.
  const identity = identityFor(config.auth, 'gateway', log);
  const api = [...(sessions.api ?? []), identity.authenticate];
  const limits = rateLimits(config, log);
  // Shared budgets count in Redis from the first request on (a request before it answers counts in memory).
  await limits.ready();
  const edge = { trustedProxies: config.edge.trustedProxies, byAddress: limits.byAddress, byUser: limits.byUser };
  const { app, agent } = gatewayApp(config, log, { own, api, edge });
  const server = new HttpServer(app.callback(), config.gatewayPort, config.host);
  const port = await server.start();
  log.info(
    `gateway: listening on ${config.host}:${port}; /orders* → ${config.ordersUrl}, /payments* → ${config.paymentsUrl}, else → ${config.webUrl}`,
  );
  return {
    name: 'gateway',
    port,
    stop: async () => {
      await server.stop();
      agent.destroy();
      identity.stop();
      await limits.close();
      log.info('gateway: stopped');
    },
  };
};

/** The web part; `host` 127.0.0.1 when it runs behind the gateway in the same process. */
export const startWeb = async (config: Config, log: Logger, host?: string): Promise<Part> => {
  const telemetry = requestTelemetry({
    log: log.child({ service: 'web' }),
    tracer: trace.getTracer('gozon.web'),
    route: webRoute,
  });
  const server = new HttpServer(createWebApp(webRoot(), telemetry).callback(), config.webPort, host);
  const port = await server.start();
  log.info(`web: listening on ${host ?? '0.0.0.0'}:${port}; static files from packages/web/public`);
  return {
    name: 'web',
    port,
    stop: async () => {
      await server.stop();
      log.info('web: stopped');
    },
  };
};
