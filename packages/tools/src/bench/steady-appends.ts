// The load of the steady-relay measurement: one payment request per transaction at a fixed rate,
// each commit's moment kept by message id. The relay mode appends from the bench process, the
// commit mode from the service process it starts: the same code either way.
import { randomUUID } from 'node:crypto';
import { MessageTypes, Routes, type OrdersTx, type OutgoingMessage, type UnitOfWork } from '@gozon/core';
import { openLoop } from './http-client.js';

/** The payment request the bench's relay measurements append: no headers, as a request without a trace has. */
export const benchPaymentRequest = (userId: string): OutgoingMessage => {
  const orderId = randomUUID();
  return {
    routingKey: Routes.orderPayments,
    envelope: {
      id: randomUUID(),
      type: MessageTypes.paymentRequested,
      correlationId: orderId,
      occurredAt: new Date().toISOString(),
      payload: { order_id: orderId, user_id: userId, amount: 100 },
      headers: {},
    },
  };
};

/**
 * Moments on the machine's monotonic clock, in nanoseconds. It is the same clock in every process
 * here (CLOCK_MONOTONIC), so a commit timed in one process and a receipt timed in another compare.
 */
export const clockNs = (): bigint => process.hrtime.bigint();

export interface Appended {
  /** When each message's transaction had committed (`uow.run` resolved), by message id. */
  readonly committed: Map<string, bigint>;
  /** Transactions that failed: their messages never existed. */
  readonly failed: number;
}

/**
 * Appends `rate × seconds` messages, one per transaction, each due at start + k / rate whatever
 * the transactions before it do (open loop: a slow commit delays no later one).
 */
export const appendAtRate = async (uow: UnitOfWork<OrdersTx>, rate: number, seconds: number): Promise<Appended> => {
  const committed = new Map<string, bigint>();
  let failed = 0;
  await openLoop(rate, seconds, async () => {
    const message = benchPaymentRequest('bench-steady');
    try {
      await uow.run((tx) => tx.outbox.append(message));
      committed.set(message.envelope.id, clockNs());
    } catch {
      failed += 1;
    }
  });
  return { committed, failed };
};
