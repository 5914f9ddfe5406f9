import pg from 'pg';
import { Routes } from '@gozon/core';
import { scrape, total } from '../e2e/scrape.js';
import type { GozonProcess } from '../e2e/processes.js';
import { everyLink, type ScaledPart, type ServerSystem } from '../e2e/system.js';
import type { ChaosBroker } from './broker.js';
import { postgresIsUp, restartPostgres, startPostgres } from './postgres-server.js';
import { DEAD_LETTER_BATCH, deadLetterBatch, LOSABLE_QUEUES, LostMessages, purgeQueue } from './lost-messages.js';
import { type Random, sleep } from './random.js';

export type FaultKind =
  | 'kill -9 orders'
  | 'kill -9 payments'
  | 'kill -9 gateway'
  | 'close AMQP connections'
  | 'terminate Postgres backends'
  | 'republish outbox rows'
  | 'broker stop_app/start_app'
  | 'purge a queue'
  | 'dead-letter a batch'
  | 'kill -9 a broker node'
  | 'broker node stop_app/start_app'
  | 'restart Postgres'
  | 'cut an instance off the broker';

/** How long after undoing a fault the injector waits for every service instance's /readyz. */
export const READY_WAIT_MS = 30_000;

/** Outbox rows of each service a `republish outbox rows` fault sends again. */
const REPUBLISHED = 50;

export const ALL_FAULTS: readonly FaultKind[] = [
  'kill -9 orders',
  'kill -9 payments',
  'kill -9 gateway',
  'close AMQP connections',
  'terminate Postgres backends',
  'republish outbox rows',
  'broker stop_app/start_app',
  'purge a queue',
  'dead-letter a batch',
];

/** The faults of a run on a scratch RabbitMQ cluster, added to the others (`--rabbitmq-nodes`). */
export const CLUSTER_FAULTS: readonly FaultKind[] = [
  'kill -9 a broker node',
  'broker node stop_app/start_app',
  'restart Postgres',
  'cut an instance off the broker',
];

/** One entry of the fault timeline (times in ms since the run started). */
export interface FaultEvent {
  readonly kind: FaultKind | 'unexpected exit';
  readonly at: number;
  /** When the fault was undone (process back, broker back). */
  readonly restoredAt: number;
  /** When every service instance answered /readyz again; null: not within `READY_WAIT_MS`. */
  readonly readyAt: number | null;
  /** The instances still not ready then. */
  readonly notReady?: readonly string[];
  readonly detail: string;
  readonly failed?: boolean;
}

type Service = 'orders' | 'payments';

/** Counters of the services' /metrics, summed over every life of every instance. */
export class MessageTally {
  /** What each process had counted when last seen, by instance name; added up at each restart. */
  private readonly banked = new Map<string, Map<string, number>>();
  private readonly last = new Map<string, Map<string, number>>();
  static readonly COUNTERS = [
    'gozon_inbox_duplicates_total',
    'gozon_message_retries_total',
    'gozon_messages_dead_lettered_total',
    // The orders service's reconciliation: payment requests sent again, orders asked more than once.
    'gozon_reconcile_requests_total',
    'gozon_reconcile_orders_repeated_total',
    // What each instance's relay and publish-on-commit sent, to show every instance publishes.
    'gozon_messages_published_total',
  ] as const;
  scrapes = 0;
  misses = 0;

  constructor(private readonly system: ServerSystem) {}

  /** Reads every instance's counters now (what an instance reached before a restart is kept). */
  async observe(service: Service): Promise<void> {
    await Promise.all(this.system.serviceInstances(service).map(({ name, url }) => this.observeInstance(name, url)));
  }

  /** Reads one instance's counters. */
  async observeInstance(name: string, url: string): Promise<void> {
    try {
      const samples = await Promise.race([
        scrape(url),
        sleep(2_000).then(() => Promise.reject(new Error('metrics timeout'))),
      ]);
      const last = new Map<string, number>();
      for (const counter of MessageTally.COUNTERS) last.set(counter, total(samples, counter));
      // Deliveries the inbox did not catch but the use case absorbed: a payment request for an order
      // already decided (payments), an outcome for an order already final (orders).
      for (const outcome of ['repeated', 'unchanged']) {
        last.set(outcome, total(samples, 'gozon_message_handling_duration_seconds_count', { outcome }));
      }
      this.last.set(name, last);
      this.scrapes += 1;
    } catch {
      this.misses += 1;
    }
  }

  /** The instance is about to go: what it counted becomes part of the total. */
  bank(name: string): void {
    const banked = this.banked.get(name) ?? new Map<string, number>();
    for (const [counter, value] of this.last.get(name) ?? []) banked.set(counter, (banked.get(counter) ?? 0) + value);
    this.banked.set(name, banked);
    this.last.delete(name);
  }

  /** Counted by one instance so far, over its lives (at least: a kill takes what came after the last scrape). */
  valueOf(name: string, counter: string): number {
    return (this.banked.get(name)?.get(counter) ?? 0) + (this.last.get(name)?.get(counter) ?? 0);
  }

  /** Counted by every instance of `service` so far. */
  value(service: Service, counter: string): number {
    return this.instanceNames(service).reduce((sum, name) => sum + this.valueOf(name, counter), 0);
  }

  instanceNames(service: Service): string[] {
    return this.system.serviceInstances(service).map((i) => i.name);
  }
}

export interface FaultOptions {
  /** Mean pause between faults, in ms (each pause is 0.5–1.5 times it). */
  readonly meanIntervalMs: number;
  readonly kinds: readonly FaultKind[];
  /** How long a killed process stays down, in ms. */
  readonly downMs: readonly [number, number];
  /** How long the broker (or a broker node's app) stays stopped, in ms. */
  readonly brokerDownMs: number;
  /** How long a killed broker node stays down, in ms. */
  readonly nodeDownMs: readonly [number, number];
}

/** Breaks the running system at random moments, one fault at a time, and undoes each fault. */
export class FaultInjector {
  readonly timeline: FaultEvent[] = [];
  /** Messages the lost-message faults purged or dead-lettered, by queue. */
  readonly lost = new LostMessages();
  /** Whether Postgres answered once the faults were undone (false: a violation, said by the run). */
  postgresUpAtEnd = true;
  private stopping = false;
  private loop: Promise<void> | undefined;
  private watcher: NodeJS.Timeout | undefined;
  private wake: (() => void) | undefined;
  /** Processes the injector itself took down (so their exit is not a crash), by instance name. */
  private readonly downOnPurpose = new Set<string>();
  private brokerStopped = false;
  /** Broker nodes killed or stopped and not yet back, by index. */
  private readonly nodesDown = new Map<number, 'killed' | 'stopped'>();
  private postgresRestarting = false;
  private restarting: Promise<void> = Promise.resolve();
  private readonly byName: Map<string, GozonProcess>;

  constructor(
    private readonly system: ServerSystem,
    private readonly broker: ChaosBroker,
    private readonly rng: Random,
    private readonly t0: number,
    private readonly tally: MessageTally,
    private readonly options: FaultOptions,
    private readonly say: (line: string) => void = () => undefined,
  ) {
    this.byName = new Map(system.processes());
  }

  start(): void {
    // Stopped before it started (a run interrupted while it set up): nothing may come back up.
    if (this.stopping) return;
    this.loop = this.run();
    // A part that exits while nobody killed it is a finding; it is restarted so the run goes on.
    this.watcher = setInterval(() => {
      for (const [name, part] of this.byName) {
        if (this.stopping || this.downOnPurpose.has(name) || part.exitCode === undefined) continue;
        const at = this.now();
        const code = part.exitCode;
        this.downOnPurpose.add(name);
        this.restarting = this.restarting.then(async () => {
          const detail = `${name} exited by itself (code ${String(code)}): ${part.output.slice(-300).replace(/\s+/g, ' ')}`;
          this.say(`! ${detail}`);
          await this.restart(name);
          this.downOnPurpose.delete(name);
          this.timeline.push({
            kind: 'unexpected exit',
            at,
            restoredAt: this.now(),
            readyAt: null,
            detail,
            failed: true,
          });
        });
      }
    }, 250);
  }

  /** Stops injecting, waits for the fault in progress to be undone, and makes sure everything runs. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.wake?.();
    await this.loop;
    clearInterval(this.watcher);
    await this.restarting;
    await this.ensureUp();
  }

  /** Undoes anything left broken (e.g. on Ctrl-C): Postgres and the broker running, every part running. */
  async ensureUp(): Promise<void> {
    // Only a run that restarts the local server looks after it (Postgres may live elsewhere).
    if (this.options.kinds.includes('restart Postgres')) {
      if (this.postgresRestarting || !(await postgresIsUp())) {
        await startPostgres().catch(() => undefined);
        this.postgresRestarting = false;
      }
      this.postgresUpAtEnd = await postgresIsUp();
    }
    if (this.brokerStopped) {
      await this.broker.ctl('start_app').catch(() => undefined);
      this.brokerStopped = false;
    }
    for (const [index, how] of [...this.nodesDown]) {
      const cluster = this.broker.cluster;
      if (!cluster) break;
      await (how === 'killed' ? cluster.restart(index) : cluster.startApp(index)).catch(() => undefined);
      this.nodesDown.delete(index);
    }
    // Links no fault has cut are up already: restoring them changes nothing.
    for (const link of everyLink(this.system.links)) await link.restore();
    for (const [name, part] of this.byName) {
      if (part.pid === undefined) await this.restart(name);
    }
  }

  private now(): number {
    return Date.now() - this.t0;
  }

  private async pause(ms: number): Promise<void> {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    this.wake = undefined;
  }

  private async run(): Promise<void> {
    let bag: FaultKind[] = [];
    while (!this.stopping) {
      await this.pause(this.options.meanIntervalMs * (0.5 + this.rng.next()));
      if (this.stopping) break;
      // Every kind comes once per round, in a random order, so a short run still sees them all.
      if (bag.length === 0) bag = this.rng.shuffle(this.options.kinds);
      const kind = bag.shift() as FaultKind;
      const at = this.now();
      this.say(`fault at ${(at / 1000).toFixed(1)} s: ${kind}`);
      let detail: string;
      let failed = false;
      try {
        detail = await this.inject(kind);
      } catch (err) {
        detail = `failed: ${(err as Error).message.split('\n')[0] ?? ''}`;
        failed = true;
      }
      const restoredAt = this.now();
      const { readyAt, notReady } = await this.waitReady(READY_WAIT_MS);
      this.timeline.push({
        kind,
        at,
        restoredAt,
        readyAt,
        detail,
        ...(notReady.length > 0 ? { notReady } : {}),
        ...(failed ? { failed } : {}),
      });
    }
  }

  private async inject(kind: FaultKind): Promise<string> {
    switch (kind) {
      case 'kill -9 orders':
        return this.kill([this.pickInstance('orders')]);
      case 'kill -9 payments':
        return this.kill([this.pickInstance('payments')]);
      case 'kill -9 gateway':
        return this.kill([this.pickInstance('gateway')]);
      case 'close AMQP connections': {
        const vhost = this.system.vhost.name;
        const cluster = this.broker.cluster;
        // On a cluster, each node is asked for the connections it holds.
        const outs = cluster
          ? await Promise.all(
              cluster.nodes.map((_, i) =>
                cluster.ctl(i, 'close_all_connections', '-p', vhost, 'chaos').catch(() => ''),
              ),
            )
          : [await this.broker.ctl('close_all_connections', '-p', vhost, 'chaos')];
        const closed = outs
          .join('\n')
          .split('\n')
          .filter((l) => l.trim()).length;
        return `closed ${closed || 'all'} connection(s) of vhost ${vhost}`;
      }
      case 'terminate Postgres backends':
        return this.terminateBackends();
      case 'republish outbox rows':
        return this.republish(REPUBLISHED);
      case 'broker stop_app/start_app': {
        this.brokerStopped = true;
        await this.broker.ctl('stop_app');
        try {
          await sleep(this.options.brokerDownMs);
        } finally {
          await this.broker.ctl('start_app');
          this.brokerStopped = false;
        }
        return `broker stopped for ${(this.options.brokerDownMs / 1000).toFixed(1)} s (shared broker)`;
      }
      case 'purge a queue':
        return this.loseMessages('purged');
      case 'dead-letter a batch':
        return this.loseMessages('deadLettered');
      case 'kill -9 a broker node':
        return this.brokerNode('killed');
      case 'broker node stop_app/start_app':
        return this.brokerNode('stopped');
      case 'restart Postgres':
        return this.restartPostgres();
      case 'cut an instance off the broker':
        return this.cutOff();
    }
  }

  /** One instance of `part`, at random. */
  private pickInstance(part: ScaledPart): string {
    const names = this.system.processes().map(([name]) => name);
    return this.rng.pick(names.filter((name) => name === part || name.startsWith(`${part}-`)));
  }

  /** Every instance of a service: messages pile up in its queue only while none consumes it. */
  private everyInstance(service: 'orders' | 'payments'): string[] {
    return this.tally.instanceNames(service);
  }

  /**
   * Kills a node of the cluster with SIGKILL, or stops its app (the Erlang VM stays up, clients are
   * cut off), keeps it so a few seconds, and brings it back. Quorum queues keep a majority meanwhile.
   */
  private async brokerNode(how: 'killed' | 'stopped'): Promise<string> {
    const cluster = this.broker.cluster;
    if (!cluster) throw new Error('no cluster: run with --rabbitmq-nodes');
    const index = this.rng.int(0, cluster.nodes.length - 1);
    const node = cluster.nodes[index]?.name ?? String(index);
    const down = how === 'killed' ? this.rng.int(...this.options.nodeDownMs) : this.options.brokerDownMs;
    this.nodesDown.set(index, how);
    await (how === 'killed' ? cluster.kill(index) : cluster.stopApp(index));
    await sleep(down);
    const started = Date.now();
    await (how === 'killed' ? cluster.restart(index) : cluster.startApp(index));
    this.nodesDown.delete(index);
    const verb = how === 'killed' ? 'killed (-9)' : 'app stopped';
    return `node ${node} ${verb} for ${(down / 1000).toFixed(1)} s, back in ${((Date.now() - started) / 1000).toFixed(1)} s`;
  }

  /**
   * Cuts one instance of orders or payments off every broker node for 4–8 s, as a network
   * partition would: its connections drop and its reconnects are refused, while the other
   * instances and its database go on. It keeps taking requests meanwhile, and if its relay held the
   * outbox, another instance's relay must take it over.
   */
  private async cutOff(): Promise<string> {
    const links = this.system.links.instanceBrokers;
    if (!links) throw new Error('the system was started without links of its own for each instance');
    const name = this.rng.pick([...links.keys()]);
    const down = this.rng.int(4_000, 8_000);
    const cut = links.get(name) ?? [];
    await Promise.all(cut.map((link) => link.cut()));
    try {
      await sleep(down);
    } finally {
      await Promise.all(cut.map((link) => link.restore()));
    }
    return `${name} cut off the broker for ${(down / 1000).toFixed(1)} s`;
  }

  /** Restarts the Postgres server itself (fast shutdown: every session cut, then a new start). */
  private async restartPostgres(): Promise<string> {
    this.postgresRestarting = true;
    const started = Date.now();
    await restartPostgres();
    this.postgresRestarting = false;
    return `Postgres restarted (fast) in ${((Date.now() - started) / 1000).toFixed(1)} s`;
  }

  /**
   * Purges `order.payments` or `payment.status` (one at random), or dead-letters a batch of its
   * messages. A queue whose consumers run is nearly always empty, so messages are piled up first:
   * `order.payments` by killing every payments instance for 1–2 s; `payment.status` (stopping
   * orders stops new orders too) by killing payments for 1–2 s while requests pile up, then every
   * orders instance, and starting payments again for 1.5 s to answer them. Whatever was killed is
   * restarted once they are gone.
   */
  private async loseMessages(how: 'purged' | 'deadLettered'): Promise<string> {
    const queue = this.rng.pick(LOSABLE_QUEUES);
    const take = async (): Promise<string> => {
      const url = await this.broker.url();
      const count =
        how === 'purged' ? await purgeQueue(url, queue) : await deadLetterBatch(url, queue, DEAD_LETTER_BATCH);
      this.lost.add(how, queue, count);
      return how === 'purged'
        ? `purged ${count} message(s) of ${queue}`
        : `moved ${count} message(s) of ${queue} to its dead-letter queue`;
    };
    return queue === Routes.orderPayments
      ? this.kill(this.everyInstance('payments'), [1_000, 2_000], take)
      : this.pileUpOutcomes(take);
  }

  /** Payment requests piled up with payments down, answered with orders down; then `take`, and both back. */
  private async pileUpOutcomes(take: () => Promise<string>): Promise<string> {
    const payments = this.everyInstance('payments');
    const orders = this.everyInstance('orders');
    for (const name of [...payments, ...orders]) this.downOnPurpose.add(name);
    try {
      await this.killNow(payments);
      const down = this.rng.int(1_000, 2_000);
      await sleep(down);
      await this.killNow(orders);
      let done = '';
      try {
        await Promise.all(payments.map((name) => this.restart(name)));
        await sleep(1_500);
        done = await take();
      } finally {
        await Promise.all([
          ...payments.filter((name) => this.byName.get(name)?.pid === undefined).map((name) => this.restart(name)),
          ...orders.map((name) => this.restart(name)),
        ]);
      }
      return `${done}; payments down ${(down / 1000).toFixed(1)} s, then orders while payments answered`;
    } finally {
      for (const name of [...payments, ...orders]) this.downOnPurpose.delete(name);
    }
  }

  /** SIGKILLs the processes named, after a last look at their counters. */
  private async killNow(names: readonly string[]): Promise<void> {
    await Promise.all(
      names.map(async (name) => {
        const part = this.byName.get(name) as GozonProcess;
        const service = part.part === 'orders' || part.part === 'payments';
        if (service) await this.tally.observeInstance(name, new URL(part.healthUrl ?? '').origin);
        await part.kill('SIGKILL');
        if (service) this.tally.bank(name);
      }),
    );
  }

  /** Kills the processes named with SIGKILL, keeps them down a while (doing `whileDown`, if given), and restarts them. */
  private async kill(
    names: readonly string[],
    downMs: readonly [number, number] = this.options.downMs,
    whileDown?: () => Promise<string>,
  ): Promise<string> {
    for (const name of names) this.downOnPurpose.add(name);
    try {
      await this.killNow(names);
      const down = this.rng.int(downMs[0], downMs[1]);
      await sleep(down);
      let done = '';
      let started = Date.now();
      try {
        if (whileDown) done = `${await whileDown()}; `;
      } finally {
        started = Date.now();
        await Promise.all(names.map((name) => this.restart(name)));
      }
      return `${done}${names.join(', ')} down ${(down / 1000).toFixed(1)} s, back (ready) in ${((Date.now() - started) / 1000).toFixed(1)} s`;
    } finally {
      for (const name of names) this.downOnPurpose.delete(name);
    }
  }

  private async restart(name: string): Promise<void> {
    const part = this.byName.get(name);
    if (!part) throw new Error(`no process ${name}`);
    for (let tries = 1; ; tries += 1) {
      try {
        await part.start(60_000);
        return;
      } catch (err) {
        await part.kill('SIGKILL').catch(() => undefined);
        if (tries >= 3) throw err;
      }
    }
  }

  private async terminateBackends(): Promise<string> {
    const { orders, payments } = this.system.databases;
    // Its own connection, so the checker's pools are not in the way.
    const admin = new pg.Client({ connectionString: orders.url, application_name: 'gozon-chaos' });
    admin.on('error', () => undefined);
    await admin.connect();
    try {
      const { rows } = await admin.query<{ datname: string; terminated: boolean }>(
        `SELECT datname, pg_terminate_backend(pid) AS terminated FROM pg_stat_activity
          WHERE datname IN ($1, $2) AND pid <> pg_backend_pid() AND application_name <> 'gozon-chaos'`,
        [orders.name, payments.name],
      );
      const count = (db: string) => rows.filter((r) => r.datname === db && r.terminated).length;
      return `terminated ${count(orders.name)} orders + ${count(payments.name)} payments backends`;
    } finally {
      await admin.end().catch(() => undefined);
    }
  }

  /**
   * What a relay that died between the broker's confirm and marking its batch leaves behind: rows
   * already delivered, unpublished again. The relays send them again under the same message ids.
   */
  private async republish(limit: number): Promise<string> {
    const counts: number[] = [];
    for (const db of [this.system.databases.orders, this.system.databases.payments]) {
      const client = new pg.Client({ connectionString: db.url, application_name: 'gozon-chaos' });
      client.on('error', () => undefined);
      await client.connect();
      try {
        const { rowCount } = await client.query(
          `UPDATE outbox SET published_at = NULL, leased_until = '-infinity'
            WHERE message_id IN (SELECT message_id FROM outbox WHERE published_at IS NOT NULL
                                  ORDER BY published_at DESC LIMIT $1)`,
          [limit],
        );
        counts.push(rowCount ?? 0);
      } finally {
        await client.end().catch(() => undefined);
      }
    }
    return `${counts[0] ?? 0} orders + ${counts[1] ?? 0} payments messages sent again under their ids`;
  }

  /** Waits until every service instance answers /readyz 200; the time, or null if they did not in time. */
  private async waitReady(timeoutMs: number): Promise<{ readyAt: number | null; notReady: string[] }> {
    const deadline = Date.now() + timeoutMs;
    const ready = async (url: string) =>
      fetch(`${url}/readyz`, { signal: AbortSignal.timeout(2_000) })
        .then((res) => res.ok)
        .catch(() => false);
    const instances = [...this.system.serviceInstances('orders'), ...this.system.serviceInstances('payments')];
    let notReady: string[] = [];
    while (Date.now() < deadline) {
      const answers = await Promise.all(instances.map((i) => ready(i.url)));
      notReady = instances.filter((_, k) => !answers[k]).map((i) => i.name);
      if (notReady.length === 0) return { readyAt: this.now(), notReady };
      await sleep(100);
    }
    return { readyAt: null, notReady };
  }
}
