import pg from 'pg';
import { Routes } from '@gozon/core';
import { rabbitmqctl } from '../support/scratch.js';
import { scrape, total } from '../e2e/scrape.js';
import type { ServerSystem } from '../e2e/system.js';
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
  | 'dead-letter a batch';

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

/** One entry of the fault timeline (times in ms since the run started). */
export interface FaultEvent {
  readonly kind: FaultKind | 'unexpected exit';
  readonly at: number;
  /** When the fault was undone (process back, broker back). */
  readonly restoredAt: number;
  /** When both services answered /readyz again. */
  readonly readyAt: number | null;
  readonly detail: string;
  readonly failed?: boolean;
}

/** Counters of the services' /metrics, summed over every life of each process. */
export class MessageTally {
  /** What each process had counted when last seen, by service; added up at each restart. */
  private readonly banked = { orders: new Map<string, number>(), payments: new Map<string, number>() };
  private readonly last = { orders: new Map<string, number>(), payments: new Map<string, number>() };
  static readonly COUNTERS = [
    'gozon_inbox_duplicates_total',
    'gozon_message_retries_total',
    'gozon_messages_dead_lettered_total',
    // The orders service's reconciliation: payment requests sent again, orders asked more than once.
    'gozon_reconcile_requests_total',
    'gozon_reconcile_orders_repeated_total',
  ] as const;
  scrapes = 0;
  misses = 0;

  constructor(private readonly system: ServerSystem) {}

  /** Reads the service's counters now (the value it reached before a restart is kept). */
  async observe(service: 'orders' | 'payments'): Promise<void> {
    try {
      const samples = await Promise.race([
        scrape(this.system.serviceUrls[service]),
        sleep(2_000).then(() => Promise.reject(new Error('metrics timeout'))),
      ]);
      for (const name of MessageTally.COUNTERS) this.last[service].set(name, total(samples, name));
      // Deliveries the inbox did not catch but the use case absorbed: a payment request for an order
      // already decided (payments), an outcome for an order already final (orders).
      for (const outcome of ['repeated', 'unchanged']) {
        this.last[service].set(outcome, total(samples, 'gozon_message_handling_duration_seconds_count', { outcome }));
      }
      this.scrapes += 1;
    } catch {
      this.misses += 1;
    }
  }

  /** The process is about to go: what it counted becomes part of the total. */
  bank(service: 'orders' | 'payments'): void {
    for (const [name, value] of this.last[service]) {
      this.banked[service].set(name, (this.banked[service].get(name) ?? 0) + value);
    }
    this.last[service].clear();
  }

  /** Counted so far (at least: what a process counted after its last scrape before a kill is gone). */
  value(service: 'orders' | 'payments', name: string): number {
    return (this.banked[service].get(name) ?? 0) + (this.last[service].get(name) ?? 0);
  }
}

export interface FaultOptions {
  /** Mean pause between faults, in ms (each pause is 0.5–1.5 times it). */
  readonly meanIntervalMs: number;
  readonly kinds: readonly FaultKind[];
  /** How long a killed process stays down, in ms. */
  readonly downMs: readonly [number, number];
  /** How long the broker stays stopped, in ms. */
  readonly brokerDownMs: number;
}

/** Breaks the running system at random moments, one fault at a time, and undoes each fault. */
export class FaultInjector {
  readonly timeline: FaultEvent[] = [];
  /** Messages the lost-message faults purged or dead-lettered, by queue. */
  readonly lost = new LostMessages();
  private stopping = false;
  private loop: Promise<void> | undefined;
  private watcher: NodeJS.Timeout | undefined;
  private wake: (() => void) | undefined;
  /** Parts the injector itself took down (so their exit is not a crash). */
  private readonly downOnPurpose = new Set<string>();
  private brokerStopped = false;
  private restarting: Promise<void> = Promise.resolve();

  constructor(
    private readonly system: ServerSystem,
    private readonly rng: Random,
    private readonly t0: number,
    private readonly tally: MessageTally,
    private readonly options: FaultOptions,
    private readonly say: (line: string) => void = () => undefined,
  ) {}

  start(): void {
    this.loop = this.run();
    // A part that exits while nobody killed it is a finding; it is restarted so the run goes on.
    this.watcher = setInterval(() => {
      for (const [name, part] of Object.entries(this.system.parts)) {
        if (this.downOnPurpose.has(name) || part.exitCode === undefined) continue;
        const at = this.now();
        const code = part.exitCode;
        this.downOnPurpose.add(name);
        this.restarting = this.restarting.then(async () => {
          const detail = `${name} exited by itself (code ${String(code)}): ${part.output.slice(-300).replace(/\s+/g, ' ')}`;
          this.say(`! ${detail}`);
          await this.restart(name as keyof ServerSystem['parts']);
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

  /** Undoes anything left broken (e.g. on Ctrl-C): broker started, every part running. */
  async ensureUp(): Promise<void> {
    if (this.brokerStopped) {
      await rabbitmqctl('start_app').catch(() => undefined);
      this.brokerStopped = false;
    }
    for (const [name, part] of Object.entries(this.system.parts)) {
      if (part.pid === undefined) await this.restart(name as keyof ServerSystem['parts']);
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
      const readyAt = await this.waitReady(30_000);
      this.timeline.push({ kind, at, restoredAt, readyAt, detail, ...(failed ? { failed } : {}) });
    }
  }

  private async inject(kind: FaultKind): Promise<string> {
    switch (kind) {
      case 'kill -9 orders':
        return this.kill('orders');
      case 'kill -9 payments':
        return this.kill('payments');
      case 'kill -9 gateway':
        return this.kill('gateway');
      case 'close AMQP connections': {
        const out = await rabbitmqctl('close_all_connections', '-p', this.system.vhost.name, 'chaos');
        return `closed ${out.split('\n').filter((l) => l.trim()).length || 'all'} connection(s) of vhost ${this.system.vhost.name}`;
      }
      case 'terminate Postgres backends':
        return this.terminateBackends();
      case 'republish outbox rows':
        return this.republish(REPUBLISHED);
      case 'broker stop_app/start_app': {
        this.brokerStopped = true;
        await rabbitmqctl('stop_app');
        try {
          await sleep(this.options.brokerDownMs);
        } finally {
          await rabbitmqctl('start_app');
          this.brokerStopped = false;
        }
        return `broker stopped for ${(this.options.brokerDownMs / 1000).toFixed(1)} s (shared broker)`;
      }
      case 'purge a queue':
        return this.loseMessages('purged');
      case 'dead-letter a batch':
        return this.loseMessages('deadLettered');
    }
  }

  /**
   * Purges `order.payments` or `payment.status` (one at random), or dead-letters a batch of its
   * messages. A queue whose consumer runs is nearly always empty, so messages are piled up first:
   * `order.payments` by killing payments for 1–2 s; `payment.status` (stopping orders stops new
   * orders too) by killing payments for 1–2 s while requests pile up, then orders, and starting
   * payments again for 1.5 s to answer them. Whatever was killed is restarted once they are gone.
   */
  private async loseMessages(how: 'purged' | 'deadLettered'): Promise<string> {
    const queue = this.rng.pick(LOSABLE_QUEUES);
    const url = this.system.vhost.url;
    const take = async (): Promise<string> => {
      const count =
        how === 'purged' ? await purgeQueue(url, queue) : await deadLetterBatch(url, queue, DEAD_LETTER_BATCH);
      this.lost.add(how, queue, count);
      return how === 'purged'
        ? `purged ${count} message(s) of ${queue}`
        : `moved ${count} message(s) of ${queue} to its dead-letter queue`;
    };
    return queue === Routes.orderPayments ? this.kill('payments', [1_000, 2_000], take) : this.pileUpOutcomes(take);
  }

  /** Payment requests piled up with payments down, answered with orders down; then `take`, and both back. */
  private async pileUpOutcomes(take: () => Promise<string>): Promise<string> {
    const { payments, orders } = this.system.parts;
    this.downOnPurpose.add('payments').add('orders');
    try {
      await this.tally.observe('payments');
      await payments.kill('SIGKILL');
      this.tally.bank('payments');
      const down = this.rng.int(1_000, 2_000);
      await sleep(down);
      await this.tally.observe('orders');
      await orders.kill('SIGKILL');
      this.tally.bank('orders');
      let done = '';
      try {
        await this.restart('payments');
        await sleep(1_500);
        done = await take();
      } finally {
        if (payments.pid === undefined) await this.restart('payments');
        await this.restart('orders');
      }
      return `${done}; payments down ${(down / 1000).toFixed(1)} s, then orders while payments answered`;
    } finally {
      this.downOnPurpose.delete('payments');
      this.downOnPurpose.delete('orders');
    }
  }

  /** Kills `name` with SIGKILL, keeps it down a while (doing `whileDown`, if given), and restarts it. */
  private async kill(
    name: 'orders' | 'payments' | 'gateway',
    downMs: readonly [number, number] = this.options.downMs,
    whileDown?: () => Promise<string>,
  ): Promise<string> {
    const part = this.system.parts[name];
    if (name !== 'gateway') await this.tally.observe(name);
    this.downOnPurpose.add(name);
    try {
      await part.kill('SIGKILL');
      if (name !== 'gateway') this.tally.bank(name);
      const down = this.rng.int(downMs[0], downMs[1]);
      await sleep(down);
      let done = '';
      let started = Date.now();
      try {
        if (whileDown) done = `${await whileDown()}; `;
      } finally {
        started = Date.now();
        await this.restart(name);
      }
      return `${done}${whileDown ? `${name} ` : ''}down ${(down / 1000).toFixed(1)} s, back (ready) in ${((Date.now() - started) / 1000).toFixed(1)} s`;
    } finally {
      this.downOnPurpose.delete(name);
    }
  }

  private async restart(name: keyof ServerSystem['parts']): Promise<void> {
    for (let tries = 1; ; tries += 1) {
      try {
        await this.system.parts[name].start(60_000);
        return;
      } catch (err) {
        await this.system.parts[name].kill('SIGKILL').catch(() => undefined);
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

  /** Waits until both services answer /readyz 200; the time, or null if they did not in time. */
  private async waitReady(timeoutMs: number): Promise<number | null> {
    const deadline = Date.now() + timeoutMs;
    const ready = async (url: string) =>
      fetch(`${url}/readyz`, { signal: AbortSignal.timeout(2_000) })
        .then((res) => res.ok)
        .catch(() => false);
    while (Date.now() < deadline) {
      const { orders, payments } = this.system.serviceUrls;
      if ((await ready(orders)) && (await ready(payments))) return this.now();
      await sleep(100);
    }
    return null;
  }
}
