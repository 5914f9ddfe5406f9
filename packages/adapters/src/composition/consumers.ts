import type { MessageEnvelope } from '@gozon/core';
import type { BatchHandler, MessageHandler, MessageSubscriber, Subscription } from '@gozon/messaging';
import type { DispatchStrategy } from './dispatch.js';

/** A message use case as a consumer drives it: each call resolves with what became of each message. */
export interface MessageUseCase {
  execute(message: MessageEnvelope): Promise<string>;
  executeAll(messages: readonly MessageEnvelope[]): Promise<string[]>;
}

/** Turns a service's use case calls into its consumer's handlers, e.g. measuring or counting them on the way. */
export interface HandlerWrapper {
  handler(queue: string, execute: MessageUseCase['execute']): MessageHandler;
  batch(queue: string, executeAll: MessageUseCase['executeAll']): BatchHandler;
}

export const unwrapped: HandlerWrapper = {
  handler: (_queue, execute) => async (message) => void (await execute(message)),
  batch: (_queue, executeAll) => async (messages) => void (await executeAll(messages)),
};

/** Consumes `queue` with `useCase`: messages that wait together are handled in one transaction (one commit for all). */
export const consume = (
  subscriber: MessageSubscriber,
  queue: string,
  useCase: MessageUseCase,
  wrap: HandlerWrapper,
): Promise<Subscription> =>
  subscriber.subscribe(
    queue,
    wrap.handler(queue, (message) => useCase.execute(message)),
    { batch: wrap.batch(queue, (messages) => useCase.executeAll(messages)) },
  );

/** What runs beside a service's use cases: how its outbox is dispatched, and its one consumer. */
export interface Running {
  /** Starts the outbox's dispatch, then the consumer. */
  start(): Promise<void>;
  /** Stops the consumer, then the dispatch (marking what it published). */
  stop(): Promise<void>;
}

/** Runs `dispatch` and a consumer of `queue` with `useCase`, in that order, and stops them the other way round. */
export const running = (
  dispatch: Pick<DispatchStrategy, 'start' | 'stop'>,
  subscriber: MessageSubscriber,
  queue: string,
  useCase: MessageUseCase,
  wrap: HandlerWrapper = unwrapped,
): Running => {
  let subscription: Subscription | undefined;
  return {
    start: async () => {
      dispatch.start();
      subscription = await consume(subscriber, queue, useCase, wrap);
    },
    stop: async () => {
      await subscription?.close();
      subscription = undefined;
      await dispatch.stop();
    },
  };
};
