import { trace } from '@opentelemetry/api';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { createGatewayApp, gatewayRoute, type Upstreams } from '../gateway/gateway-app.js';
import { requestTelemetry } from '../observability/request-telemetry.js';
import { createWebApp, webRoot, webRoute } from '../web/web-app.js';
import { HttpServer } from './http-server.js';
import type { Part } from './service-part.js';

/** The gateway exactly as `gozon gateway` runs it: proxy, telemetry, request log lines. */
export const gatewayApp = (upstreams: Upstreams, log: Logger): ReturnType<typeof createGatewayApp> =>
  createGatewayApp(
    upstreams,
    requestTelemetry({
      log: log.child({ service: 'gateway' }),
      tracer: trace.getTracer('gozon.gateway'),
      route: gatewayRoute,
      forward: true,
    }),
  );

export const startGateway = async (config: Config, log: Logger): Promise<Part> => {
  const { app, agent } = gatewayApp(config, log);
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
