import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { pino } from 'pino';
import { createTestVhost, rabbitmqctl } from '@gozon/testkit';
import { createRabbitTestBed } from '../scratch.spec.helper.js';
import { ConfigError, readConfig } from '../config.js';
import { openBroker } from './infrastructures.js';

const run = promisify(execFile);
const silent = pino({ level: 'silent' });

describe('AMQP_QUEUE_TYPE on RabbitMQ: quorum queues, and a classic deployment refused in one line', function () {
  this.timeout(60_000);

  it('declares quorum queues that a quorum service then opens again', async () => {
    const vhost = await createTestVhost(); // empty: no queue declared yet
    try {
      const config = readConfig({ AMQP_URL: vhost.url, AMQP_QUEUE_TYPE: 'quorum' });
      const first = await openBroker(config, silent);
      await first.close();
      const again = await openBroker(config, silent);
      expect(again.label).to.include('quorum queues');
      await again.close();
      const types = await rabbitmqctl('list_queues', '-p', vhost.name, 'name', 'type', '--no-table-headers');
      const declared = types
        .trim()
        .split('\n')
        .map((line) => line.split('\t'));
      expect(declared.length).to.be.greaterThan(2);
      for (const [name, type] of declared) expect(type, name).to.equal('quorum');
    } finally {
      await vhost.delete();
    }
  });

  it('refuses to start with quorum on classic queues: a ConfigError naming the queue and the doc', async () => {
    const bed = await createRabbitTestBed();
    try {
      const config = readConfig({ AMQP_URL: bed.vhost.url, AMQP_QUEUE_TYPE: 'quorum' });
      const err = await openBroker(config, silent).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).to.be.instanceOf(ConfigError);
      expect((err as Error).message).to.match(/^queue order\.payments(\.dlq)? exists with other arguments/);
      expect((err as Error).message).to.include('docs/operations.md');
      // As a process: one line on stderr, exit status 1, no stack.
      const cli = new URL('../../bin/gozon.js', import.meta.url).pathname;
      const done = await run(process.execPath, [cli, 'dlq', 'list'], {
        env: { ...process.env, AMQP_URL: bed.vhost.url, AMQP_QUEUE_TYPE: 'quorum' },
      }).then(
        () => ({ code: 0, stderr: '' }),
        (e: { code: number; stderr: string }) => e,
      );
      expect(done.code).to.equal(1);
      const lines = done.stderr.trim().split('\n');
      expect(lines).to.have.length(1);
      expect(lines[0]).to.match(/^gozon: queue order\.payments.* AMQP_QUEUE_TYPE=quorum .*docs\/operations\.md/);
    } finally {
      await bed.close();
    }
  });
});
