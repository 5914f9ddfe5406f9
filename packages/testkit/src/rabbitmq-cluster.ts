// A RabbitMQ cluster of a few nodes on this machine, for tests and the chaos tool: each node is
// the installed `rabbitmq-server` under a name, ports, data and log folders of its own, all sharing
// one Erlang cookie. The machine's default node (rabbit@localhost, 5672/25672) is never touched.
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { cleanUpOnSignals, onCleanup } from './cleanup.js';
import type { VhostHost } from './rabbitmq.js';
import { pathToFileURL } from 'node:url';

const run = promisify(execFile);

/** Where a node's distribution port lies from its AMQP port. */
const DIST_OFFSET = 100;
/** The user `rabbitmq-server` runs its node as: it must own the node's folders. */
const RABBITMQ_USER = 'rabbitmq';
const STATE_FILE = 'cluster.json';

export interface ClusterOptions {
  /** Node i listens for AMQP on `basePort + i` and for Erlang distribution on `basePort + 100 + i`. */
  readonly basePort?: number;
  readonly nodes?: number;
  /** Where the nodes keep data and logs; made, and deleted by `stop()`. */
  readonly dir?: string;
  /** Cap on the whole start, in milliseconds. */
  readonly timeoutMs?: number;
}

export interface ClusterNode {
  /** The Erlang node name, e.g. `gozon-5701@localhost`. */
  readonly name: string;
  readonly amqpPort: number;
  readonly distPort: number;
  /** The node's operating-system process while it runs. */
  pid: number | undefined;
}

/** What `start` leaves behind for `stop` (and another process) to find. */
interface ClusterState {
  readonly dir: string;
  readonly cookie: string;
  readonly nodes: ClusterNode[];
}

export interface RabbitCluster {
  /** One AMQP URL per node (guest/guest, default vhost), in node order. */
  readonly urls: string[];
  /** All of them, comma-separated, as `AMQP_URL` takes them. */
  readonly amqpUrl: string;
  readonly nodes: readonly ClusterNode[];
  readonly dir: string;
  /** How long the start took. */
  readonly startedInMs: number;
  /** `kill -9` of node i's process (as a crash would); `restart(i)` brings it back. */
  kill(i: number): Promise<void>;
  /** Stops the RabbitMQ application on node i; the Erlang node stays up. */
  stopApp(i: number): Promise<void>;
  startApp(i: number): Promise<void>;
  /** Starts node i again (killing it first if it still runs) and waits until it is back. */
  restart(i: number): Promise<void>;
  /** `rabbitmqctl` against node i (with the cluster's cookie); answers what it printed. */
  ctl(i: number, ...args: string[]): Promise<string>;
  /** The cluster as a place for test vhosts (`createTestVhost(cluster.host)`); asks a running node. */
  readonly host: VhostHost;
  /** Kills every node and deletes the folder. */
  stop(): Promise<void>;
}

export const defaultClusterDir = (basePort: number): string => `/tmp/gozon-rabbitmq-cluster-${basePort}`;

const nodeDir = (dir: string, i: number): string => join(dir, `node-${i}`);
const pidFile = (dir: string, i: number): string => join(nodeDir(dir, i), 'node.pid');

const ctlAs = async (cookie: string, node: string, args: string[], timeoutMs = 60_000): Promise<string> => {
  try {
    const { stdout } = await run('rabbitmqctl', ['--erlang-cookie', cookie, '-n', node, '--quiet', ...args], {
      timeout: timeoutMs,
    });
    return stdout;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`rabbitmqctl -n ${node} ${args.join(' ')}: ${(e.stderr || e.message).trim()}`);
  }
};

const portFree = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });

/** A base port whose AMQP and distribution ports are all free now, for `nodes` nodes. */
export const freeBasePort = async (nodes = 3, from = 5700 + Math.floor(Math.random() * 50) * 3): Promise<number> => {
  for (let base = from; base < from + 300; base += nodes) {
    const ports = Array.from({ length: nodes }, (_, i) => [base + i, base + DIST_OFFSET + i]).flat();
    if ((await Promise.all(ports.map(portFree))).every(Boolean)) return base;
  }
  throw new Error(`no free ports for ${nodes} RabbitMQ nodes from ${from}`);
};

const alive = (pid: number | undefined): boolean => {
  if (pid === undefined) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

const readPid = (dir: string, i: number): number | undefined => {
  try {
    const pid = Number(readFileSync(pidFile(dir, i), 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
};

/** Lays out node i's folders and config, owned by the rabbitmq user. */
const prepareNode = (dir: string, node: ClusterNode, i: number): void => {
  const base = nodeDir(dir, i);
  for (const sub of ['', 'mnesia', 'log']) mkdirSync(join(base, sub), { recursive: true });
  // The machine's /etc/rabbitmq/rabbitmq.conf pins its listener to 5672: each node has its own.
  writeFileSync(
    join(base, 'rabbitmq.conf'),
    [`listeners.tcp.local = 127.0.0.1:${node.amqpPort}`, 'log.console = false', 'log.file.level = info', ''].join('\n'),
  );
  writeFileSync(join(base, 'enabled_plugins'), '[].\n');
  const { uid, gid } = rabbitmqIds();
  for (const path of ['', 'mnesia', 'log', 'rabbitmq.conf', 'enabled_plugins']) chownSync(join(base, path), uid, gid);
};

let ids: { uid: number; gid: number } | undefined;
const rabbitmqIds = (): { uid: number; gid: number } => {
  if (ids) return ids;
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${RABBITMQ_USER}:`));
  const [, , uid, gid] = line?.split(':') ?? [];
  if (uid === undefined || gid === undefined)
    throw new Error(`no ${RABBITMQ_USER} user: is rabbitmq-server installed?`);
  ids = { uid: Number(uid), gid: Number(gid) };
  return ids;
};

/** Starts node i's `rabbitmq-server` in the background; it outlives this process. */
const launch = (state: ClusterState, i: number): void => {
  const node = state.nodes[i] as ClusterNode;
  const base = nodeDir(state.dir, i);
  rmSync(pidFile(state.dir, i), { force: true });
  const out = openSync(join(base, 'stdout.log'), 'a');
  const child = spawn('rabbitmq-server', [], {
    cwd: base,
    detached: true,
    stdio: ['ignore', out, out],
    env: {
      ...process.env,
      RABBITMQ_NODENAME: node.name,
      RABBITMQ_NODE_PORT: String(node.amqpPort),
      RABBITMQ_DIST_PORT: String(node.distPort),
      RABBITMQ_CONFIG_FILE: join(base, 'rabbitmq.conf'),
      RABBITMQ_ADVANCED_CONFIG_FILE: join(base, 'advanced.config'),
      RABBITMQ_ENABLED_PLUGINS_FILE: join(base, 'enabled_plugins'),
      RABBITMQ_MNESIA_BASE: join(base, 'mnesia'),
      RABBITMQ_LOG_BASE: join(base, 'log'),
      RABBITMQ_PID_FILE: pidFile(state.dir, i),
      // `rabbitmq-server` switches to the rabbitmq user, whose HOME holds the default node's cookie.
      RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS: `-setcookie ${state.cookie}`,
    },
  });
  child.unref();
  launched.add(base);
};

/** Waits until node i's application runs; records its pid. */
const awaitNode = async (state: ClusterState, i: number, timeoutMs: number): Promise<void> => {
  const node = state.nodes[i] as ClusterNode;
  const deadline = Date.now() + timeoutMs;
  // `rabbitmqctl wait` needs the pid file, which the node writes early in its boot.
  while (!existsSync(pidFile(state.dir, i))) {
    if (Date.now() > deadline)
      throw new Error(`${node.name} wrote no pid file in ${timeoutMs} ms (see ${nodeDir(state.dir, i)})`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const left = Math.max(1, Math.ceil((deadline - Date.now()) / 1000));
  await ctlAs(state.cookie, node.name, ['wait', pidFile(state.dir, i), '--timeout', String(left)], timeoutMs + 5_000);
  node.pid = readPid(state.dir, i);
};

/** Launched nodes, by folder: one stopped early may not have written its pid yet. */
const launched = new Set<string>();

const killNode = async (state: ClusterState, i: number): Promise<void> => {
  const node = state.nodes[i] as ClusterNode;
  let pid = node.pid ?? readPid(state.dir, i);
  // Interrupted while booting: wait for the pid file rather than leave the node running.
  for (let n = 0; pid === undefined && launched.has(nodeDir(state.dir, i)) && n < 150; n += 1) {
    await new Promise((r) => setTimeout(r, 100));
    pid = readPid(state.dir, i);
  }
  launched.delete(nodeDir(state.dir, i));
  if (pid !== undefined && alive(pid)) {
    process.kill(pid, 'SIGKILL');
    for (let n = 0; n < 100 && alive(pid); n += 1) await new Promise((r) => setTimeout(r, 50));
  }
  node.pid = undefined;
};

const saveState = (state: ClusterState): void =>
  writeFileSync(join(state.dir, STATE_FILE), JSON.stringify(state, null, 2), { mode: 0o600 });

const stopState = async (state: ClusterState): Promise<void> => {
  for (let i = 0; i < state.nodes.length; i += 1) await killNode(state, i);
  rmSync(state.dir, { recursive: true, force: true });
};

/**
 * Starts `nodes` nodes side by side, then joins each to the first (stop_app, reset, join_cluster,
 * start_app). Until `stop()` the cluster is registered for cleanup, so an interrupted run kills it.
 */
export const startRabbitCluster = async (options: ClusterOptions = {}): Promise<RabbitCluster> => {
  const began = Date.now();
  const count = options.nodes ?? 3;
  const basePort = options.basePort ?? (await freeBasePort(count));
  const dir = options.dir ?? defaultClusterDir(basePort);
  const timeoutMs = options.timeoutMs ?? 90_000;
  const nodes: ClusterNode[] = Array.from({ length: count }, (_, i) => ({
    name: `gozon-${basePort + i}@localhost`,
    amqpPort: basePort + i,
    distPort: basePort + DIST_OFFSET + i,
    pid: undefined,
  }));
  for (const node of nodes) {
    if (!(await portFree(node.amqpPort)) || !(await portFree(node.distPort)))
      throw new Error(`port ${node.amqpPort} or ${node.distPort} is taken: choose another --base-port`);
  }
  if (existsSync(dir)) throw new Error(`${dir} exists: stop the cluster there first (stop --dir ${dir})`);
  const state: ClusterState = { dir, cookie: randomBytes(16).toString('hex').toUpperCase(), nodes };
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  // One stop, whoever asks first, registered until done: a run that is ending waits for it.
  let stopping: Promise<void> | undefined;
  const stopOnce = (): Promise<void> => (stopping ??= stopState(state).finally(() => unregister()));
  const unregister = onCleanup(`rabbitmq cluster in ${dir}`, stopOnce);
  try {
    saveState(state);
    nodes.forEach((node, i) => prepareNode(dir, node, i));
    nodes.forEach((_, i) => launch(state, i));
    saveState(state);
    await Promise.all(nodes.map((_, i) => awaitNode(state, i, timeoutMs)));
    saveState(state);
    const first = nodes[0] as ClusterNode;
    // One at a time: two nodes joining the same node at once can abort each other's schema copy
    // (seen here: `join_cluster` failing in `rabbit_table:create_local_copy`).
    for (const node of nodes.slice(1)) {
      for (const args of [['stop_app'], ['reset'], ['join_cluster', first.name], ['start_app']])
        await ctlAs(state.cookie, node.name, args);
    }
  } catch (err) {
    await stopOnce().catch(() => undefined);
    throw err;
  }
  return clusterOf(state, Date.now() - began, stopOnce, unregister);
};

const clusterOf = (
  state: ClusterState,
  startedInMs: number,
  stopOnce: () => Promise<void>,
  unregister: () => void,
): RabbitCluster => {
  const { nodes, cookie } = state;
  const at = (i: number): ClusterNode => {
    const node = nodes[i];
    if (!node) throw new Error(`no node ${i} in a cluster of ${nodes.length}`);
    return node;
  };
  const urls = nodes.map((n) => `amqp://guest:guest@127.0.0.1:${n.amqpPort}`);
  const cluster: RabbitCluster = {
    urls,
    amqpUrl: urls.join(','),
    nodes,
    dir: state.dir,
    startedInMs,
    kill: (i) => killNode(state, (at(i), i)),
    stopApp: async (i) => void (await ctlAs(cookie, at(i).name, ['stop_app'])),
    startApp: async (i) => void (await ctlAs(cookie, at(i).name, ['start_app'])),
    restart: async (i) => {
      await killNode(state, (at(i), i));
      launch(state, i);
      await awaitNode(state, i, 60_000);
      saveState(state);
    },
    ctl: (i, ...args) => ctlAs(cookie, at(i).name, args),
    host: {
      url: urls.join(','),
      // Any node that answers: one may be killed or have its application stopped by a fault.
      ctl: async (...args) => {
        let failure: unknown = new Error('no node of the cluster runs');
        for (const node of nodes.filter((n) => alive(n.pid))) {
          try {
            return await ctlAs(cookie, node.name, args);
          } catch (err) {
            failure = err;
          }
        }
        throw failure;
      },
    },
    stop: () => stopOnce(),
  };
  unregisters.set(cluster, unregister);
  return cluster;
};

/** How to take a cluster off the cleanup registry (the CLI's `start` leaves it running). */
const unregisters = new WeakMap<RabbitCluster, () => void>();

/** Kills the nodes a `start` in another process left in `dir`, and deletes it. */
export const stopRabbitClusterIn = async (dir: string): Promise<boolean> => {
  let state: ClusterState;
  try {
    state = JSON.parse(readFileSync(join(dir, STATE_FILE), 'utf8')) as ClusterState;
  } catch {
    return false;
  }
  await stopState(state);
  return true;
};

/** The cluster a `start` in another process left in `dir`, to drive from here. */
export const attachRabbitCluster = (dir: string): RabbitCluster => {
  const state = JSON.parse(readFileSync(join(dir, STATE_FILE), 'utf8')) as ClusterState;
  let stopping: Promise<void> | undefined;
  return clusterOf(
    state,
    0,
    () => (stopping ??= stopState(state)),
    () => undefined,
  );
};

const USAGE = `usage: node packages/testkit/dist/rabbitmq-cluster.js start|stop [--base-port N] [--nodes 3] [--dir D]
  start  starts the nodes, clusters them, prints {urls, amqpUrl, dir, nodes} as JSON and leaves them running
  stop   kills the nodes a start left in --dir (default ${defaultClusterDir(0).replace(/0$/, '<base-port>')}) and deletes it`;

const flag = (args: string[], name: string): string | undefined => {
  const at = args.indexOf(name);
  return at === -1 ? undefined : args[at + 1];
};

const cli = async (args: string[]): Promise<number> => {
  const [command] = args;
  const basePort = flag(args, '--base-port');
  const nodes = flag(args, '--nodes');
  const dir = flag(args, '--dir') ?? (basePort ? defaultClusterDir(Number(basePort)) : undefined);
  if (command === 'start') {
    cleanUpOnSignals();
    const cluster = await startRabbitCluster({
      ...(basePort ? { basePort: Number(basePort) } : {}),
      ...(nodes ? { nodes: Number(nodes) } : {}),
      ...(dir ? { dir } : {}),
    });
    const { urls, amqpUrl, nodes: list, startedInMs } = cluster;
    console.log(JSON.stringify({ urls, amqpUrl, dir: cluster.dir, nodes: list, startedInMs }, null, 2));
    // Left running for `stop`: no longer this process's to clean up.
    unregisters.get(cluster)?.();
    return 0;
  }
  if (command === 'stop') {
    if (!dir) {
      console.error('stop needs --dir D or --base-port N');
      return 2;
    }
    const stopped = await stopRabbitClusterIn(dir);
    console.log(stopped ? `stopped the cluster in ${dir}` : `no cluster in ${dir}`);
    return stopped ? 0 : 1;
  }
  console.error(USAGE);
  return 2;
};

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  cli(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      console.error(`rabbitmq-cluster: ${err instanceof Error ? err.message : String(err)}`);
      process.exit(1);
    },
  );
}
