import { expect } from 'chai';
import { UsageError } from '@gozon/apps/internals';
import { ALL_FAULTS } from './faults.js';
import { parseChaosArgs, type ChaosOptions } from './options.js';

const refusal = (args: string[]): string => {
  try {
    parseChaosArgs(args);
  } catch (err) {
    expect(err).to.be.instanceOf(UsageError);
    expect((err as Error).message).to.not.include('\n');
    return (err as Error).message;
  }
  throw new Error(`expected ${args.join(' ')} to be refused`);
};

describe('chaos command line', () => {
  it('reads the options, with their defaults', () => {
    const options = parseChaosArgs(['--seed', '7']) as ChaosOptions;
    expect(options).to.deep.equal({
      durationMs: 60_000,
      maxOrders: Number.POSITIVE_INFINITY,
      faultEveryMs: 5_000,
      kinds: ALL_FAULTS.filter((k) => k !== 'broker stop_app/start_app'),
      reconcileAfterMs: 5_000,
      users: 40,
      concurrency: 8,
      seed: 7,
      out: undefined,
      keep: false,
      logDir: undefined,
      instances: 1,
      rabbitmqNodes: 0,
    });
    const custom = parseChaosArgs([
      '--duration',
      '5',
      '--faults',
      'orders,broker',
      '--no-broker-restart',
      '--reconcile-after',
      '0.5',
      '--out',
      'r.json',
      '--log-dir',
      '/tmp/chaos-logs',
    ]);
    expect(custom).to.deep.include({
      durationMs: 5_000,
      kinds: ['kill -9 orders'],
      reconcileAfterMs: 500,
      out: 'r.json',
      logDir: '/tmp/chaos-logs',
    });
    expect(parseChaosArgs(['--faults', 'purge,dead-letter'])).to.deep.include({
      kinds: ['purge a queue', 'dead-letter a batch'],
    });
    // The machine's shared broker is stopped only when asked for, by name or by flag.
    const withoutBrokerStop = ALL_FAULTS.filter((k) => k !== 'broker stop_app/start_app');
    expect(parseChaosArgs([])).to.deep.include({ kinds: withoutBrokerStop });
    expect(parseChaosArgs(['--no-broker-restart'])).to.deep.include({ kinds: withoutBrokerStop });
    expect(parseChaosArgs(['--broker-restart'])).to.deep.include({ kinds: [...ALL_FAULTS] });
    expect(parseChaosArgs(['--faults', 'broker'])).to.deep.include({ kinds: ['broker stop_app/start_app'] });
    expect(parseChaosArgs(['--help'])).to.equal('help');
  });

  it('runs several instances, on a cluster of its own with the cluster faults added', () => {
    expect(parseChaosArgs(['--instances', '2'])).to.deep.include({
      instances: 2,
      rabbitmqNodes: 0,
      kinds: ALL_FAULTS.filter((k) => k !== 'broker stop_app/start_app'),
    });
    const cluster = parseChaosArgs(['--rabbitmq-nodes', '3', '--instances', '2']) as ChaosOptions;
    expect(cluster).to.deep.include({ instances: 2, rabbitmqNodes: 3 });
    // The whole-broker stop is the local node's, not the run's: a node's stop_app takes its place.
    expect(cluster.kinds).to.deep.equal([
      ...ALL_FAULTS.filter((k) => k !== 'broker stop_app/start_app'),
      'kill -9 a broker node',
      'broker node stop_app/start_app',
      'restart Postgres',
      'cut an instance off the broker',
    ]);
    expect(parseChaosArgs(['--rabbitmq-nodes', '3', '--faults', 'node-kill,node-stop,postgres'])).to.deep.include({
      kinds: ['kill -9 a broker node', 'broker node stop_app/start_app', 'restart Postgres'],
    });
    expect(parseChaosArgs(['--faults', 'postgres'])).to.deep.include({ kinds: ['restart Postgres'] });
    expect(parseChaosArgs(['--faults', 'cut,orders'])).to.deep.include({
      kinds: ['cut an instance off the broker', 'kill -9 orders'],
    });
  });

  it('refuses unknown flags, missing values and values out of range', () => {
    expect(refusal(['--duratoin', '5'])).to.equal("chaos: Unknown option '--duratoin' (see --help)");
    expect(refusal(['--out'])).to.equal("chaos: Option '--out <value>' argument missing (see --help)");
    expect(refusal(['--duration', '0'])).to.match(/--duration must be a positive number/);
    expect(refusal(['--reconcile-after', '0'])).to.match(/--reconcile-after must be a positive number/);
    expect(refusal(['--faults', 'orders,meteor'])).to.match(/^chaos: unknown fault meteor/);
    expect(refusal(['--seed', 'x'])).to.match(/--seed must be a whole number/);
    expect(refusal(['now'])).to.match(/^chaos: Unexpected argument 'now'/);
    expect(refusal(['--faults', 'node-kill'])).to.equal('chaos: fault node-kill needs --rabbitmq-nodes');
    expect(refusal(['--instances', '1.5'])).to.match(/--instances must be a whole number from 1 to 8/);
    expect(refusal(['--instances', '0'])).to.match(/--instances must be a positive number/);
    expect(refusal(['--rabbitmq-nodes', '9'])).to.match(/--rabbitmq-nodes must be a whole number from 1 to 7/);
  });
});
