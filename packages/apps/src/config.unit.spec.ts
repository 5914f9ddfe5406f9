import { expect } from 'chai';
import { ConfigError, readConfig } from './config.js';

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
