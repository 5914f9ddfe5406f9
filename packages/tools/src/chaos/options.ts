import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { strictly, UsageError } from '@gozon/apps/internals';
import { nonEmpty, positive } from '../support/command-line.js';
import { ALL_FAULTS, CLUSTER_FAULTS, type FaultKind } from './faults.js';

export const CHAOS_USAGE = `npm run chaos -- [options]

Starts GoZon as separate processes on the real Postgres and RabbitMQ (fresh databases and vhost),
drives orders, deposits and client retries through the gateway while injecting faults, lets the
system go quiet and checks the ledger from outside. Exits 1 on any violation.

  --duration S        seconds of load at most (default 60)
  --orders N          stop the load once N orders were requested (default: no cap)
  --fault-every S     mean seconds between faults (default 5)
  --faults a,b        fault kinds (default all but broker): orders,payments,gateway,connections,
                      backends,republish,broker,purge,dead-letter; with --rabbitmq-nodes also
                      node-kill, node-stop, postgres and cut (postgres and cut may be named
                      without a cluster too; cut: one service instance cut off the broker 4–8 s)
  --instances N       instances of orders, payments and the gateway (default 1), on the same
                      databases and vhost; the load is spread over the gateways, a kill picks one
  --rabbitmq-nodes N  run on a scratch RabbitMQ cluster of N nodes started (and deleted) by the run,
                      with quorum queues, instead of a vhost of the local node; adds the faults
                      kill -9 of a node, a node's stop_app/start_app, a fast Postgres restart and
                      an instance cut off the broker, and leaves out the whole-broker stop_app
  --reconcile-after S the services' GOZON_RECONCILE_AFTER_SECONDS (default 5): how long an order
                      stays NEW before its payment is asked for again
  --broker-restart    add the local broker's stop_app/start_app to the default faults: it stops the
                      machine's shared RabbitMQ for everyone, so only on a broker of your own (a
                      broker stop on a node of the run's own: --rabbitmq-nodes 1 or more)
  --no-broker-restart the default; accepted for scripts written when it was not
  --users N           funded users (default 40)
  --concurrency N     client loops (default 8)
  --seed N            random seed (default: random; printed, so a run can be repeated)
  --out FILE          also write the report as JSON
  --keep              keep the databases and vhost afterwards, for inspection
  --log-dir DIR       write each process's log, at info, to DIR/<name>.log (made if missing)
                      instead of keeping its warnings in memory
  --help              this text

Ctrl-C or SIGTERM stops the run, undoes the fault in progress and drops what it made.`;

const FAULT_NAMES: Record<string, FaultKind> = {
  orders: 'kill -9 orders',
  payments: 'kill -9 payments',
  gateway: 'kill -9 gateway',
  connections: 'close AMQP connections',
  backends: 'terminate Postgres backends',
  republish: 'republish outbox rows',
  broker: 'broker stop_app/start_app',
  purge: 'purge a queue',
  'dead-letter': 'dead-letter a batch',
  'node-kill': 'kill -9 a broker node',
  'node-stop': 'broker node stop_app/start_app',
  postgres: 'restart Postgres',
  cut: 'cut an instance off the broker',
};

/** Faults that need a cluster of the run's own. */
const NEEDS_CLUSTER: readonly FaultKind[] = ['kill -9 a broker node', 'broker node stop_app/start_app'];

export interface ChaosOptions {
  readonly durationMs: number;
  readonly maxOrders: number;
  readonly faultEveryMs: number;
  readonly kinds: readonly FaultKind[];
  /** The services' `GOZON_RECONCILE_AFTER_SECONDS`, in ms. */
  readonly reconcileAfterMs: number;
  readonly users: number;
  readonly concurrency: number;
  readonly seed: number;
  readonly out: string | undefined;
  readonly keep: boolean;
  /** Where each process writes its log (`--log-dir`); unset, warnings only, kept in memory. */
  readonly logDir: string | undefined;
  /** Instances of orders, payments and the gateway. */
  readonly instances: number;
  /** Nodes of the scratch RabbitMQ cluster the run starts; 0: a vhost of the local node. */
  readonly rabbitmqNodes: number;
}

/**
 * The faults of the run. Stopping the local broker's app stops the machine's shared RabbitMQ, so
 * it comes only when asked for (`--broker-restart`, or `broker` in `--faults`), and never on a
 * cluster of the run's own, where one node's stop_app takes its place.
 */
const faultKinds = (
  list: string | undefined,
  brokerRestart: 'asked' | 'refused' | 'unsaid',
  cluster: boolean,
): FaultKind[] => {
  const kinds = list
    ? list.split(',').map((name) => {
        const kind = FAULT_NAMES[name.trim()];
        if (!kind) throw new UsageError(`chaos: unknown fault ${name}; known: ${Object.keys(FAULT_NAMES).join(', ')}`);
        if (!cluster && NEEDS_CLUSTER.includes(kind))
          throw new UsageError(`chaos: fault ${name} needs --rabbitmq-nodes`);
        return kind;
      })
    : cluster
      ? [...ALL_FAULTS, ...CLUSTER_FAULTS]
      : [...ALL_FAULTS];
  const keep = !cluster && (brokerRestart === 'asked' || (brokerRestart === 'unsaid' && list !== undefined));
  return keep ? kinds : kinds.filter((k) => k !== 'broker stop_app/start_app');
};

/** Reads the chaos run's arguments; throws a UsageError for anything it does not know. */
export const parseChaosArgs = (args: readonly string[]): ChaosOptions | 'help' => {
  const { values } = strictly('chaos', () =>
    parseArgs({
      args: [...args],
      options: {
        duration: { type: 'string', default: '60' },
        orders: { type: 'string' },
        'fault-every': { type: 'string', default: '5' },
        faults: { type: 'string' },
        'broker-restart': { type: 'boolean', default: false },
        'no-broker-restart': { type: 'boolean', default: false },
        'reconcile-after': { type: 'string', default: '5' },
        users: { type: 'string', default: '40' },
        concurrency: { type: 'string', default: '8' },
        seed: { type: 'string' },
        out: { type: 'string' },
        keep: { type: 'boolean', default: false },
        'log-dir': { type: 'string' },
        instances: { type: 'string', default: '1' },
        'rabbitmq-nodes': { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }),
  );
  if (values.help) return 'help';
  const number = (name: string, text: string | undefined): number => positive('chaos', name, text);
  const seed = values.seed === undefined ? randomBytes(4).readUInt32BE(0) : Number(values.seed);
  if (!Number.isInteger(seed)) throw new UsageError(`chaos: --seed must be a whole number (got ${values.seed})`);
  const whole = (name: string, text: string | undefined, max: number): number => {
    const n = number(name, text);
    if (!Number.isInteger(n) || n > max)
      throw new UsageError(`chaos: --${name} must be a whole number from 1 to ${max}`);
    return n;
  };
  const rabbitmqNodes =
    values['rabbitmq-nodes'] === undefined ? 0 : whole('rabbitmq-nodes', values['rabbitmq-nodes'], 7);
  return {
    durationMs: number('duration', values.duration) * 1000,
    maxOrders: values.orders === undefined ? Number.POSITIVE_INFINITY : number('orders', values.orders),
    faultEveryMs: number('fault-every', values['fault-every']) * 1000,
    kinds: faultKinds(
      values.faults,
      values['no-broker-restart'] ? 'refused' : values['broker-restart'] ? 'asked' : 'unsaid',
      rabbitmqNodes > 0,
    ),
    reconcileAfterMs: number('reconcile-after', values['reconcile-after']) * 1000,
    users: Math.round(number('users', values.users)),
    concurrency: Math.round(number('concurrency', values.concurrency)),
    seed,
    out: nonEmpty('chaos', 'out', values.out),
    keep: values.keep,
    logDir: nonEmpty('chaos', 'log-dir', values['log-dir']),
    instances: whole('instances', values.instances, 8),
    rabbitmqNodes,
  };
};
