import type { AccountSnapshot, MessageEnvelope, OrderSnapshot, PaymentSnapshot } from '@gozon/core';
import { Mutex } from './mutex.js';
import { Table, type Journal } from './table.js';

export interface OutboxRow {
  readonly position: number;
  readonly routingKey: string;
  readonly envelope: MessageEnvelope;
  readonly publishedAt: Date | null;
  /** Epoch ms until which a relay holds the row. */
  readonly leasedUntil: number;
  readonly attempts: number;
}

export interface IdempotencyRow {
  readonly fingerprint: string;
  readonly response: unknown;
  readonly createdAt: Date;
}

export interface DeliveryAttemptRow {
  readonly redeliveries: number;
  readonly lastSeenAt: Date;
}

/**
 * One service's database, in memory. Transactions run one at a time (as if every one were
 * SERIALIZABLE and never had to retry) and a failed one is undone write by write.
 */
export class InMemoryDatabase {
  private journal: Journal | null = null;
  private readonly mutex = new Mutex();
  private readonly commitListeners = new Set<() => void>();
  private outboxTouched = false;
  private nextPosition = 1;

  private readonly currentJournal = (): Journal | null => this.journal;
  readonly orders = new Table<string, OrderSnapshot>(this.currentJournal);
  readonly accounts = new Table<string, AccountSnapshot>(this.currentJournal);
  readonly payments = new Table<string, PaymentSnapshot>(this.currentJournal);
  readonly outbox = new Table<string, OutboxRow>(this.currentJournal);
  readonly inbox = new Table<string, { readonly at: Date }>(this.currentJournal);
  readonly idempotency = new Table<string, IdempotencyRow>(this.currentJournal);
  /** Redelivery counts: written outside any transaction and never undone, as on Postgres. */
  readonly deliveryAttempts = new Table<string, DeliveryAttemptRow>(() => null);

  /** Runs `work` alone; undoes all its writes if it throws. */
  async transaction<T>(work: () => Promise<T>): Promise<T> {
    return this.mutex.lock(async () => {
      const journal: Journal = [];
      this.journal = journal;
      this.outboxTouched = false;
      try {
        const result = await work();
        this.journal = null;
        if (this.outboxTouched) this.notifyCommit();
        return result;
      } catch (err) {
        this.journal = null;
        for (const undo of journal.reverse()) undo();
        throw err;
      }
    });
  }

  /** Reads outside a transaction still wait for the one in progress: no dirty reads. */
  read<T>(work: () => T): Promise<T> {
    return this.mutex.lock(async () => work());
  }

  appendOutbox(row: Omit<OutboxRow, 'position'>): void {
    this.outbox.set(row.envelope.id, { ...row, position: this.nextPosition++ });
    this.outboxTouched = true;
  }

  /** Called after each commit that appended to the outbox (the in-memory LISTEN/NOTIFY). */
  onOutboxCommit(listener: () => void): () => void {
    this.commitListeners.add(listener);
    return () => this.commitListeners.delete(listener);
  }

  private notifyCommit(): void {
    for (const listener of this.commitListeners) listener();
  }
}
