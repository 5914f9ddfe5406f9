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

/** The services and what each runs; the GoZon image is the one built from this repository. */
export const viewOf = (compose) => {
  const services = compose?.services ?? {};
  const names = Object.keys(services);
  const images = new Set(names.filter((n) => services[n].build !== undefined).map((n) => services[n].image));
  const isApp = (name) => services[name].build !== undefined || images.has(services[name].image);
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
    services,
    names,
    images,
    appNames,
    isApp,
    partOf,
    portOf,
    isOneShot: (name) => partOf(name) === 'migrate',
    envOf: (name) => envOf(services[name]),
    /** The service that runs `gozon <part>`. */
    runs: (part) => appNames.find((n) => partOf(n) === part),
  };
};
