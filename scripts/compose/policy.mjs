// The project's own rules for docker-compose.yml, beyond what the Compose Specification allows:
// - every service named in depends_on exists, with a condition that the target can meet;
// - only the gateway (8080) and RabbitMQ's management UI (15672) are published to the host;
// - every long-running service has a healthcheck and a restart policy;
// - every service built from the GoZon image runs `gozon <part>` with a part the CLI knows, has the
//   variables that part needs, and sets only variables of the public contract that GoZon reads;
// - URLs point at services of the file, on the ports those services listen on; the two services
//   use different databases; named volumes are declared;
// - the RabbitMQ management UI is published on 127.0.0.1 only, and each service reaches RabbitMQ
//   as its own user, none of them the broker's administrator.
// Those rules hold for the default services (no profile: `docker compose up`). Services of the
// `scale` profile form a second system, checked by compose/scale.mjs; no other profile exists.
import { checkAppService } from './app-service.mjs';
import { checkScale } from './scale.mjs';
import { dependsOf, hostPorts, viewOf } from './view.mjs';

/** Exactly these host ports, on exactly these services. */
const PUBLISHED = { gateway: ['8080'], rabbitmq: ['15672'] };

const checkDependencies = (view, service, report) => {
  for (const [dep, spec] of Object.entries(dependsOf(service))) {
    const condition = spec?.condition ?? 'service_started';
    if (!(dep in view.services)) {
      report(`depends_on names ${view.notHere(dep)}`);
    } else if (condition === 'service_healthy' && !view.services[dep].healthcheck?.test) {
      report(`depends_on ${dep} with service_healthy, but ${dep} has no healthcheck`);
    } else if (condition === 'service_completed_successfully' && !view.isOneShot(dep)) {
      report(`depends_on ${dep} with service_completed_successfully, but ${dep} is not a one-shot service`);
    }
  }
};

const checkPublished = (name, service, report) => {
  const published = hostPorts(service);
  const allowed = PUBLISHED[name] ?? [];
  if (published.length === 0 && allowed.length === 0) return;
  if (JSON.stringify([...published].sort()) !== JSON.stringify([...allowed].sort())) {
    report(`publishes [${published.join(', ')}]; only gateway 8080 and rabbitmq 15672 may be published`);
  }
};

const checkLifecycle = (view, name, service, report) => {
  if (view.isOneShot(name)) {
    if (!['no', undefined].includes(service.restart))
      report(`a one-shot service must not restart (got ${service.restart})`);
    return;
  }
  if (!service.healthcheck?.test || service.healthcheck.disable) report('a long-running service needs a healthcheck');
  if (!['always', 'unless-stopped', 'on-failure'].some((p) => String(service.restart ?? '').startsWith(p))) {
    report(`a long-running service needs a restart policy (got ${service.restart ?? 'none'})`);
  }
};

const checkVolumes = (view, service, report) => {
  for (const volume of service.volumes ?? []) {
    const source = typeof volume === 'object' ? volume.source : String(volume).split(':')[0];
    const named = source && !source.startsWith('.') && !source.startsWith('/') && !source.startsWith('~');
    if (named && !(view.compose.volumes && source in view.compose.volumes))
      report(`volume "${source}" is not declared`);
  }
};

/** Rules about the file as a whole: one service per part, separate databases and broker users. */
const checkWhole = (view, file, problem) => {
  if (view.names.length === 0) problem(file, 'no services');
  if (view.images.size !== 1 || [...view.images][0] === undefined) {
    const got = [...view.images].join(', ') || 'none';
    problem(file, `the GoZon services must share one named image built from this repository (got ${got})`);
  }
  const parts = view.appNames.map(view.partOf);
  for (const part of ['migrate', 'orders', 'payments', 'web', 'gateway']) {
    if (parts.filter((p) => p === part).length !== 1) problem(file, `exactly one service must run gozon ${part}`);
  }
  const [orders, payments] = ['orders', 'payments'].map((part) => databaseOf(view, part));
  if (orders && orders === payments) problem(file, 'orders and payments must use different databases');
  checkBroker(view, file, problem);
};

const databaseOf = (view, part) => {
  const name = view.runs(part);
  const value = name && view.envOf(name)[`${part.toUpperCase()}_DATABASE_URL`];
  return URL.canParse(value) ? `${new URL(value).host}${new URL(value).pathname}` : undefined;
};

const checkBroker = (view, file, problem) => {
  // The management UI answers on this machine alone.
  for (const port of view.services.rabbitmq?.ports ?? []) {
    const text = typeof port === 'object' ? `${port.host_ip ?? ''}:${port.published}` : String(port);
    if (!text.startsWith('127.0.0.1:')) problem('services.rabbitmq', `publishes ${text}, not on 127.0.0.1 only`);
  }
  // Each service as its own broker user, and none as an administrator.
  const users = ['orders', 'payments'].map((part) => {
    const name = view.runs(part);
    const env = name ? view.envOf(name) : {};
    const value = env[`${part.toUpperCase()}_AMQP_URL`] ?? env.AMQP_URL;
    return URL.canParse(value) ? decodeURIComponent(new URL(value).username) || 'guest' : undefined;
  });
  if (users[0] && users[0] === users[1]) problem(file, 'orders and payments must use different RabbitMQ users');
  for (const user of users) {
    if (user && ['guest', 'gozon-admin'].includes(user)) problem(file, `a service must not reach RabbitMQ as ${user}`);
  }
};

const PROFILES = ['scale'];
const profilesOf = (service) => service.profiles ?? [];

/** The file with only the named services (top-level volumes and networks kept). */
const subset = (compose, names) => ({
  ...compose,
  services: Object.fromEntries(names.map((name) => [name, compose.services[name]])),
});

/** The rules every service of a set follows, whatever its profile. */
const checkServices = (view, { commands, variables }, problem, { published = true } = {}) => {
  for (const name of view.names) {
    const service = view.services[name];
    const report = (message) => problem(`services.${name}`, message);
    checkDependencies(view, service, report);
    if (published) checkPublished(name, service, report);
    checkLifecycle(view, name, service, report);
    checkVolumes(view, service, report);
    if (view.isApp(name)) checkAppService(view, name, { commands, variables }, report);
  }
};

/**
 * Where a compose file the Compose schema accepted breaks the project's rules, one line each.
 * `commands`: the parts `gozon` knows; `variables`: the names GoZon reads from its environment;
 * `readFile`: the text of a file the compose file mounts (deploy/…), by its path.
 */
export const policyProblems = (compose, { file, commands, variables, readFile }) => {
  const problems = [];
  const problem = (where, message) => problems.push(`${where}: ${message}`);
  const all = Object.keys(compose?.services ?? {});
  for (const name of all) {
    const profiles = profilesOf(compose.services[name]);
    const unknown = profiles.filter((p) => !PROFILES.includes(p));
    if (unknown.length > 0)
      problem(`services.${name}`, `unknown profile ${unknown.join(', ')} (known: ${PROFILES.join(', ')})`);
  }
  const defaults = all.filter((name) => profilesOf(compose.services[name]).length === 0);
  const scale = all.filter((name) => profilesOf(compose.services[name]).includes('scale'));
  const others = (names) => all.filter((name) => !names.includes(name));
  const view = viewOf(subset(compose, defaults), { label: 'the default services', readFile, others: others(defaults) });
  checkServices(view, { commands, variables }, problem);
  checkWhole(view, file, problem);
  if (scale.length > 0) {
    const scaled = viewOf(subset(compose, scale), { label: 'the scale profile', readFile, others: others(scale) });
    checkServices(scaled, { commands, variables }, problem, { published: false });
    checkScale(scaled, view, `${file} (scale profile)`, problem);
  }
  return problems;
};
