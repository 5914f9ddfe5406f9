import { expect } from 'chai';
import { ConfigError, readConfig, requireVars } from './config.js';

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
