import { parseHaproxy } from './haproxy.mjs';

// A compose file as the policy reads it: which services run GoZon, which part each runs, on which
// port, with which variables, depending on what. It expects a file the Compose schema accepted.

export const DEFAULT_PORTS = { gateway: 8080, orders: 8081, payments: 8082, web: 8083 };
export const PORT_VARS = { gateway: 'GATEWAY_PORT', orders: 'ORDERS_PORT', payments: 'PAYMENTS_PORT', web: 'WEB_PORT' };

/** A value as compose would see it with the variables unset: `${VAR:-default}` is its default. */
const interpolateText = (value) =>
  value.replace(/\$\{[A-Za-z_][A-Za-z0-9_]*(?::?-([^}]*))?\}/g, (_, fallback) => fallback ?? '');

/** The whole document with every `${…}` replaced, as compose interpolates before it validates. */
export const interpolate = (node) => {
  if (typeof node === 'string') return interpolateText(node);
  if (Array.isArray(node)) return node.map(interpolate);
  if (node && typeof node === 'object') {
    return Object.fromEntries(Object.entries(node).map(([key, value]) => [key, interpolate(value)]));
  }
  return node;
};

export const envOf = (service) => {
  const env = service.environment ?? {};
  if (Array.isArray(env)) {
    return Object.fromEntries(
      env.map((entry) => [String(entry).split('=')[0], String(entry).split('=').slice(1).join('=')]),
    );
  }
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v === null ? '' : String(v)]));
};

export const commandOf = (service) =>
  Array.isArray(service.command)
    ? service.command.map(String)
    : String(service.command ?? '')
        .split(/\s+/)
        .filter(Boolean);

export const dependsOf = (service) => {
  const deps = service.depends_on ?? {};
  if (Array.isArray(deps)) return Object.fromEntries(deps.map((d) => [d, { condition: 'service_started' }]));
  return deps;
};

export const hostPorts = (service) =>
  (service.ports ?? []).map((port) => {
    if (typeof port === 'object') return String(port.published ?? '');
    const parts = String(port).split('/')[0].split(':');
    return parts.length === 1 ? parts[0] : parts[parts.length - 2];
  });

/** Where a bind-mounted file comes from (relative to the compose file) and where it goes. */
export const mountsOf = (service) =>
  (service.volumes ?? []).map((volume) =>
    typeof volume === 'object'
      ? { source: String(volume.source ?? ''), target: String(volume.target ?? '') }
      : { source: String(volume).split(':')[0], target: String(volume).split(':')[1] ?? '' },
  );

const HAPROXY_CONFIG = '/usr/local/etc/haproxy/haproxy.cfg';

/** The load balancer of a set of services: the one HAProxy, and its configuration when it can be read. */
const balancerOf = (services, names, readFile) => {
  const name = names.find((n) => String(services[n].image ?? '').startsWith('haproxy'));
  if (!name) return undefined;
  const mount = mountsOf(services[name]).find((m) => m.target === HAPROXY_CONFIG);
  const text = mount && readFile ? readFile(mount.source) : undefined;
  return { name, file: mount?.source, config: text === undefined ? undefined : parseHaproxy(text) };
};

/**
 * The services and what each runs; the GoZon image is the one built from this repository.
 * `label` names the set in messages ("the default services", "the scale profile"); `readFile`
 * reads a file the compose file mounts, by its path relative to the repository.
 */
export const viewOf = (compose, { label = 'the file', readFile, others = [] } = {}) => {
  const services = compose?.services ?? {};
  const names = Object.keys(services);
  const images = new Set(names.filter((n) => services[n].build !== undefined).map((n) => services[n].image));
  const isApp = (name) => name in services && (services[name].build !== undefined || images.has(services[name].image));
  const partOf = (name) => (isApp(name) ? commandOf(services[name])[1] : undefined);
  const portOf = (name) => {
    const part = partOf(name);
    if (!(part in PORT_VARS)) return undefined;
    const value = envOf(services[name])[PORT_VARS[part]];
    return value === undefined || value === '' ? DEFAULT_PORTS[part] : Number(value);
  };
  const appNames = names.filter(isApp);
  return {
    compose,
    label,
    readFile,
    services,
    names,
    balancer: balancerOf(services, names, readFile),
    images,
    appNames,
    isApp,
    partOf,
    portOf,
    isOneShot: (name) => partOf(name) === 'migrate',
    envOf: (name) => envOf(services[name]),
    /** The service that runs `gozon <part>`. */
    runs: (part) => appNames.find((n) => partOf(n) === part),
    /** Why a name given as a service is not one here: a service elsewhere in the file, or none at all. */
    notHere: (name) =>
      others.includes(name) ? `"${name}", which is not in ${label}` : `"${name}", which is not a service`,
    /** Every service that runs `gozon <part>`. */
    allRunning: (part) => appNames.filter((n) => partOf(n) === part),
  };
};
