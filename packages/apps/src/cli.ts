import 'reflect-metadata';
import { runToken } from './auth/token-command.js';
import { refuse, UsageError } from './command-line.js';
import { parseGozon, USAGE, type Command } from './gozon-args.js';
import { ConfigError, configOrExit, requireVars, type Config } from './config.js';
import { identityFor, warnIfOpen } from './auth/identity.js';
import { runDlq } from './dlq.js';
import { createLogger } from './logger.js';
import { installTracing, type Tracing } from './observability/tracing.js';
import { startGateway, startWeb } from './runtime/gateway-part.js';
import { migrateAll, openBrokers, serviceInfrastructure, type Brokers } from './runtime/infrastructures.js';
import { startService, type Part } from './runtime/service-part.js';

// Until the configuration is read, the logger logs at info; then at the level it names.
let log = createLogger('gozon');

const start = async (
  command: Exclude<Command, 'migrate' | 'dlq' | 'token'>,
  config: Config,
): Promise<{ parts: Part[]; brokers?: Brokers }> => {
  if (command === 'gateway') return { parts: [await startGateway(config, log)] };
  if (command === 'web') return { parts: [await startWeb(config, log)] };
  if (command !== 'all') requireVars(config, command);
  const services = command === 'all' ? (['payments', 'orders'] as const) : [command];
  // In one process, the parts behind the gateway are reached only by it: not from other machines.
  const inside = command === 'all' ? '127.0.0.1' : undefined;
  // Each service on its own broker user; one connection per distinct URL.
  const brokers = await openBrokers(config, log, services);
  const parts: Part[] = [];
  try {
    for (const service of services) {
      const infra = await serviceInfrastructure(config, service, brokers.of(service), log);
      const port = service === 'orders' ? config.ordersPort : config.paymentsPort;
      parts.push(
        await startService(
          service,
          infra,
          port,
          log,
          identityFor(config.auth, service, log),
          {
            retention: { windows: config.retention, intervalMs: config.retentionIntervalMs },
            reconcileAfterMs: config.reconcileAfterMs,
          },
          inside,
        ),
      );
    }
    if (command === 'all') {
      parts.push(await startWeb(config, log, inside));
      parts.push(await startGateway(config, log));
    }
  } catch (err) {
    await stopAll(parts, brokers);
    throw err;
  }
  return { parts, brokers };
};

/** Front door first: stop taking requests, then drain services and close what they used. */
const stopAll = async (parts: Part[], brokers?: Brokers): Promise<void> => {
  for (const part of [...parts].reverse()) {
    await part.stop().catch((err: unknown) => log.error({ err }, `${part.name}: failed to stop cleanly`));
  }
  await brokers?.close().catch((err: unknown) => log.error({ err }, 'broker: failed to close cleanly'));
};

/** Sends the spans still buffered, without letting an unreachable collector hold up the exit. */
const flush = (tracing: Tracing): Promise<void> =>
  Promise.race([
    tracing.shutdown().catch((err: unknown) => log.warn({ err: String(err) }, 'tracing: flush failed')),
    new Promise<void>((resolve) => setTimeout(resolve, 2_000).unref()),
  ]);

/** Reads the command line: the command to run, or undefined once it has been answered (help, refusal). */
const commandLine = (): { command: Command; rest: string[] } | undefined => {
  try {
    const parsed = parseGozon(process.argv.slice(2));
    if (parsed !== 'help') return parsed;
    console.log(USAGE);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    refuse(err);
  }
  return undefined;
};

const main = async (): Promise<void> => {
  const line = commandLine();
  if (!line) return;
  const { command, rest } = line;
  // Read before anything logs: the level is part of it, and a refused value ends here in one line.
  const config = configOrExit();
  log = createLogger('gozon', undefined, undefined, config.logLevel);
  if (command === 'dlq') {
    process.exitCode = await runDlq(rest, config, (text) => console.log(text));
    return;
  }
  if (command === 'token') {
    process.exitCode = await runToken(
      rest,
      config,
      (text) => process.stdout.write(`${text}\n`),
      (text) => console.error(text),
    );
    return;
  }
  if (command === 'migrate') {
    requireVars(config, 'migrate');
    await migrateAll(config, log);
    return;
  }
  warnIfOpen(config.auth, log);
  // The gateway alone hands its span on explicitly (headers, its log line): no active context needed.
  const tracing = installTracing(`gozon-${command}`, config.tracing, command !== 'gateway' && command !== 'web');
  const running = await start(command, config);
  log.info(`tracing: W3C trace context; span export ${tracing.exporter}`);
  let stopping = false;
  const shutdown = (signal: string): void => {
    if (stopping) {
      log.warn(`${signal} again: exiting now`);
      process.exit(1);
    }
    stopping = true;
    log.info(`${signal}: stopping gracefully`);
    void stopAll(running.parts, running.brokers)
      .then(() => flush(tracing))
      .then(() => process.exit(0));
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
};

// No request or message may take the process down: what escapes is logged, and it goes on.
process.on('unhandledRejection', (err) => log.error({ err }, 'unhandled rejection'));
process.on('uncaughtException', (err) => log.error({ err }, 'uncaught exception'));

main().catch((err: unknown) => {
  if (err instanceof ConfigError) {
    console.error(`gozon: ${err.message}`);
  } else {
    log.fatal({ err: err instanceof Error ? err.message : String(err) }, 'failed to start');
  }
  process.exit(1);
});
