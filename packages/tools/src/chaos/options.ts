import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { strictly, UsageError } from '@gozon/apps/internals';
import { nonEmpty, positive } from '../support/command-line.js';
import { ALL_FAULTS, type FaultKind } from './faults.js';

export const CHAOS_USAGE = `npm run chaos -- [options]

Starts GoZon as separate processes on the real Postgres and RabbitMQ (fresh databases and vhost),
drives orders, deposits and client retries through the gateway while injecting faults, lets the
system go quiet and checks the ledger from outside. Exits 1 on any violation.

  --duration S        seconds of load at most (default 60)
  --orders N          stop the load once N orders were requested (default: no cap)
  --fault-every S     mean seconds between faults (default 5)
  --faults a,b        fault kinds (default all): orders,payments,gateway,connections,backends,
                      republish,broker,purge,dead-letter
  --reconcile-after S the services' GOZON_RECONCILE_AFTER_SECONDS (default 5): how long an order
                      stays NEW before its payment is asked for again
  --no-broker-restart leave out RabbitMQ stop_app/start_app (it restarts the whole shared broker)
  --users N           funded users (default 40)
  --concurrency N     client loops (default 8)
  --seed N            random seed (default: random; printed, so a run can be repeated)
  --out FILE          also write the report as JSON
  --keep              keep the databases and vhost afterwards, for inspection
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
};

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
}

const faultKinds = (list: string | undefined, brokerRestart: boolean): FaultKind[] => {
  const kinds = list
    ? list.split(',').map((name) => {
        const kind = FAULT_NAMES[name.trim()];
        if (!kind) throw new UsageError(`chaos: unknown fault ${name}; known: ${Object.keys(FAULT_NAMES).join(', ')}`);
        return kind;
      })
    : [...ALL_FAULTS];
  return brokerRestart ? kinds : kinds.filter((k) => k !== 'broker stop_app/start_app');
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
        'no-broker-restart': { type: 'boolean', default: false },
        'reconcile-after': { type: 'string', default: '5' },
        users: { type: 'string', default: '40' },
        concurrency: { type: 'string', default: '8' },
        seed: { type: 'string' },
        out: { type: 'string' },
        keep: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }),
  );
  if (values.help) return 'help';
  const number = (name: string, text: string | undefined): number => positive('chaos', name, text);
  const seed = values.seed === undefined ? randomBytes(4).readUInt32BE(0) : Number(values.seed);
  if (!Number.isInteger(seed)) throw new UsageError(`chaos: --seed must be a whole number (got ${values.seed})`);
  return {
    durationMs: number('duration', values.duration) * 1000,
    maxOrders: values.orders === undefined ? Number.POSITIVE_INFINITY : number('orders', values.orders),
    faultEveryMs: number('fault-every', values['fault-every']) * 1000,
    kinds: faultKinds(values.faults, !values['no-broker-restart']),
    reconcileAfterMs: number('reconcile-after', values['reconcile-after']) * 1000,
    users: Math.round(number('users', values.users)),
    concurrency: Math.round(number('concurrency', values.concurrency)),
    seed,
    out: nonEmpty('chaos', 'out', values.out),
    keep: values.keep,
  };
};
