import { parseArgs } from 'node:util';
import { strictly, UsageError } from '@gozon/apps/internals';
import { nonEmpty, positive } from '../support/command-line.js';

export const BENCH_USAGE = `npm run bench -- [options]

End-to-end throughput and latency of GoZon on the real Postgres and RabbitMQ, beside this
machine's raw limits measured in the same run. Writes results.json, chart.svg and README.md.

  --quick           a smoke run (under a minute); asserts nothing about speed
  --out DIR         where the results go (default docs/bench, or bench-results with --quick)
  --pipe-output     the services' output through the bench instead of a file per process
  --cpu-prof DIR    every GoZon process writes a V8 CPU profile into DIR when it stops
  --instances N     run N instances each of orders, payments and the gateway (load spread over
                    the gateways, rate limits shared through Redis) and give paid orders/s and CPU
                    per order for that N; results go to bench-results/instances-N unless --out
                    (docs/bench keeps the one-instance figures, compared over time)
  --help            this text`;

export interface BenchOptions {
  readonly quick: boolean;
  readonly outDir: string;
  readonly pipeOutput: boolean;
  readonly profDir: string | undefined;
  /** Instances of orders, payments and the gateway, when asked for (`--instances`). */
  readonly instances?: number;
}

/** Reads the bench's arguments: a typo must not start a full run that overwrites docs/bench. */
export const parseBenchArgs = (args: readonly string[]): BenchOptions | 'help' => {
  const { values } = strictly('bench', () =>
    parseArgs({
      args: [...args],
      options: {
        quick: { type: 'boolean', default: false },
        out: { type: 'string' },
        'pipe-output': { type: 'boolean', default: false },
        'cpu-prof': { type: 'string' },
        instances: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }),
  );
  if (values.help) return 'help';
  const instances = values.instances === undefined ? undefined : positive('bench', 'instances', values.instances);
  if (instances !== undefined && (!Number.isInteger(instances) || instances > 8)) {
    throw new UsageError('bench: --instances must be a whole number from 1 to 8');
  }
  const defaultOut =
    instances !== undefined ? `bench-results/instances-${instances}` : values.quick ? 'bench-results' : 'docs/bench';
  return {
    quick: values.quick,
    outDir: nonEmpty('bench', 'out', values.out) ?? defaultOut,
    pipeOutput: values['pipe-output'],
    profDir: nonEmpty('bench', 'cpu-prof', values['cpu-prof']),
    ...(instances === undefined ? {} : { instances }),
  };
};

export const PROXY_RATIO_USAGE = `node packages/tools/dist/bench/proxy-ratio.js [options]   (npm run proxy-ratio -- [options])

The bench's gateway figure alone, repeated: GoZon's gateway against a bare keep-alive proxy.

  --runs N                 runs (default 5)
  --seconds S              seconds per measurement (default 2)
  --concurrency N          client loops (default 16)
  --profile gateway|proxy  load one of them alone under the CPU profiler instead
  --out FILE               where --profile writes its profile (default <profile>.cpuprofile)
  --help                   this text`;

export interface ProxyRatioOptions {
  readonly runs: number;
  readonly seconds: number;
  readonly concurrency: number;
  /** Profile one of them alone instead, writing the profile to `out`. */
  readonly profile: { readonly target: 'gateway' | 'proxy'; readonly out: string } | undefined;
}

export const parseProxyRatioArgs = (args: readonly string[]): ProxyRatioOptions | 'help' => {
  const { values } = strictly('proxy-ratio', () =>
    parseArgs({
      args: [...args],
      options: {
        runs: { type: 'string', default: '5' },
        seconds: { type: 'string', default: '2' },
        concurrency: { type: 'string', default: '16' },
        profile: { type: 'string' },
        out: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }),
  );
  if (values.help) return 'help';
  const { profile } = values;
  if (profile !== undefined && profile !== 'gateway' && profile !== 'proxy') {
    throw new UsageError(`proxy-ratio: --profile is gateway or proxy (got ${profile})`);
  }
  if (values.out !== undefined && profile === undefined) {
    throw new UsageError('proxy-ratio: --out goes with --profile only');
  }
  return {
    runs: Math.round(positive('proxy-ratio', 'runs', values.runs)),
    seconds: positive('proxy-ratio', 'seconds', values.seconds),
    concurrency: Math.round(positive('proxy-ratio', 'concurrency', values.concurrency)),
    profile: profile && { target: profile, out: nonEmpty('proxy-ratio', 'out', values.out) ?? `${profile}.cpuprofile` },
  };
};

export const STEADY_RELAY_USAGE = `node packages/tools/dist/bench/steady-relay.js [options]

The outbox relay at a steady rate, as the services wire it on Postgres and RabbitMQ: commit →
consumer latency, and per message the database commits, index entries read and CPU time.

  --mode relay|commit  relay: the relay alone in a process of its own, woken by NOTIFY (default);
                       commit: a process that appends and publishes on commit, the relay its backstop
  --rate R             messages per second, one per transaction (default 200)
  --seconds S          seconds of appends (default 20)
  --json               the figures as JSON instead of a table
  --help               this text`;

export interface SteadyRelayArgs {
  readonly mode: 'relay' | 'commit';
  readonly rate: number;
  readonly seconds: number;
  readonly json: boolean;
}

export const parseSteadyRelayArgs = (args: readonly string[]): SteadyRelayArgs | 'help' => {
  const { values } = strictly('steady-relay', () =>
    parseArgs({
      args: [...args],
      options: {
        mode: { type: 'string', default: 'relay' },
        rate: { type: 'string', default: '200' },
        seconds: { type: 'string', default: '20' },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }),
  );
  if (values.help) return 'help';
  const { mode } = values;
  if (mode !== 'relay' && mode !== 'commit') {
    throw new UsageError(`steady-relay: --mode is relay or commit (got ${mode})`);
  }
  return {
    mode,
    rate: positive('steady-relay', 'rate', values.rate),
    seconds: positive('steady-relay', 'seconds', values.seconds),
    json: values.json,
  };
};
