import type { UnitOfWork } from '../shared/unit-of-work.js';
import type { MessageEnvelope } from './envelope.js';
import { recordAll, type Inbox } from './inbox.js';

/** What a message already applied comes to: nothing, said so. */
export type Duplicate = 'duplicate';

/** A parsed request and the message it came in. */
export interface Parsed<Request> {
  readonly message: MessageEnvelope;
  readonly request: Request;
}

/** The steps of a message use case; `MessageBatch` runs them for one message or many. */
export interface MessageSteps<Tx, Request, Loaded, Result> {
  /** Whose inbox records the messages. */
  readonly consumer: string;
  /** Reads a message's request; throws a `malformed_message` error for one that is not. */
  parse(message: MessageEnvelope): Request;
  /** The keys requests are taken in, so that every batch locks rows in the same order. */
  lockOrder(request: Request): readonly string[];
  /** Reads what the requests need, for all of them at once. */
  load(tx: Tx, requests: readonly Request[]): Promise<Loaded>;
  /** Decides one request, first seen by the inbox, in the batch's transaction. */
  decide(tx: Tx, parsed: Parsed<Request>, loaded: Loaded): Promise<Result>;
}

const byKeys = (a: readonly string[], b: readonly string[]): number => {
  for (const [i, key] of a.entries()) {
    const other = b[i] ?? '';
    if (key !== other) return key < other ? -1 : 1;
  }
  return a.length - b.length;
};

/**
 * Handles messages in one transaction, all or none, each as if alone: parse, record in the inbox,
 * load, decide. The inbox records and the loads are asked together, once for the whole batch, so
 * an adapter that pipelines sends them in one round trip; rows are read (and locked) even for a
 * message the inbox then finds repeated, since a row read for nothing costs less than a round trip.
 */
export class MessageBatch<Tx extends { readonly inbox: Inbox }, Request, Loaded, Result> {
  constructor(
    private readonly uow: UnitOfWork<Tx>,
    private readonly steps: MessageSteps<Tx, Request, Loaded, Result>,
  ) {}

  /** One message: a batch of one. */
  async one(message: MessageEnvelope): Promise<Result | Duplicate> {
    const [result] = await this.all([message]);
    if (result === undefined) throw new Error('a batch of one message has one result');
    return result;
  }

  /** The results, in the order of `messages`. */
  async all(messages: readonly MessageEnvelope[]): Promise<(Result | Duplicate)[]> {
    const { steps } = this;
    const inLockOrder = messages
      .map((message, index) => ({ index, message, request: steps.parse(message) }))
      .sort((a, b) => byKeys(steps.lockOrder(a.request), steps.lockOrder(b.request)));
    return this.uow.run(async (tx) => {
      const [fresh, loaded] = await Promise.all([
        recordAll(
          tx.inbox,
          steps.consumer,
          inLockOrder.map(({ message }) => message.id),
        ),
        steps.load(
          tx,
          inLockOrder.map(({ request }) => request),
        ),
      ]);
      const results = new Array<Result | Duplicate>(messages.length);
      // One after the other, in lock order: a later request sees what an earlier one decided.
      for (const [position, item] of inLockOrder.entries()) {
        results[item.index] = fresh[position] ? await steps.decide(tx, item, loaded) : 'duplicate';
      }
      return results;
    });
  }
}
