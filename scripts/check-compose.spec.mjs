import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import { describe, it } from 'mocha';
import { checkCompose } from './check-compose.mjs';

const real = readFileSync(new URL('../docker-compose.yml', import.meta.url), 'utf-8');
const repositoryFile = (path) => readFileSync(new URL(`../${path}`, import.meta.url), 'utf-8');

/** The real file with one edit; the edit must apply, or the test would check the real file. */
const edited = (from, to) => {
  expect(real).to.include(from);
  return real.replace(from, to);
};

/** A mounted file of the repository with one edit, under its path, for checkCompose's `files`. */
const editedFile = (path, from, to) => {
  const text = repositoryFile(path);
  expect(text).to.include(from);
  return { [path]: text.replace(from, to) };
};

/** The service block of `name` in the real file, with one edit inside it. */
const editedService = (name, from, to) => {
  const start = real.indexOf(`\n  ${name}:\n`, real.indexOf('\nservices:\n'));
  const end = real.indexOf('\n\n', start + 1);
  expect(start).to.be.above(-1);
  const block = real.slice(start, end);
  expect(block).to.include(from);
  return real.slice(0, start) + block.replace(from, to) + real.slice(end);
};

describe('check-compose: the Compose Specification and the project rules', () => {
  it('passes the docker-compose.yml of the repository', () => {
    expect(checkCompose(real)).to.deep.equal([]);
  });

  it('refuses a misspelt key, naming where it is', () => {
    const problems = checkCompose(edited('      interval: 5s\n', '      intervall: 5s\n'));
    expect(problems).to.deep.equal(['services.orders-db.healthcheck: unknown key "intervall"']);
    expect(checkCompose(edited('    environment:\n      WEB_PORT', '    enviroment:\n      WEB_PORT'))).to.deep.equal([
      'services.web: unknown key "enviroment"',
    ]);
  });

  it('refuses a list where a map belongs', () => {
    const declared = /\nvolumes:\n((?: {2}[a-z0-9-]+:\n)+)/.exec(real);
    expect(declared).to.not.equal(null);
    const volumes = edited(declared[0], declared[0].replace(/^ {2}([a-z0-9-]+):$/gm, '  - $1'));
    expect(checkCompose(volumes)).to.include('volumes: must be a map, not a list');
    const healthcheck = edited(
      "    healthcheck:\n      test: ['CMD', 'pg_isready', '-U', 'gozon', '-d', 'orders']\n      interval: 5s\n",
      "    healthcheck:\n      - test: ['CMD', 'pg_isready', '-U', 'gozon', '-d', 'orders']\n      - interval: 5s\n",
    ).replace('      timeout: 5s\n      retries: 20\n', '      - timeout: 5s\n      - retries: 20\n');
    expect(checkCompose(healthcheck)).to.include('services.orders-db.healthcheck: must be a map, not a list');
  });

  it('refuses values the specification does not allow', () => {
    const condition = edited(
      '      migrate:\n        condition: service_completed_successfully',
      '      migrate:\n        condition: completed',
    );
    expect(checkCompose(condition)[0]).to.match(
      /^services\.orders\.depends_on\.migrate\.condition: must be one of .*\(got "completed"\)$/,
    );
    const duration = edited('      interval: 5s\n', '      interval: 5 seconds\n');
    expect(checkCompose(duration)).to.deep.equal([
      'services.orders-db.healthcheck.interval: must be a duration such as 10s or 1m30s (got "5 seconds")',
    ]);
  });

  it('still applies the project rules to a file the specification accepts', () => {
    const published = edited("      - '8080:8080'\n", "      - '8080:8080'\n      - '8081:8081'\n");
    expect(checkCompose(published)).to.deep.equal([
      'services.gateway: publishes [8080, 8081]; only gateway 8080 and rabbitmq 15672 may be published',
    ]);
    const unknownVariable = edited('      WEB_PORT: ', '      WEB_PROT: ');
    expect(checkCompose(unknownVariable)).to.include('services.web: WEB_PROT is not a variable of the contract');
  });

  it('says so when the file is not YAML at all', () => {
    expect(checkCompose('services: [unclosed', 'broken.yml')[0]).to.match(/^broken\.yml: not valid YAML/);
  });

  describe('the scale profile', () => {
    it('keeps every one of its services out of the default system', () => {
      // Without the profile, orders-2 would start with `docker compose up`, beside the default orders.
      const unprofiled = editedService('orders-2', '<<: [*gozon, *scale]', '<<: *gozon');
      expect(checkCompose(unprofiled)).to.include('docker-compose.yml: exactly one service must run gozon orders');
      const unknown = editedService('redis', '<<: *scale', '<<: *scale\n    profiles: [scaled]');
      expect(checkCompose(unknown)).to.include('services.redis: unknown profile scaled (known: scale)');
      const crossing = editedService('gateway-1', 'depends_on: *scale-gateway-deps', 'depends_on: [web]');
      expect(checkCompose(crossing)).to.include(
        'services.gateway-1: depends_on names "web", which is not in the scale profile',
      );
    });

    it('wants three broker nodes sharing one cookie and listing each other', () => {
      const cookie = editedService(
        'rabbitmq-3',
        'environment: *scale-broker-env',
        'environment:\n      <<: *scale-broker-env\n      GOZON_RABBITMQ_COOKIE: another',
      );
      expect(checkCompose(cookie)).to.deep.equal([
        'docker-compose.yml (scale profile): the RabbitMQ nodes must share one Erlang cookie (GOZON_RABBITMQ_COOKIE)',
      ]);
      const unlisted = editedFile(
        'deploy/rabbitmq/cluster.conf',
        'cluster_formation.classic_config.nodes.3 = rabbit@rabbitmq-3\n',
        '',
      );
      expect(checkCompose(real, 'docker-compose.yml', unlisted)).to.deep.equal(
        ['rabbitmq-1', 'rabbitmq-2', 'rabbitmq-3'].map(
          (node) => `services.${node}: its peer discovery does not list rabbit@rabbitmq-3`,
        ),
      );
      const definitions = editedService(
        'rabbitmq-2',
        '      - ./deploy/rabbitmq/definitions.json:/etc/gozon/definitions.json:ro\n',
        '',
      );
      expect(checkCompose(definitions)).to.deep.equal([
        'services.rabbitmq-2: must mount ./deploy/rabbitmq/definitions.json at /etc/gozon/definitions.json, as rabbitmq does (the same users and permissions)',
      ]);
    });

    it('wants every service on all three nodes, with quorum queues', () => {
      const twoNodes = editedService(
        'orders-1',
        ',amqp://gozon-orders:${GOZON_ORDERS_AMQP_PASSWORD:-orders-dev}@rabbitmq-3:5672/gozon',
        '',
      );
      expect(checkCompose(twoNodes)).to.deep.equal([
        'services.orders-1: its broker URL must list every node (missing rabbitmq-3)',
      ]);
      const classic = edited(
        '  ORDERS_DATABASE_URL: postgres://gozon:gozon@scale-orders-db:5432/orders\n  AMQP_QUEUE_TYPE: quorum',
        '  ORDERS_DATABASE_URL: postgres://gozon:gozon@scale-orders-db:5432/orders\n  AMQP_QUEUE_TYPE: classic',
      );
      expect(checkCompose(classic)).to.deep.equal([
        'services.orders-1: AMQP_QUEUE_TYPE must be quorum on the cluster (got classic)',
        'services.orders-2: AMQP_QUEUE_TYPE must be quorum on the cluster (got classic)',
      ]);
      const admin = editedService('payments-2', 'amqp://gozon-payments:', 'amqp://gozon-admin:');
      expect(checkCompose(admin)).to.include(
        'docker-compose.yml (scale profile): every payments instance must reach RabbitMQ as one user (got gozon-payments, gozon-admin)',
      );
    });

    it('wants the load balancer in front of every gateway, keeping a browser on one', () => {
      const oneGateway = editedFile(
        'deploy/haproxy/haproxy.cfg',
        '  server gateway-2 gateway-2:8080 cookie gateway-2\n',
        '',
      );
      expect(checkCompose(real, 'docker-compose.yml', oneGateway)).to.deep.equal([
        'services.lb: must send to every gateway (missing gateway-2:8080)',
      ]);
      const loose = editedFile(
        'deploy/haproxy/haproxy.cfg',
        '  cookie gozon_lb insert indirect nocache httponly\n',
        '',
      );
      expect(checkCompose(real, 'docker-compose.yml', loose)).to.deep.equal([
        'services.lb: must keep a browser on one gateway (sessions live in its memory): http mode with a cookie, or balance source',
      ]);
      const oneOrders = editedFile('deploy/haproxy/haproxy.cfg', '  server orders-2 orders-2:8081\n', '');
      expect(checkCompose(real, 'docker-compose.yml', oneOrders)).to.deep.equal(
        ['gateway-1', 'gateway-2'].map(
          (gateway) => `services.${gateway}: ORDERS_URL leads through lb:8081 to some orders instances, not orders-2`,
        ),
      );
    });

    it('wants the gateways to share an issuer, their keys, Redis and trust in the balancer', () => {
      const origin = editedService(
        'gateway-2',
        'environment: *scale-gateway-env',
        'environment:\n      <<: *scale-gateway-env\n      GOZON_PUBLIC_URL: http://localhost:8091',
      );
      expect(checkCompose(origin)).to.include(
        'docker-compose.yml (scale profile): every gateway needs the same GOZON_PUBLIC_URL: one issuer, where browsers come back',
      );
      const ownKeys = editedService(
        'gateway-2',
        '- scale-gateway-data:/app/.gozon-data',
        '- gateway-data:/app/.gozon-data',
      );
      expect(checkCompose(ownKeys)).to.deep.equal([
        "docker-compose.yml (scale profile): the gateways must share one volume at their data directory (the built-in provider's keys)",
      ]);
      const untrusted = edited('  TRUST_PROXY: 172.28.89.10\n', '  TRUST_PROXY: 172.28.89.11\n');
      expect(checkCompose(untrusted)).to.deep.equal(
        ['gateway-1', 'gateway-2'].map(
          (gateway) => `services.${gateway}: TRUST_PROXY must name the load balancer's fixed address (172.28.89.10)`,
        ),
      );
      const alone = edited('  REDIS_URL: redis://redis:6379\n', '');
      expect(checkCompose(alone)).to.include(
        'services.gateway-1: needs REDIS_URL, so that the gateways share the request budgets',
      );
    });

    it('publishes the load balancer alone, and the management UI on 127.0.0.1', () => {
      const gateway = editedService(
        'gateway-1',
        '    depends_on: *scale-gateway-deps',
        "    ports:\n      - '8091:8080'\n    depends_on: *scale-gateway-deps",
      );
      expect(checkCompose(gateway)).to.deep.equal([
        'services.gateway-1: publishes [8091]; in the scale profile only the load balancer and a RabbitMQ management UI on 127.0.0.1 may be',
      ]);
      const open = edited("      - '127.0.0.1:15673:15672'\n", "      - '15673:15672'\n");
      expect(checkCompose(open)).to.deep.equal([
        'services.rabbitmq-1: publishes [15673]; in the scale profile only the load balancer and a RabbitMQ management UI on 127.0.0.1 may be',
      ]);
      const clash = edited("      - '8090:8090'\n", "      - '8080:8090'\n");
      expect(checkCompose(clash)).to.deep.equal([
        "services.lb: publishes 8080, but the gateways' GOZON_PUBLIC_URL is http://localhost:8090",
        'services.lb: publishes 8080, as the default services do: the two systems could not run together',
      ]);
    });
  });
});
