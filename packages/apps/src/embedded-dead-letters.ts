import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { ApplyPaymentOutcome, ChargeOnPaymentRequested, randomIds, Routes, systemClock } from '@gozon/core';
import { decodeMessage, type StoredDeadLetter } from '@gozon/messaging';
import {
  migrate,
  ordersUnitOfWork,
  paymentsUnitOfWork,
  PgDeadLetterStore,
  type Service,
  type SqlDatabase,
} from '@gozon/adapters/postgres';
import type { Config } from './config.js';
import { openDatabase } from './runtime/infrastructures.js';

/** A dead letter as `gozon dlq` shows it, wherever it is kept. */
export interface DeadLetterView {
  readonly queue: string;
  readonly message: StoredDeadLetter['message'];
  readonly reason: string | undefined;
  /** Deliveries the consumer made before giving up, where it counted them apart from the reason. */
  readonly attempts: number | undefined;
  /** The RabbitMQ user that published it (RabbitMQ only). */
  readonly publishedBy: string | undefined;
}

/** What a replay did: the messageIds handed back, and those whose consumer failed on them again. */
export interface Replayed {
  readonly replayed: string[];
  readonly failed: Array<{ readonly id: string; readonly reason: string }>;
}

/** The dead letters `gozon dlq` works on: RabbitMQ's dead-letter queues, or the embedded bus's tables. */
export interface DeadLetters {
  list(): Promise<DeadLetterView[]>;
  /** Hands the dead letters `which` selects back to their consumer, with their original messageId. */
  replay(which: (letter: DeadLetterView) => boolean): Promise<Replayed>;
}

/** The queue a service consumes: its dead letters are kept in its own database. */
const consumerOf: Record<Service, string> = { orders: Routes.paymentStatus, payments: Routes.orderPayments };

/** A service's consumer, as the service composes it, on its database: what a replay runs. */
const useCaseOf = (
  service: Service,
  db: SqlDatabase,
): { execute(message: ReturnType<typeof decodeMessage>): Promise<unknown> } =>
  service === 'orders'
    ? new ApplyPaymentOutcome(ordersUnitOfWork(db), systemClock)
    : new ChargeOnPaymentRequested(paymentsUnitOfWork(db), systemClock, randomIds);

interface Opened {
  readonly service: Service;
  readonly db: SqlDatabase;
  readonly store: PgDeadLetterStore;
}

const view = (letter: StoredDeadLetter): DeadLetterView => ({
  queue: letter.queue,
  message: letter.message,
  reason: letter.reason,
  attempts: undefined,
  publishedBy: undefined,
});

/**
 * The embedded bus's dead letters, in each consuming service's `dead_letters` table. There is no
 * broker to send a message back through: a replay hands it to the service's consumer (its use
 * case, as the service composes it) in this process, and removes the letter once that committed.
 * The inbox absorbs a message already applied; what the handling appends to the outbox (the
 * outcome of a payment) is published by the service's relay when it runs.
 */
export class EmbeddedDeadLetters implements DeadLetters {
  private constructor(private readonly opened: readonly Opened[]) {}

  /**
   * Opens both services' databases (migrated, so a data directory from before `dead_letters` has
   * it). An embedded one is this process's alone meanwhile: while `gozon all` has it open this
   * throws `DataDirInUse`. An embedded database never created has no dead letters, and stays so.
   */
  static async open(config: Config): Promise<EmbeddedDeadLetters> {
    const log = pino({ level: 'warn' }, pino.destination(2));
    const opened: Opened[] = [];
    try {
      for (const service of ['payments', 'orders'] as const) {
        const url = service === 'orders' ? config.ordersDatabaseUrl : config.paymentsDatabaseUrl;
        if (!url && !existsSync(join(config.dataDir, service))) continue;
        const { db } = await openDatabase(config, service, log);
        opened.push({ service, db, store: new PgDeadLetterStore(db) });
        await migrate(db, service);
      }
    } catch (err) {
      await Promise.all(opened.map((o) => o.db.close().catch(() => undefined)));
      throw err;
    }
    return new EmbeddedDeadLetters(opened);
  }

  async list(): Promise<DeadLetterView[]> {
    const all: DeadLetterView[] = [];
    for (const { store } of this.opened) all.push(...(await store.list()).map(view));
    return all;
  }

  async replay(which: (letter: DeadLetterView) => boolean): Promise<Replayed> {
    const result: Replayed = { replayed: [], failed: [] };
    for (const { service, db, store } of this.opened) {
      const useCase = useCaseOf(service, db);
      for (const letter of await store.list()) {
        if (letter.queue !== consumerOf[service] || !which(view(letter))) continue;
        const id = letter.message.properties.messageId ?? '(no id)';
        try {
          await useCase.execute(decodeMessage(letter.message));
        } catch (err) {
          result.failed.push({ id, reason: err instanceof Error ? err.message : String(err) });
          continue;
        }
        await store.remove(letter.id);
        result.replayed.push(id);
      }
    }
    return result;
  }

  async close(): Promise<void> {
    for (const { db } of this.opened) await db.close();
  }
}
