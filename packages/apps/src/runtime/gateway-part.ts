import { trace } from '@opentelemetry/api';
import type { Logger } from 'pino';
import { identityFor } from '../auth/identity.js';
import type { Config } from '../config.js';
import { createGatewayApp, gatewayRoute, type GatewayExtras, type Upstreams } from '../gateway/gateway-app.js';
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

/** The built-in OpenID provider at `/auth`, when identity is on and no external issuer is set. */
const ownPaths = async (config: Config, log: Logger): Promise<GatewayExtras['own']> => {
  if (config.auth.mode !== 'oidc' || !config.auth.builtIn) return [];
  // Loaded only here: the provider library is not needed when identity comes from elsewhere.
  const { BuiltInProvider, builtInProviderOptions } = await import('../auth/built-in-provider.js');
  const provider = await BuiltInProvider.open({
    ...builtInProviderOptions(config),
    onServerError: (err) => log.error({ err }, 'auth: the built-in provider failed a request'),
  });
  log.info(`gateway: built-in OpenID provider at ${config.auth.issuer} (development sign-in: any user name)`);
  return [{ prefix: new URL(config.auth.issuer).pathname, handle: provider.middleware }];
};

export const startGateway = async (config: Config, log: Logger): Promise<Part> => {
  // The gateway refuses a request without a valid token before it reaches a service (which checks again).
  const identity = identityFor(config.auth, 'gateway', log);
  const { app, agent } = gatewayApp(config, log, { own: await ownPaths(config, log), api: [identity.authenticate] });
  const server = new HttpServer(app.callback(), config.gatewayPort);
  const port = await server.start();
  log.info(
    `gateway: listening on :${port}; /orders* → ${config.ordersUrl}, /payments* → ${config.paymentsUrl}, else → ${config.webUrl}`,
  );
  return {
    name: 'gateway',
    port,
    stop: async () => {
      await server.stop();
      agent.destroy();
      identity.stop();
      log.info('gateway: stopped');
    },
  };
};

export const startWeb = async (config: Config, log: Logger): Promise<Part> => {
  const telemetry = requestTelemetry({
    log: log.child({ service: 'web' }),
    tracer: trace.getTracer('gozon.web'),
    route: webRoute,
  });
  const server = new HttpServer(createWebApp(webRoot(), telemetry).callback(), config.webPort);
  const port = await server.start();
  log.info(`web: listening on :${port}; static files from packages/web/public`);
  return {
    name: 'web',
    port,
    stop: async () => {
      await server.stop();
      log.info('web: stopped');
    },
  };
};
