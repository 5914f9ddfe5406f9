import type { OutgoingMessage } from '@gozon/core';

/** An outbox row handed to one relay for a while. */
export interface ClaimedMessage extends OutgoingMessage {
  /** Insertion order; relays publish in this order. */
  readonly position: number;
  /** How many times a relay has claimed this row before (0 the first time). */
  readonly attempts: number;
}

/**
 * The relay's side of the outbox. A claim is a lease, so no transaction stays open while a relay
 * talks to the broker: a relay that dies leaves its rows to be claimed again after `leaseMs`.
 */
export interface OutboxStore {
  /** Leases up to `limit` unpublished rows no other relay holds, oldest first. */
  claim(limit: number, leaseMs: number): Promise<ClaimedMessage[]>;
  /** Marks rows published; they are never claimed again. */
  markPublished(ids: readonly string[]): Promise<void>;
  /**
   * Marks `published` as `markPublished` does, then leases as `claim` does, in one go: a busy
   * relay's step between two batches, one round trip instead of two. Neither happens if it fails.
   */
  markAndClaim(published: readonly string[], limit: number, leaseMs: number): Promise<ClaimedMessage[]>;
  /** Gives leased rows back at once, e.g. after a failed publish. */
  release(ids: readonly string[]): Promise<void>;
  /** How many rows wait to be published (for tests and metrics). */
  pending(): Promise<number>;
}

/**
 * Makes the calling relay the only one reading the outbox, or resolves null while another holds
 * it. A held outbox is read without leases: one write per row (the mark) instead of two (the
 * lease, then the mark).
 */
export type OutboxHold = () => Promise<OutboxLeadership | null>;

/**
 * Where a held relay's next read starts, as the store last said (`HeldRead.next`); the relay only
 * hands it back. Null: from the oldest row.
 */
export type ReadCursor = string | null;

/** What a held relay's read returns: rows, and where the next read starts. */
export interface HeldRead {
  readonly rows: ClaimedMessage[];
  /**
   * After the rows read; and past every row that can no longer appear behind it, when the store
   * can tell (a store that cannot leaves rows that commit late to the relay's periodic re-read
   * from the oldest row).
   */
  readonly next: ReadCursor;
}

/**
 * A relay's exclusive hold on an outbox. Rows are read without a lease, so nothing but the hold
 * keeps two relays apart; once it is lost (say its database session ended), another relay may
 * read what this one has in flight and publish it too, which at-least-once delivery allows.
 */
export interface OutboxLeadership {
  /** False once the hold is lost; the relay then stops reading and asks for the hold again. */
  readonly held: boolean;
  /**
   * Marks `published` as `markPublished` does, then reads up to `limit` unpublished rows that no
   * lease holds (rows a committing process publishes itself) from `from` on, oldest first, in one
   * round trip. The read does not see the mark: pass only rows read before `from`.
   */
  markAndRead(published: readonly string[], from: ReadCursor, limit: number): Promise<HeldRead>;
  /** Gives the hold up. */
  resign(): Promise<void>;
}
