// The rules for the `scale` profile (docs/scaling.md), a second system beside the default one:
// - it is whole by itself: one migrate and one web, at least two orders, payments and gateway;
//   every instance of a part on the same database, orders and payments on different ones;
// - a RabbitMQ cluster of three nodes: a hostname each (rabbit@<hostname>), one shared Erlang
//   cookie, peer discovery listing exactly the three, the single broker's definitions loaded;
// - orders and payments list all three nodes in their broker URL and declare quorum queues;
// - the gateways share one public origin (one issuer), one data directory (the provider's keys)
//   and Redis (the request budgets), and trust the load balancer's address for X-Forwarded-For;
// - one HAProxy publishes the gateways, all of them, keeping a browser on one (a cookie or the
//   source address: sessions live in a gateway's memory);
// - nothing else is published but a management UI on 127.0.0.1, and no host port of the default
//   services, so the two systems can run side by side.
import { backendAt } from './haproxy.mjs';
import { mountsOf } from './view.mjs';

const at = (name) => `services.${name}`;
const isBroker = (view, name) => String(view.services[name].image ?? '').startsWith('rabbitmq');

/** `[HOST_IP:][HOST_PORT:]CONTAINER_PORT` or the long form, as host address, host port, container port. */
const portsOf = (service) =>
  (service.ports ?? []).map((port) => {
    if (typeof port === 'object')
      return { ip: port.host_ip ?? '', host: String(port.published ?? ''), container: String(port.target) };
    const parts = String(port).split('/')[0].split(':');
    const container = parts.pop();
    const host = parts.pop() ?? '';
    return { ip: parts.pop() ?? '', host, container };
  });

/** `key = value` lines of rabbitmq.conf files. */
const settingsOf = (text) =>
  Object.fromEntries(
    text
      .split('\n')
      .map((line) => line.replace(/#.*$/, '').trim())
      .filter((line) => line.includes('='))
      .map((line) => [line.slice(0, line.indexOf('=')).trim(), line.slice(line.indexOf('=') + 1).trim()]),
  );

const INSTANCES = { migrate: [1, 1], web: [1, 1], orders: [2], payments: [2], gateway: [2] };

const checkParts = (view, scope, problem) => {
  for (const [part, [min, max]] of Object.entries(INSTANCES)) {
    const count = view.allRunning(part).length;
    if (max !== undefined && count !== max) problem(scope, `exactly one service must run gozon ${part} (got ${count})`);
    if (max === undefined && count < min)
      problem(scope, `at least ${min} services must run gozon ${part} (got ${count})`);
  }
  const databases = ['orders', 'payments'].map((part) => {
    const urls = new Set(view.allRunning(part).map((name) => view.envOf(name)[`${part.toUpperCase()}_DATABASE_URL`]));
    if (urls.size > 1)
      problem(scope, `every ${part} instance must use the same database (got ${[...urls].join(', ')})`);
    return [...urls][0];
  });
  if (databases[0] && databases[0] === databases[1]) problem(scope, 'orders and payments must use different databases');
};

const checkNodeConfig = (view, name, nodes, report) => {
  const files = mountsOf(view.services[name]).filter((m) => m.target.startsWith('/etc/rabbitmq/'));
  const settings = settingsOf(files.map((m) => view.readFile?.(m.source) ?? '').join('\n'));
  if (settings['cluster_formation.peer_discovery_backend'] !== 'classic_config') {
    return report('mounts no configuration with cluster_formation.peer_discovery_backend = classic_config');
  }
  const listed = Object.entries(settings)
    .filter(([key]) => key.startsWith('cluster_formation.classic_config.nodes.'))
    .map(([, value]) => value);
  const wanted = nodes.map((node) => `rabbit@${view.services[node].hostname ?? node}`);
  const missing = wanted.filter((node) => !listed.includes(node));
  const extra = listed.filter((node) => !wanted.includes(node));
  if (missing.length > 0) report(`its peer discovery does not list ${missing.join(', ')}`);
  if (extra.length > 0) report(`its peer discovery lists ${extra.join(', ')}, not a node of the profile`);
};

const checkCluster = (view, defaults, scope, problem) => {
  const nodes = view.names.filter((name) => isBroker(view, name));
  if (nodes.length !== 3) problem(scope, `the RabbitMQ cluster must have three nodes (got ${nodes.length})`);
  const cookies = new Set(nodes.map((name) => view.envOf(name).GOZON_RABBITMQ_COOKIE ?? ''));
  if (cookies.has('')) problem(scope, 'every RabbitMQ node needs GOZON_RABBITMQ_COOKIE, the Erlang cookie they share');
  else if (cookies.size > 1) problem(scope, 'the RabbitMQ nodes must share one Erlang cookie (GOZON_RABBITMQ_COOKIE)');
  const single = defaults.names.find((name) => isBroker(defaults, name));
  const definitions = single ? mountsOf(defaults.services[single]).filter((m) => m.source.startsWith('./')) : [];
  for (const name of nodes) {
    const report = (message) => problem(at(name), message);
    const service = view.services[name];
    if (!service.hostname) report('a cluster node needs a hostname: its node name is rabbit@<hostname>');
    checkNodeConfig(view, name, nodes, report);
    const mounts = mountsOf(service);
    for (const wanted of definitions) {
      if (!mounts.some((m) => m.source === wanted.source && m.target === wanted.target))
        report(`must mount ${wanted.source} at ${wanted.target}, as ${single} does (the same users and permissions)`);
    }
    const scripts = mounts.filter((m) => JSON.stringify(service.entrypoint ?? '').includes(m.target));
    if (!scripts.some((m) => (view.readFile?.(m.source) ?? '').includes('GOZON_RABBITMQ_COOKIE')))
      report('its entrypoint must be a mounted script that writes GOZON_RABBITMQ_COOKIE as the Erlang cookie');
  }
  return nodes;
};

const checkOnCluster = (view, nodes, scope, problem) => {
  const users = {};
  for (const part of ['orders', 'payments']) {
    for (const name of view.allRunning(part)) {
      const env = view.envOf(name);
      const list = env[`${part.toUpperCase()}_AMQP_URL`] ?? env.AMQP_URL ?? '';
      const urls = list.split(',').map((url) => (URL.canParse(url.trim()) ? new URL(url.trim()) : undefined));
      const missing = nodes.filter((node) => !urls.some((url) => url?.hostname === node));
      if (missing.length > 0) problem(at(name), `its broker URL must list every node (missing ${missing.join(', ')})`);
      if (env.AMQP_QUEUE_TYPE !== 'quorum')
        problem(at(name), `AMQP_QUEUE_TYPE must be quorum on the cluster (got ${env.AMQP_QUEUE_TYPE ?? 'none'})`);
      for (const url of urls) if (url) (users[part] ??= new Set()).add(decodeURIComponent(url.username) || 'guest');
    }
  }
  const [orders, payments] = [users.orders ?? new Set(), users.payments ?? new Set()];
  for (const [part, set] of [
    ['orders', orders],
    ['payments', payments],
  ]) {
    if (set.size > 1)
      problem(scope, `every ${part} instance must reach RabbitMQ as one user (got ${[...set].join(', ')})`);
    for (const user of set)
      if (['guest', 'gozon-admin'].includes(user)) problem(scope, `${part} must not reach RabbitMQ as ${user}`);
  }
  if ([...orders].some((user) => payments.has(user)))
    problem(scope, 'orders and payments must use different RabbitMQ users');
};

/** Where a gateway keeps its data (the image's working directory is /app). */
const dataDirOf = (view, name) => {
  const dir = view.envOf(name).GOZON_DATA_DIR || '.gozon-data';
  return dir.startsWith('/') ? dir : `/app/${dir.replace(/^\.\//, '')}`;
};

const checkGateways = (view, scope, problem) => {
  const gateways = view.allRunning('gateway');
  const origins = new Set(gateways.map((name) => view.envOf(name).GOZON_PUBLIC_URL ?? ''));
  if (origins.has('') || origins.size > 1)
    problem(scope, 'every gateway needs the same GOZON_PUBLIC_URL: one issuer, where browsers come back');
  const volumes = gateways.map((name) => mountsOf(view.services[name]).find((m) => m.target === dataDirOf(view, name)));
  if (volumes.some((v) => !v) || new Set(volumes.map((v) => v.source)).size > 1)
    problem(scope, "the gateways must share one volume at their data directory (the built-in provider's keys)");
  for (const name of gateways) {
    if (!view.envOf(name).REDIS_URL)
      problem(at(name), 'needs REDIS_URL, so that the gateways share the request budgets');
  }
  return [...origins][0];
};

const checkBalancer = (view, origin, scope, problem) => {
  const lb = view.balancer;
  if (!lb) return problem(scope, 'needs a load balancer (an haproxy image) in front of the gateways');
  const report = (message) => problem(at(lb.name), message);
  if (!lb.config) return report(`its configuration cannot be read (${lb.file ?? 'nothing mounted'})`);
  const ports = portsOf(view.services[lb.name]);
  if (ports.length !== 1) return report(`must publish one port, the gateways' (got ${ports.length})`);
  const found = backendAt(lb.config, Number(ports[0].container));
  if (!found?.backend) return report(`publishes ${ports[0].container}, where ${lb.file} sends nowhere`);
  const { frontend, backend } = found;
  const gateways = view.allRunning('gateway');
  const targets = backend.servers.map((s) => `${s.host}:${s.port}`);
  const wanted = gateways.map((name) => `${name}:${view.portOf(name)}`);
  const missing = wanted.filter((w) => !targets.includes(w));
  const extra = targets.filter((t) => !wanted.includes(t));
  if (missing.length > 0) report(`must send to every gateway (missing ${missing.join(', ')})`);
  if (extra.length > 0) report(`sends to ${extra.join(', ')}, not a gateway of the profile`);
  const sticky = (backend.cookie && backend.servers.every((s) => s.cookie)) || backend.balance === 'source';
  if (frontend.mode !== 'http' || !sticky)
    report(
      'must keep a browser on one gateway (sessions live in its memory): http mode with a cookie, or balance source',
    );
  if (URL.canParse(origin) && (new URL(origin).port || '80') !== ports[0].host)
    report(`publishes ${ports[0].host}, but the gateways' GOZON_PUBLIC_URL is ${origin}`);
  const address = Object.values(view.services[lb.name].networks ?? {}).find((n) => n?.ipv4_address)?.ipv4_address;
  for (const name of gateways) {
    const trusted = (view.envOf(name).TRUST_PROXY ?? '').split(',').map((a) => a.trim());
    if (!address || !trusted.includes(address))
      problem(
        at(name),
        `TRUST_PROXY must name the load balancer's fixed address (${address ?? 'none: give it an ipv4_address'})`,
      );
  }
};

const checkPublished = (view, defaults, problem) => {
  const taken = new Set(defaults.names.flatMap((name) => portsOf(defaults.services[name]).map((p) => p.host)));
  for (const name of view.names) {
    const ports = portsOf(view.services[name]);
    const management = isBroker(view, name) && ports.every((p) => p.ip === '127.0.0.1' && p.container === '15672');
    if (ports.length > 0 && name !== view.balancer?.name && !management) {
      problem(
        at(name),
        `publishes [${ports.map((p) => p.host).join(', ')}]; in the scale profile only the load balancer and a RabbitMQ management UI on 127.0.0.1 may be`,
      );
    }
    for (const port of ports) {
      if (taken.has(port.host))
        problem(at(name), `publishes ${port.host}, as the default services do: the two systems could not run together`);
    }
  }
};

/** The scale profile's own rules; `defaults` is the view of the services without a profile. */
export const checkScale = (view, defaults, scope, problem) => {
  checkParts(view, scope, problem);
  const nodes = checkCluster(view, defaults, scope, problem);
  checkOnCluster(view, nodes, scope, problem);
  const origin = checkGateways(view, scope, problem);
  checkBalancer(view, origin, scope, problem);
  checkPublished(view, defaults, problem);
};
