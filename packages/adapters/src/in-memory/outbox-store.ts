import { systemClock, type Clock } from '@gozon/core';
import { type ClaimedMessage, type OutboxStore } from '@gozon/messaging';
import type { InMemoryDatabase } from './database.js';

/** The relay's side of an in-memory outbox, with leases measured on `clock`. */
export class InMemoryOutboxStore implements OutboxStore {
  constructor(
    private readonly db: InMemoryDatabase,
    private readonly clock: Clock = systemClock,
  ) {}

  claim(limit: number, leaseMs: number): Promise<ClaimedMessage[]> {
    return this.db.transaction(async () => this.claimRows(limit, leaseMs));
  }

  markPublished(ids: readonly string[]): Promise<void> {
    return this.db.transaction(async () => this.markRows(ids));
  }

  markAndClaim(published: readonly string[], limit: number, leaseMs: number): Promise<ClaimedMessage[]> {
    // One transaction, as the one statement on Postgres: both or neither.
    return this.db.transaction(async () => {
      this.markRows(published);
      return this.claimRows(limit, leaseMs);
    });
  }

  release(ids: readonly string[]): Promise<void> {
    return this.db.transaction(async () => {
      for (const id of ids) {
        const row = this.db.outbox.get(id);
        if (row && row.publishedAt === null) this.db.outbox.set(id, { ...row, leasedUntil: 0 });
      }
    });
  }

  pending(): Promise<number> {
    return this.db.read(() => [...this.db.outbox.values()].filter((row) => row.publishedAt === null).length);
  }

  private claimRows(limit: number, leaseMs: number): ClaimedMessage[] {
    const now = this.clock.now().getTime();
    const free = [...this.db.outbox.values()]
      .filter((row) => row.publishedAt === null && row.leasedUntil <= now)
      .sort((a, b) => a.position - b.position)
      .slice(0, limit);
    for (const row of free) {
      this.db.outbox.set(row.envelope.id, { ...row, leasedUntil: now + leaseMs, attempts: row.attempts + 1 });
    }
    return free.map((row) => ({
      routingKey: row.routingKey,
      envelope: structuredClone(row.envelope),
      position: row.position,
      attempts: row.attempts,
    }));
  }

  private markRows(ids: readonly string[]): void {
    const now = this.clock.now();
    for (const id of ids) {
      const row = this.db.outbox.get(id);
      if (row && row.publishedAt === null) this.db.outbox.set(id, { ...row, publishedAt: now });
    }
  }
}
