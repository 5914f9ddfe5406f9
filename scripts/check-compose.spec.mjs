import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import { describe, it } from 'mocha';
import { checkCompose } from './check-compose.mjs';

const real = readFileSync(new URL('../docker-compose.yml', import.meta.url), 'utf-8');

/** The real file with one edit; the edit must apply, or the test would check the real file. */
const edited = (from, to) => {
  expect(real).to.include(from);
  return real.replace(from, to);
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
    const volumes = edited(
      'volumes:\n  gateway-data:\n  rabbitmq-data:\n  orders-db-data:\n  payments-db-data:\n',
      'volumes:\n  - gateway-data\n  - rabbitmq-data\n  - orders-db-data\n  - payments-db-data\n',
    );
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
});
