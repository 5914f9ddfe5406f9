// The broker a chaos run works on: a vhost of the local RabbitMQ node, or a scratch cluster of its
// own (`--rabbitmq-nodes`), whose nodes the cluster faults kill and stop.
import { connect } from 'node:net';
import { rabbitmqctl, type TestVhost } from '../support/scratch.js';

/** A scratch cluster's handle, as its script hands it out. */
export interface BrokerCluster {
  readonly nodes: readonly { readonly name: string; readonly amqpPort: number }[];
  /** One AMQP URL per node, in node order. */
  readonly urls: readonly string[];
  kill(index: number): Promise<void>;
  stopApp(index: number): Promise<void>;
  startApp(index: number): Promise<void>;
  restart(index: number): Promise<void>;
  /** `rabbitmqctl` against node `index`. */
  ctl(index: number, ...args: string[]): Promise<string>;
  stop(): Promise<void>;
}

export interface ChaosBroker {
  /** Where the services connect: a vhost's URL, or every node's URL, comma-separated. */
  readonly vhost: TestVhost;
  /** `rabbitmqctl` against the broker (the first node of a cluster that answers it). */
  ctl(...args: string[]): Promise<string>;
  /** One URL of a node that answers now, for the tool's own connections. */
  url(): Promise<string>;
  readonly cluster?: BrokerCluster;
}

/** The local node's vhost `vhost`, as the runs before clusters used. */
export const localBroker = (vhost: TestVhost): ChaosBroker => ({
  vhost,
  ctl: (...args) => rabbitmqctl(...args),
  url: () => Promise.resolve(vhost.url),
});

const answers = (url: string): Promise<boolean> =>
  new Promise((resolve) => {
    const { hostname, port } = new URL(url);
    const socket = connect({ host: hostname, port: Number(port || 5672), timeout: 2_000 });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
    socket.once('timeout', () => done(false));
  });

/** A cluster's default vhost: the run has the cluster to itself, made and deleted with it. */
export const clusterBroker = (cluster: BrokerCluster): ChaosBroker => {
  const vhost: TestVhost = {
    name: '/',
    url: cluster.urls.join(','),
    dropConnections: async () => {
      await clusterCtl('close_all_connections', '-p', '/', 'chaos');
    },
    delete: () => Promise.resolve(),
  };
  const clusterCtl = async (...args: string[]): Promise<string> => {
    let last: unknown;
    for (let i = 0; i < cluster.nodes.length; i += 1) {
      try {
        return await cluster.ctl(i, ...args);
      } catch (err) {
        last = err;
      }
    }
    throw last instanceof Error ? last : new Error(String(last));
  };
  return {
    vhost,
    cluster,
    ctl: clusterCtl,
    url: async () => {
      for (const url of cluster.urls) if (await answers(url)) return url;
      throw new Error('no node of the cluster answers');
    },
  };
};

/** Starts a scratch cluster of `nodes` nodes with the project's cluster script; stopped by `stop()` or on a signal. */
export const startCluster = (nodes: number): Promise<BrokerCluster> =>
  Promise.reject(new Error(`a cluster of ${nodes} nodes needs the cluster script (not merged yet)`));
