// The rules for a service that runs GoZon: its command, its variables and where its URLs point.
import { backendAt } from './haproxy.mjs';
import { commandOf, dependsOf, PORT_VARS } from './view.mjs';

/**
 * The variables of the public contract (CONTRACT.md: processes, upstreams, infrastructure, identity,
 * beyond one machine; and the gateway's edge variables the README documents).
 */
const CONTRACT_VARS = [
  'GATEWAY_PORT',
  'ORDERS_PORT',
  'PAYMENTS_PORT',
  'WEB_PORT',
  'ORDERS_URL',
  'PAYMENTS_URL',
  'WEB_URL',
  'ORDERS_DATABASE_URL',
  'PAYMENTS_DATABASE_URL',
  'AMQP_URL',
  'ORDERS_AMQP_URL',
  'PAYMENTS_AMQP_URL',
  'ORDERS_AMQP_USER',
  'PAYMENTS_AMQP_USER',
  'AMQP_EXCHANGE',
  'AMQP_QUEUE_TYPE',
  'GOZON_AUTH',
  'GOZON_PUBLIC_URL',
  'OIDC_ISSUER',
  'OIDC_AUDIENCE',
  'OIDC_USER_CLAIM',
  'OIDC_JWKS_URL',
  'OIDC_CLIENT_ID',
  'OIDC_CLIENT_SECRET',
  'TRUST_PROXY',
  'REDIS_URL',
];
/**
 * In the contract ("Beyond one machine") before GoZon reads them: allowed in the file, and
 * `check:compose` notes each one that packages/apps/src/env.ts does not read yet.
 */
export const ANNOUNCED_VARS = ['AMQP_QUEUE_TYPE'];
/** What each part cannot do without in compose (the defaults point at 127.0.0.1 or PGlite); `A|B`: either. */
const NEEDS = {
  orders: ['ORDERS_DATABASE_URL', 'ORDERS_AMQP_URL|AMQP_URL'],
  payments: ['PAYMENTS_DATABASE_URL', 'PAYMENTS_AMQP_URL|AMQP_URL'],
  migrate: ['ORDERS_DATABASE_URL', 'PAYMENTS_DATABASE_URL'],
  gateway: ['ORDERS_URL', 'PAYMENTS_URL', 'WEB_URL'],
  web: [],
  all: [],
};
/** Infrastructure URLs: the scheme they need and the image of the service they must point at. */
const INFRASTRUCTURE = {
  ORDERS_DATABASE_URL: ['postgres:', 'postgres'],
  PAYMENTS_DATABASE_URL: ['postgres:', 'postgres'],
  AMQP_URL: ['amqp:', 'rabbitmq'],
  ORDERS_AMQP_URL: ['amqp:', 'rabbitmq'],
  PAYMENTS_AMQP_URL: ['amqp:', 'rabbitmq'],
  REDIS_URL: ['redis:', 'redis'],
};
/** The variables that may list several RabbitMQ nodes, comma-separated. */
const NODE_LISTS = ['AMQP_URL', 'ORDERS_AMQP_URL', 'PAYMENTS_AMQP_URL'];
const UPSTREAMS = { ORDERS_URL: 'orders', PAYMENTS_URL: 'payments', WEB_URL: 'web' };

const checkVariables = (env, part, variables, report) => {
  for (const variable of Object.keys(env)) {
    if (!CONTRACT_VARS.includes(variable)) report(`${variable} is not a variable of the contract`);
    else if (!variables.includes(variable) && !ANNOUNCED_VARS.includes(variable))
      report(`${variable} is not read by GoZon (packages/apps/src/env.ts)`);
  }
  for (const need of NEEDS[part] ?? []) {
    if (!need.split('|').some((variable) => env[variable])) report(`gozon ${part} needs ${need.replace('|', ' or ')}`);
  }
};

const checkUrl = (view, name, variable, value, report) => {
  if (!URL.canParse(value)) return report(`${variable} is not a URL: ${value}`);
  const url = new URL(value);
  const target = url.hostname;
  if (!(target in view.services)) return report(`${variable} points at ${view.notHere(target)}`);
  const infrastructure = INFRASTRUCTURE[variable];
  if (infrastructure) {
    const [protocol, image] = infrastructure;
    if (url.protocol !== protocol) report(`${variable} must be a ${protocol}// URL`);
    if (!String(view.services[target].image ?? '').startsWith(image))
      report(`${variable} points at "${target}", which does not run ${image}`);
    if (!(target in dependsOf(view.services[name]))) report(`uses ${target} (${variable}) without depending on it`);
    return;
  }
  const upstream = UPSTREAMS[variable];
  if (!upstream) return;
  if (target === view.balancer?.name) return checkBalanced(view, variable, upstream, Number(url.port || 80), report);
  if (view.partOf(target) !== upstream)
    report(`${variable} points at "${target}", which does not run gozon ${upstream}`);
  const port = Number(url.port || 80);
  if (view.portOf(target) !== port)
    report(`${variable} uses port ${port}, but ${target} listens on ${view.portOf(target)}`);
};

/** An upstream reached through the load balancer: the port leads to every instance of the part. */
const checkBalanced = (view, variable, part, port, report) => {
  const { name, file, config } = view.balancer;
  if (!config)
    return report(`${variable} points at ${name}, whose configuration cannot be read (${file ?? 'none mounted'})`);
  const found = backendAt(config, port);
  if (!found?.backend) return report(`${variable} points at ${name}:${port}, where ${file} sends nowhere`);
  const servers = found.backend.servers;
  for (const server of servers) {
    if (view.partOf(server.host) !== part || view.portOf(server.host) !== server.port)
      report(`${variable} leads to ${server.host}:${server.port} (${file}), which is not gozon ${part} on that port`);
  }
  const missing = view.allRunning(part).filter((n) => !servers.some((s) => s.host === n));
  if (missing.length > 0)
    report(`${variable} leads through ${name}:${port} to some ${part} instances, not ${missing.join(', ')}`);
};

/** The URL, or each node's when the variable lists several. */
const urlsOf = (variable, value) => (NODE_LISTS.includes(variable) ? value.split(',').map((v) => v.trim()) : [value]);

/** A service built from the GoZon image: `gozon <part>`, the variables it needs, URLs that reach. */
export const checkAppService = (view, name, { commands, variables }, report) => {
  const service = view.services[name];
  const command = commandOf(service);
  if (command.length !== 2 || command[0] !== 'gozon' || !commands.includes(command[1])) {
    report(`command must be "gozon <${commands.join('|')}>" (got ${JSON.stringify(service.command)})`);
    return;
  }
  const part = command[1];
  const env = view.envOf(name);
  checkVariables(env, part, variables, report);
  for (const [variable, value] of Object.entries(env)) {
    // The public origin is where browsers reach the gateway, from outside the compose network.
    if (!/_URL$/.test(variable) || variable === 'GOZON_PUBLIC_URL') continue;
    for (const url of urlsOf(variable, value)) checkUrl(view, name, variable, url, report);
  }
  const test = JSON.stringify(service.healthcheck?.test ?? '');
  if (part in PORT_VARS && !new RegExp(`127\\.0\\.0\\.1:${view.portOf(name)}/(readyz|healthz)`).test(test)) {
    report(`the healthcheck must probe /readyz or /healthz on the service's own port ${view.portOf(name)}`);
  }
};
