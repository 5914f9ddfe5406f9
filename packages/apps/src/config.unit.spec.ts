import { expect } from 'chai';
import { ConfigError, readConfig, requireVars } from './config.js';
import { envSchema } from './env.js';

describe('config: the poison guard limit', () => {
  it('allows 5 redeliveries unless GOZON_MAX_REDELIVERIES says otherwise (0 included)', () => {
    expect(readConfig({}).maxRedeliveries).to.equal(5);
    expect(readConfig({ GOZON_MAX_REDELIVERIES: '12' }).maxRedeliveries).to.equal(12);
    expect(readConfig({ GOZON_MAX_REDELIVERIES: '0' }).maxRedeliveries).to.equal(0);
  });

  it('refuses a limit that is not a whole number of at least 0', () => {
    for (const bad of ['-1', '2.5', 'many'])
      expect(() => readConfig({ GOZON_MAX_REDELIVERIES: bad })).to.throw(ConfigError, /GOZON_MAX_REDELIVERIES/);
  });
});

describe('config: the web client at an external issuer', () => {
  it('reads OIDC_CLIENT_ID and OIDC_CLIENT_SECRET, and has no client without an id', () => {
    const env = { OIDC_ISSUER: 'https://id.example.org/realm' };
    expect(readConfig(env).auth.client).to.equal(undefined);
    expect(readConfig({ ...env, OIDC_CLIENT_SECRET: 's3cret' }).auth.client).to.equal(undefined);
    expect(readConfig({ ...env, OIDC_CLIENT_ID: 'gozon-web', OIDC_CLIENT_SECRET: 's3cret' }).auth.client).to.deep.equal(
      {
        id: 'gozon-web',
        secret: 's3cret',
      },
    );
  });
});

describe('config: each service on its own broker user', () => {
  it('gives each service its own AMQP URL, falling back to AMQP_URL', () => {
    const config = readConfig({ AMQP_URL: 'amqp://ops:x@rabbit', ORDERS_AMQP_URL: 'amqp://gozon-orders:y@rabbit' });
    expect(config.ordersAmqpUrl).to.equal('amqp://gozon-orders:y@rabbit');
    expect(config.paymentsAmqpUrl).to.equal('amqp://ops:x@rabbit');
    expect(config.ordersAmqpUser).to.equal('gozon-orders');
    expect(config.paymentsAmqpUser).to.equal('ops');
  });

  it('takes *_AMQP_USER over the user of the URL, and knows none without either', () => {
    const config = readConfig({
      ORDERS_AMQP_URL: 'amqp://gozon-orders:y@rabbit',
      PAYMENTS_AMQP_USER: 'gozon-payments',
    });
    expect(config.paymentsAmqpUrl).to.equal(undefined);
    expect(config.paymentsAmqpUser).to.equal('gozon-payments');
    expect(readConfig({ ORDERS_AMQP_URL: 'amqp://rabbit' }).ordersAmqpUser).to.equal('guest');
    expect(readConfig({}).ordersAmqpUser).to.equal(undefined);
  });

  it('asks a service started alone for its own URL or AMQP_URL, by name', () => {
    const config = readConfig({ ORDERS_DATABASE_URL: 'postgres://o', PAYMENTS_DATABASE_URL: 'postgres://p' });
    expect(() => requireVars(config, 'orders')).to.throw(ConfigError, /ORDERS_AMQP_URL or AMQP_URL/);
    expect(() => requireVars(config, 'payments')).to.throw(ConfigError, /PAYMENTS_AMQP_URL or AMQP_URL/);
    const own = readConfig({ ORDERS_DATABASE_URL: 'postgres://o', ORDERS_AMQP_URL: 'amqp://gozon-orders:y@rabbit' });
    expect(() => requireVars(own, 'orders')).not.to.throw();
    expect(() => requireVars(own, 'payments')).to.throw(ConfigError, /PAYMENTS_AMQP_URL or AMQP_URL/);
  });
});

describe('config: the edge', () => {
  it('listens on every address unless HOST says otherwise, and trusts no proxy unless TRUST_PROXY names it', () => {
    expect(readConfig({}).host).to.equal('0.0.0.0');
    expect(readConfig({ HOST: '127.0.0.1' }).host).to.equal('127.0.0.1');
    expect([...readConfig({}).edge.trustedProxies]).to.deep.equal([]);
    expect([...readConfig({ TRUST_PROXY: '10.0.0.2, 10.0.0.3' }).edge.trustedProxies]).to.deep.equal([
      '10.0.0.2',
      '10.0.0.3',
    ]);
  });

  it('has generous default budgets per second, in memory, each overridable (0: none)', () => {
    expect(readConfig({}).edge).to.deep.include({
      perAddress: 5_000,
      perUser: 5_000,
      windowSeconds: 1,
      redisUrl: undefined,
    });
    const env = {
      GOZON_RATE_LIMIT_PER_ADDRESS: '0',
      GOZON_RATE_LIMIT_PER_USER: '100',
      GOZON_RATE_LIMIT_WINDOW_SECONDS: '60',
      REDIS_URL: 'redis://cache:6379',
    };
    expect(readConfig(env).edge).to.deep.include({
      perAddress: 0,
      perUser: 100,
      windowSeconds: 60,
      redisUrl: 'redis://cache:6379',
    });
  });

  it('refuses a REDIS_URL that is not redis:// and a window of 0', () => {
    expect(() => readConfig({ REDIS_URL: 'http://cache' })).to.throw(ConfigError, /REDIS_URL/);
    expect(() => readConfig({ GOZON_RATE_LIMIT_WINDOW_SECONDS: '0' })).to.throw(ConfigError, /WINDOW/);
    expect(() => readConfig({ GOZON_RATE_LIMIT_PER_USER: 'lots' })).to.throw(ConfigError, /PER_USER/);
  });
});

describe('config: one schema for every variable', () => {
  /** A value each checked variable refuses; a secret's value must not be repeated. */
  const refused: Record<string, string> = {
    GATEWAY_PORT: 'http',
    ORDERS_PORT: '-1',
    PAYMENTS_PORT: '80.5',
    WEB_PORT: '65536',
    ORDERS_URL: 'orders:8081',
    PAYMENTS_URL: 'ftp://payments',
    WEB_URL: 'web',
    ORDERS_DATABASE_URL: 'mysql://gozon:hunter2@db/orders',
    PAYMENTS_DATABASE_URL: 'hunter2',
    AMQP_URL: 'amqp://a:hunter2@rabbit-1,http://rabbit-2',
    ORDERS_AMQP_URL: 'rabbit:hunter2',
    PAYMENTS_AMQP_URL: 'https://a:hunter2@rabbit',
    GOZON_RETENTION_OUTBOX_HOURS: '0',
    GOZON_RETENTION_INBOX_HOURS: '-2',
    GOZON_RETENTION_IDEMPOTENCY_HOURS: 'a day',
    GOZON_REPLAY_HORIZON_HOURS: 'week',
    GOZON_RETENTION_INTERVAL_MINUTES: '0',
    GOZON_MAX_REDELIVERIES: '2.5',
    GOZON_RECONCILE_AFTER_SECONDS: '0',
    GOZON_PUBLIC_URL: 'localhost:8080',
    GOZON_AUTH: 'off',
    OIDC_ISSUER: 'issuer',
    OIDC_JWKS_URL: 'file:///keys.json',
    TRUST_PROXY: '10.0.0.2, lb.example.org',
    REDIS_URL: 'http://:hunter2@cache',
    GOZON_RATE_LIMIT_PER_ADDRESS: '-5',
    GOZON_RATE_LIMIT_PER_USER: 'lots',
    GOZON_RATE_LIMIT_WINDOW_SECONDS: '0',
    LOG_LEVEL: 'verbose',
    AMQP_QUEUE_TYPE: 'stream',
    OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318',
    OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'grpc://hunter2@collector',
    OTEL_EXPORTER_OTLP_HEADERS: 'hunter2',
    OTEL_EXPORTER_OTLP_TRACES_HEADERS: 'api-key=x,hunter2',
    OTEL_EXPORTER_OTLP_TIMEOUT: '0',
    OTEL_EXPORTER_OTLP_TRACES_TIMEOUT: 'soon',
    OTEL_EXPORTER_OTLP_COMPRESSION: 'zstd',
    OTEL_EXPORTER_OTLP_TRACES_COMPRESSION: 'yes',
  };
  /** Free text: anything but blank is taken as it is. */
  const anyText = [
    'HOST',
    'ORDERS_AMQP_USER',
    'PAYMENTS_AMQP_USER',
    'AMQP_EXCHANGE',
    'GOZON_DATA_DIR',
    'OIDC_AUDIENCE',
    'OIDC_USER_CLAIM',
    'OIDC_CLIENT_ID',
    'OIDC_CLIENT_SECRET',
    'OTEL_SERVICE_NAME',
  ];
  const secrets = ['_DATABASE_URL', 'AMQP_URL', 'REDIS_URL', 'OTEL_EXPORTER_OTLP'];

  it('knows each variable it reads, and each is tested here', () => {
    expect(Object.keys(envSchema.shape).sort()).to.deep.equal([...Object.keys(refused), ...anyText].sort());
  });

  for (const [name, value] of Object.entries(refused)) {
    it(`refuses ${name}=${JSON.stringify(value)} in one line that names it and what it expects`, () => {
      let message = '';
      try {
        readConfig({ [name]: value });
      } catch (err) {
        expect(err).to.be.instanceOf(ConfigError);
        message = (err as Error).message;
      }
      expect(message).to.match(new RegExp(`^${name} must be .+, got .+$`));
      expect(message).not.to.contain('\n');
      if (secrets.some((secret) => name.includes(secret))) expect(message).not.to.contain('hunter2');
      else expect(message).to.contain(JSON.stringify(value));
    });
  }

  it('names every refused variable in the same line', () => {
    expect(() => readConfig({ LOG_LEVEL: 'loud', WEB_PORT: 'x' })).to.throw(
      ConfigError,
      /^WEB_PORT must be a port number \(0-65535\), got "x"; LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent, got "loud"$/,
    );
  });

  it('has the documented defaults, and takes a blank value for unset', () => {
    const blank = Object.fromEntries(Object.keys(envSchema.shape).map((name) => [name, '  ']));
    for (const env of [{}, blank]) {
      const config = readConfig(env);
      expect(config).to.deep.include({
        gatewayPort: 8080,
        ordersPort: 8081,
        paymentsPort: 8082,
        webPort: 8083,
        ordersUrl: 'http://127.0.0.1:8081',
        paymentsUrl: 'http://127.0.0.1:8082',
        webUrl: 'http://127.0.0.1:8083',
        ordersDatabaseUrl: undefined,
        paymentsDatabaseUrl: undefined,
        amqpUrl: undefined,
        exchange: 'gozon',
        queueType: 'classic',
        dataDir: '.gozon-data',
        retention: { outboxHours: 168, inboxHours: 336, idempotencyHours: 48, replayHorizonHours: 168 },
        retentionIntervalMs: 600_000,
        maxRedeliveries: 5,
        reconcileAfterMs: 30_000,
        publicUrl: 'http://localhost:8080',
        host: '0.0.0.0',
        logLevel: 'info',
      });
      expect(config.auth).to.deep.equal({
        mode: 'oidc',
        issuer: 'http://localhost:8080/auth',
        builtIn: true,
        audience: 'gozon',
        userClaim: 'sub',
        jwksUrl: 'http://127.0.0.1:8080/auth/jwks',
        client: undefined,
      });
      expect(config.tracing).to.deep.equal({
        endpoint: undefined,
        serviceName: undefined,
        headers: {},
        timeoutMillis: undefined,
        compression: undefined,
      });
    }
  });

  it('takes the values it accepts, in the forms the contract gives', () => {
    const config = readConfig({
      GATEWAY_PORT: '9000',
      ORDERS_DATABASE_URL: 'postgresql://gozon@db/orders',
      AMQP_URL: 'amqp://rabbit-1, amqps://rabbit-2',
      GOZON_AUTH: 'none',
      OIDC_ISSUER: 'https://id.example.org/realm/',
      TRUST_PROXY: '10.0.0.2,::1',
      REDIS_URL: 'rediss://cache:6380',
      LOG_LEVEL: 'debug',
      AMQP_QUEUE_TYPE: 'quorum',
      GOZON_RETENTION_INTERVAL_MINUTES: '0.5',
      GOZON_RECONCILE_AFTER_SECONDS: '2.5',
    });
    expect(config.gatewayPort).to.equal(9000);
    expect(config.ordersDatabaseUrl).to.equal('postgresql://gozon@db/orders');
    expect(config.amqpUrl).to.equal('amqp://rabbit-1, amqps://rabbit-2');
    expect(config.queueType).to.equal('quorum');
    expect(config.auth).to.deep.include({ mode: 'none', issuer: 'https://id.example.org/realm', jwksUrl: undefined });
    expect([...config.edge.trustedProxies]).to.deep.equal(['10.0.0.2', '::1']);
    expect(config.edge.redisUrl).to.equal('rediss://cache:6380');
    expect(config.logLevel).to.equal('debug');
    expect(config.retentionIntervalMs).to.equal(30_000);
    expect(config.reconcileAfterMs).to.equal(2_500);
  });

  it('refuses a list of RabbitMQ nodes that name different users, in one line', () => {
    expect(() => readConfig({ AMQP_URL: 'amqp://orders:a@rabbit-1,amqp://payments:b@rabbit-2' })).to.throw(
      ConfigError,
      /^the nodes of one AMQP URL list name different users \(orders, payments\)/,
    );
    expect(readConfig({ AMQP_URL: 'amqp://orders:a@rabbit-1,amqp://orders:b@rabbit-2' }).ordersAmqpUser).to.equal(
      'orders',
    );
  });

  it('refuses retention windows that would break a guarantee, naming the variables', () => {
    expect(() => readConfig({ GOZON_RETENTION_INBOX_HOURS: '24' })).to.throw(ConfigError, /GOZON_RETENTION_.*inbox/);
    expect(() => readConfig({ GOZON_RETENTION_IDEMPOTENCY_HOURS: '12' })).to.throw(ConfigError, /24 hours/);
  });

  it('reads the OTLP exporter variables as the OpenTelemetry specification does', () => {
    const generic = readConfig({
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/',
      OTEL_EXPORTER_OTLP_HEADERS: 'api-key=a,tenant=t',
      OTEL_EXPORTER_OTLP_TRACES_HEADERS: 'api-key=b',
      OTEL_EXPORTER_OTLP_TIMEOUT: '5000',
      OTEL_EXPORTER_OTLP_COMPRESSION: 'gzip',
      OTEL_SERVICE_NAME: 'shop',
    }).tracing;
    expect(generic).to.deep.equal({
      endpoint: 'http://collector:4318/v1/traces',
      serviceName: 'shop',
      headers: { 'api-key': 'b', tenant: 't' },
      timeoutMillis: 5000,
      compression: 'gzip',
    });
    const specific = readConfig({
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318',
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://traces.example.org/ingest',
      OTEL_EXPORTER_OTLP_TIMEOUT: '5000',
      OTEL_EXPORTER_OTLP_TRACES_TIMEOUT: '2000',
    }).tracing;
    expect(specific).to.deep.include({ endpoint: 'https://traces.example.org/ingest', timeoutMillis: 2000 });
  });
});
