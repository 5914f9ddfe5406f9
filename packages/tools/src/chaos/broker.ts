// The broker a chaos run works on: a vhost of the local RabbitMQ node, or a scratch cluster of its
// own (`--rabbitmq-nodes`), whose nodes the cluster faults kill and stop.
import { amqpAnswers, createTestVhost, startRabbitCluster, type RabbitCluster } from '@gozon/testkit';
import { rabbitmqctl, type TestVhost } from '../support/scratch.js';

/** A scratch cluster's handle, as the project's cluster script hands it out. */
export type BrokerCluster = RabbitCluster;

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

/** A vhost of its own on `cluster`, the services' `AMQP_URL` listing every node; quorum queues need a fresh one. */
export const clusterBroker = async (cluster: BrokerCluster): Promise<ChaosBroker> => {
  const vhost = await createTestVhost(cluster.host);
  return {
    vhost,
    cluster,
    // Whichever node runs answers for the cluster.
    ctl: (...args) => cluster.host.ctl(...args),
    url: async () => {
      for (const url of vhost.url.split(',')) if (await amqpAnswers(url)) return url;
      throw new Error('no node of the cluster answers');
    },
  };
};

/** Starts a scratch cluster of `nodes` nodes with the project's script; stopped by `stop()` or on a signal. */
export const startCluster = (nodes: number): Promise<BrokerCluster> =>
  startRabbitCluster({ nodes, timeoutMs: 120_000 });
