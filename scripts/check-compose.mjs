#!/usr/bin/env node
// Checks docker-compose.yml's structure without a Docker engine (`npm run check:compose`):
// - every service named in depends_on exists, with a valid condition that the target can meet;
// - only the gateway (8080) and RabbitMQ's management UI (15672) are published to the host;
// - every long-running service has a healthcheck and a restart policy;
// - every service built from the GoZon image runs `gozon <part>` with a part the CLI knows, has the
//   variables that part needs, and sets only variables of the public contract that env.ts reads;
// - URLs point at services of the file, on the ports those services listen on; the two services
//   use different databases; named volumes are declared;
// - the RabbitMQ management UI is published on 127.0.0.1 only, and each service reaches RabbitMQ
//   as its own user, none of them the broker's administrator.
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';

const root = new URL('../', import.meta.url);
const file = process.argv[2] ?? 'docker-compose.yml';
const compose = parse(readFileSync(new URL(file, root), 'utf-8'), { merge: true });
const cliSource = readFileSync(new URL('packages/apps/src/cli.ts', root), 'utf-8');
const envSource = readFileSync(new URL('packages/apps/src/env.ts', root), 'utf-8');

/** The variables of the public contract (CONTRACT.md: processes, upstreams, infrastructure). */
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
  'GOZON_AUTH',
  'GOZON_PUBLIC_URL',
  'OIDC_ISSUER',
  'OIDC_AUDIENCE',
  'OIDC_USER_CLAIM',
  'OIDC_JWKS_URL',
  'OIDC_CLIENT_ID',
  'OIDC_CLIENT_SECRET',
];
/** What each part cannot do without in compose (the defaults point at 127.0.0.1 or PGlite); `A|B`: either. */
const NEEDS = {
  orders: ['ORDERS_DATABASE_URL', 'ORDERS_AMQP_URL|AMQP_URL'],
  payments: ['PAYMENTS_DATABASE_URL', 'PAYMENTS_AMQP_URL|AMQP_URL'],
  migrate: ['ORDERS_DATABASE_URL', 'PAYMENTS_DATABASE_URL'],
  gateway: ['ORDERS_URL', 'PAYMENTS_URL', 'WEB_URL'],
  web: [],
  all: [],
};
const DEFAULT_PORTS = { gateway: 8080, orders: 8081, payments: 8082, web: 8083 };
const PORT_VARS = { gateway: 'GATEWAY_PORT', orders: 'ORDERS_PORT', payments: 'PAYMENTS_PORT', web: 'WEB_PORT' };
/** Exactly these host ports, on exactly these services. */
const PUBLISHED = { gateway: ['8080'], rabbitmq: ['15672'] };
const CONDITIONS = ['service_started', 'service_healthy', 'service_completed_successfully'];

const problems = [];
const problem = (where, message) => problems.push(`${where}: ${message}`);

const cliMatch = /const COMMANDS = \[([^\]]*)\]/.exec(cliSource);
if (!cliMatch) throw new Error('packages/apps/src/cli.ts: cannot find the COMMANDS list');
const commands = [...cliMatch[1].matchAll(/'([a-z]+)'/g)].map((m) => m[1]);

const services = compose?.services ?? {};
const names = Object.keys(services);
if (names.length === 0) problem(file, 'no services');

/** A value as compose would see it with the variables unset: `${VAR:-default}` is its default. */
const interpolate = (value) =>
  value.replace(/\$\{[A-Za-z_][A-Za-z0-9_]*(?::?-([^}]*))?\}/g, (_, fallback) => fallback ?? '');
const envOf = (service) => {
  const env = service.environment ?? {};
  if (Array.isArray(env)) {
    return Object.fromEntries(
      env.map((entry) => [String(entry).split('=')[0], String(entry).split('=').slice(1).join('=')]),
    );
  }
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v === null ? '' : interpolate(String(v))]));
};
const commandOf = (service) =>
  Array.isArray(service.command)
    ? service.command.map(String)
    : String(service.command ?? '')
        .split(/\s+/)
        .filter(Boolean);
const dependsOf = (service) => {
  const deps = service.depends_on ?? {};
  if (Array.isArray(deps)) return Object.fromEntries(deps.map((d) => [d, { condition: 'service_started' }]));
  return deps;
};
const hostPorts = (service) =>
  (service.ports ?? []).map((port) => {
    if (typeof port === 'object') return String(port.published ?? '');
    const parts = String(port).split('/')[0].split(':');
    return parts.length === 1 ? parts[0] : parts[parts.length - 2];
  });

// The GoZon image: services built from this repository (or using the image it builds).
const images = new Set(names.filter((n) => services[n].build !== undefined).map((n) => services[n].image));
const isApp = (service) => service.build !== undefined || images.has(service.image);
const appNames = names.filter((n) => isApp(services[n]));
if (images.size !== 1 || [...images][0] === undefined) {
  problem(
    file,
    `the GoZon services must share one named image built from this repository (got ${[...images].join(', ') || 'none'})`,
  );
}
const partOf = (name) => (isApp(services[name]) ? commandOf(services[name])[1] : undefined);
const isOneShot = (name) => partOf(name) === 'migrate';
const portOf = (name) => {
  const part = partOf(name);
  if (!(part in PORT_VARS)) return undefined;
  const value = envOf(services[name])[PORT_VARS[part]];
  return value === undefined || value === '' ? DEFAULT_PORTS[part] : Number(value);
};

for (const name of names) {
  const service = services[name];
  const where = `services.${name}`;

  for (const [dep, spec] of Object.entries(dependsOf(service))) {
    const condition = spec?.condition ?? 'service_started';
    if (!(dep in services)) {
      problem(where, `depends_on names "${dep}", which is not a service`);
      continue;
    }
    if (!CONDITIONS.includes(condition)) problem(where, `depends_on ${dep}: unknown condition "${condition}"`);
    if (condition === 'service_healthy' && !services[dep].healthcheck?.test) {
      problem(where, `depends_on ${dep} with service_healthy, but ${dep} has no healthcheck`);
    }
    if (condition === 'service_completed_successfully' && !isOneShot(dep)) {
      problem(where, `depends_on ${dep} with service_completed_successfully, but ${dep} is not a one-shot service`);
    }
  }

  const published = hostPorts(service);
  const allowed = PUBLISHED[name] ?? [];
  if (published.length > 0 || allowed.length > 0) {
    if (JSON.stringify([...published].sort()) !== JSON.stringify([...allowed].sort())) {
      problem(where, `publishes [${published.join(', ')}]; only gateway 8080 and rabbitmq 15672 may be published`);
    }
  }

  if (!isOneShot(name)) {
    if (!service.healthcheck?.test || service.healthcheck.disable)
      problem(where, 'a long-running service needs a healthcheck');
    if (!['always', 'unless-stopped', 'on-failure'].some((p) => String(service.restart ?? '').startsWith(p))) {
      problem(where, `a long-running service needs a restart policy (got ${service.restart ?? 'none'})`);
    }
  } else if (!['no', undefined].includes(service.restart)) {
    problem(where, `a one-shot service must not restart (got ${service.restart})`);
  }

  for (const volume of service.volumes ?? []) {
    const source = typeof volume === 'object' ? volume.source : String(volume).split(':')[0];
    const named = source && !source.startsWith('.') && !source.startsWith('/') && !source.startsWith('~');
    if (named && !(compose.volumes && source in compose.volumes)) problem(where, `volume "${source}" is not declared`);
  }

  if (!isApp(service)) continue;

  const command = commandOf(service);
  if (command.length !== 2 || command[0] !== 'gozon' || !commands.includes(command[1])) {
    problem(where, `command must be "gozon <${commands.join('|')}>" (got ${JSON.stringify(service.command)})`);
    continue;
  }
  const part = command[1];
  const env = envOf(service);
  for (const variable of Object.keys(env)) {
    if (!CONTRACT_VARS.includes(variable)) problem(where, `${variable} is not a variable of the contract`);
    else if (!new RegExp(`^\\s+${variable}: `, 'm').test(envSource))
      problem(where, `${variable} is not read by packages/apps/src/env.ts`);
  }
  for (const need of NEEDS[part] ?? []) {
    if (!need.split('|').some((variable) => env[variable]))
      problem(where, `gozon ${part} needs ${need.replace('|', ' or ')}`);
  }
  for (const [variable, value] of Object.entries(env)) {
    // The public origin is where browsers reach the gateway, from outside the compose network.
    if (!/_URL$/.test(variable) || variable === 'GOZON_PUBLIC_URL') continue;
    let url;
    try {
      url = new URL(value);
    } catch {
      problem(where, `${variable} is not a URL: ${value}`);
      continue;
    }
    const target = url.hostname;
    if (!(target in services)) {
      problem(where, `${variable} points at "${target}", which is not a service`);
      continue;
    }
    const expected = {
      ORDERS_DATABASE_URL: ['postgres:', 'postgres'],
      PAYMENTS_DATABASE_URL: ['postgres:', 'postgres'],
      AMQP_URL: ['amqp:', 'rabbitmq'],
      ORDERS_AMQP_URL: ['amqp:', 'rabbitmq'],
      PAYMENTS_AMQP_URL: ['amqp:', 'rabbitmq'],
    }[variable];
    if (expected) {
      if (url.protocol !== expected[0]) problem(where, `${variable} must be a ${expected[0]}// URL`);
      if (!String(services[target].image ?? '').startsWith(expected[1])) {
        problem(where, `${variable} points at "${target}", which does not run ${expected[1]}`);
      }
      if (!(target in dependsOf(service))) problem(where, `uses ${target} (${variable}) without depending on it`);
    } else {
      const upstream = { ORDERS_URL: 'orders', PAYMENTS_URL: 'payments', WEB_URL: 'web' }[variable];
      if (upstream && partOf(target) !== upstream)
        problem(where, `${variable} points at "${target}", which does not run gozon ${upstream}`);
      const port = Number(url.port || 80);
      if (upstream && portOf(target) !== port)
        problem(where, `${variable} uses port ${port}, but ${target} listens on ${portOf(target)}`);
    }
  }
  const test = JSON.stringify(service.healthcheck?.test ?? '');
  if (part in PORT_VARS && !new RegExp(`127\\.0\\.0\\.1:${portOf(name)}/(readyz|healthz)`).test(test)) {
    problem(where, `the healthcheck must probe /readyz or /healthz on the service's own port ${portOf(name)}`);
  }
}

const parts = appNames.map(partOf);
for (const part of ['migrate', 'orders', 'payments', 'web', 'gateway']) {
  if (parts.filter((p) => p === part).length !== 1) problem(file, `exactly one service must run gozon ${part}`);
}
const databases = ['orders', 'payments'].map((part) => {
  const name = appNames.find((n) => partOf(n) === part);
  const value = name && envOf(services[name])[`${part.toUpperCase()}_DATABASE_URL`];
  try {
    const url = new URL(value);
    return `${url.host}${url.pathname}`;
  } catch {
    return undefined;
  }
});
if (databases[0] && databases[0] === databases[1]) problem(file, 'orders and payments must use different databases');

// The management UI answers on this machine alone.
for (const port of services.rabbitmq?.ports ?? []) {
  const text = typeof port === 'object' ? `${port.host_ip ?? ''}:${port.published}` : String(port);
  if (!text.startsWith('127.0.0.1:')) problem('services.rabbitmq', `publishes ${text}, not on 127.0.0.1 only`);
}
// Each service as its own broker user, and none as an administrator.
const brokerUsers = ['orders', 'payments'].map((part) => {
  const name = appNames.find((n) => partOf(n) === part);
  const env = name ? envOf(services[name]) : {};
  const value = env[`${part.toUpperCase()}_AMQP_URL`] ?? env.AMQP_URL;
  try {
    return decodeURIComponent(new URL(value).username) || 'guest';
  } catch {
    return undefined;
  }
});
if (brokerUsers[0] && brokerUsers[0] === brokerUsers[1])
  problem(file, 'orders and payments must use different RabbitMQ users');
for (const user of brokerUsers) {
  if (user && ['guest', 'gozon-admin'].includes(user)) problem(file, `a service must not reach RabbitMQ as ${user}`);
}

if (problems.length > 0) {
  console.error(`${file}: ${problems.length} problem(s)\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  process.exit(1);
}
console.log(`${file}: ok (${names.length} services; published: gateway 8080, rabbitmq 15672)`);
