import { DomainError, type MessageEnvelope } from '@gozon/core';
import {
  Batcher,
  type BatcherOptions,
  decideOnFailure,
  decodeMessage,
  screenRedelivery,
  type BatchHandler,
  type FailureDecision,
  type WireMessage,
  type MessageHandler,
  type PoisonGuard,
  type RetryPolicy,
  type Subscription,
} from '@gozon/messaging';
import type { ChannelModel, ConfirmChannel, ConsumeMessage } from 'amqplib';
import { publishConfirmed } from './confirm.js';
import type { RabbitConnection } from './connection.js';
import { declareRetryQueue, retryDelays } from './topology.js';
import { attemptOf, contentOf, fromAmqp, publishOptions, retryCopy, waitsOf } from './wire.js';

interface ConsumerOptions {
  readonly prefetch: number;
  readonly retry: RetryPolicy;
  readonly onFailure?: (err: unknown, action: 'retry' | 'dead-letter', queue: string) => void;
  readonly poison?: PoisonGuard | undefined;
  /** The RabbitMQ user who publishes on this queue; unset, senders are not checked. */
  readonly sender?: string | undefined;
  /** Handles first deliveries that wait together in one call; see `SubscribeOptions.batch`. */
  readonly batch?: (BatcherOptions & { readonly handler: BatchHandler }) | undefined;
}

interface Held {
  readonly attached: Attached;
  readonly delivery: ConsumeMessage;
}

interface Attached {
  readonly model: ChannelModel;
  readonly channel: ConfirmChannel;
  readonly consumerTag: string;
  /** Retry queues known to exist, by delay. */
  readonly retryQueues: Map<number, string>;
}

const REATTACH_MS = 250;

/**
 * One queue's consumer. Its channel both consumes and publishes retries, so a retry copy is
 * confirmed before the original is acknowledged on the same channel. Reattaches by itself after
 * its channel or the connection went away: whatever it held unacknowledged is redelivered.
 *
 * Where a retry waits depends on the queue type. On classic queues, in a retry queue whose TTL
 * hands it back to the queue. On quorum queues, here: the original is held unacknowledged (in
 * the replicated queue) for the delay, then its copy is published straight back to the queue.
 * A quorum retry queue would hand messages back through the broker's at-least-once
 * dead-lettering, whose worker on RabbitMQ 3.10 can be left sending to a killed node for as long
 * as that node is down (docs/operations.md, "Retries on quorum queues").
 */
export class Consumer implements Subscription {
  private attached: Attached | null = null;
  private attaching: Promise<void> | null = null;
  private readonly inFlight = new Set<Promise<void>>();
  /** Redelivered messages, handled one at a time: see `screened`. */
  private suspects: Promise<void> = Promise.resolve();
  private closed = false;
  private readonly stopReconnect: () => void;
  private readonly batcher: Batcher<Held> | undefined;
  /** Retries waiting out their delay here (quorum queues); `close` cuts the waits short. */
  private readonly waiting = new Set<() => void>();

  constructor(
    private readonly connection: RabbitConnection,
    private readonly queue: string,
    private readonly handler: MessageHandler,
    private readonly options: ConsumerOptions,
  ) {
    this.stopReconnect = connection.onReconnect((model) => this.attach(model));
    const batch = options.batch;
    this.batcher = batch && new Batcher((held) => this.handleBatch(held, batch.handler), batch);
  }

  async start(): Promise<void> {
    try {
      await this.attach(this.connection.current());
    } catch (err) {
      this.closed = true;
      this.stopReconnect();
      throw err;
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stopReconnect();
    await this.attaching?.catch(() => undefined);
    const attached = this.attached;
    if (attached) await attached.channel.cancel(attached.consumerTag).catch(() => undefined);
    // A retry waiting here is sent back to the queue at once rather than holding up the close.
    for (const wake of [...this.waiting]) wake();
    // What ends meanwhile may have added a retry of its own (sent back at once, as closed).
    while (this.inFlight.size > 0) await Promise.all(this.inFlight);
    this.attached = null;
    if (attached) await attached.channel.close().catch(() => undefined);
  }

  private attach(model: ChannelModel): Promise<void> {
    if (this.closed || this.attached?.model === model) return Promise.resolve();
    if (this.attaching) return this.attaching;
    this.attaching = this.open(model).finally(() => (this.attaching = null));
    return this.attaching;
  }

  private async open(model: ChannelModel): Promise<void> {
    const channel = await model.createConfirmChannel();
    channel.setMaxListeners(0); // every retry in flight listens for close
    channel.on('error', (err: Error) => this.connection.report(`consumer ${this.queue}`, err));
    channel.on('close', () => this.channelClosed(channel));
    try {
      const retryQueues = new Map<number, string>();
      if (this.connection.queueType === 'classic')
        for (const delay of retryDelays(this.options.retry))
          retryQueues.set(delay, await declareRetryQueue(channel, this.queue, delay));
      await channel.prefetch(this.options.prefetch);
      // Set before consuming: the first delivery may arrive before `consume` resolves.
      const attached = { model, channel, consumerTag: '', retryQueues };
      this.attached = attached;
      const { consumerTag } = await channel.consume(this.queue, (delivery) => this.delivered(attached, delivery));
      this.attached = { ...attached, consumerTag };
    } catch (err) {
      if (this.attached?.channel === channel) this.attached = null;
      await channel.close().catch(() => undefined);
      throw err;
    }
  }

  // The connection's own recovery reattaches after a drop; a channel that closed alone (the queue
  // was deleted, a protocol error) is reattached here, on whatever connection is up by then.
  private channelClosed(channel: ConfirmChannel): void {
    if (this.attached?.channel !== channel) return;
    this.attached = null;
    if (this.closed) return;
    setTimeout(() => {
      if (this.closed || this.attached || !this.connection.isOpen) return;
      this.attach(this.connection.current()).catch((err: unknown) => this.reattachFailed(err));
    }, REATTACH_MS).unref();
  }

  private reattachFailed(err: unknown): void {
    this.connection.report(`consumer ${this.queue}`, err);
    // Try again later: a channel that failed while opening is not ours, so its `close` is ignored.
    setTimeout(() => {
      if (this.closed || this.attached || !this.connection.isOpen) return;
      this.attach(this.connection.current()).catch((e: unknown) => this.reattachFailed(e));
    }, REATTACH_MS * 4).unref();
  }

  private delivered(attached: Attached, delivery: ConsumeMessage | null): void {
    if (delivery === null) {
      // The broker cancelled the consumer (the queue went away): start over on a new channel.
      attached.channel.close().catch(() => undefined);
      return;
    }
    if (this.closed) return; // left unacknowledged: closing the channel gives it back to the queue
    if (this.refusedSender(attached, delivery)) return;
    // Only a redelivery is screened: a first delivery costs the guard nothing.
    const guard = delivery.fields.redelivered ? this.options.poison : undefined;
    const handling = guard
      ? this.screened(attached, delivery, guard)
      : this.batcher
        ? this.batcher.add({ attached, delivery })
        : this.handle(attached, delivery);
    this.track(handling);
  }

  /**
   * RabbitMQ refuses a `userId` that is not the publisher's own user, so a set one names who
   * published. Anyone but this queue's sender is refused before the poison guard, a batch or the
   * handler sees the message. A message without one passes, as the contract has it: retry copies
   * carry none, and neither do `gozon dlq` replays (the operator is trusted).
   */
  private refusedSender(attached: Attached, delivery: ConsumeMessage): boolean {
    const expected = this.options.sender;
    const userId: unknown = delivery.properties.userId;
    if (expected === undefined || userId === undefined || userId === expected) return false;
    const err = new DomainError(
      'malformed_message',
      'unexpected_sender',
      `a message on ${this.queue} was published by RabbitMQ user ${JSON.stringify(String(userId))}, not by its sender ${JSON.stringify(expected)}`,
    );
    try {
      this.options.onFailure?.(err, 'dead-letter', this.queue);
    } catch {
      // A failing observer must not keep the message from being settled.
    }
    settle(() => attached.channel.nack(delivery, false, false));
    return true;
  }

  /**
   * A crash takes down every message in flight with the one that caused it, and all of them come
   * back redelivered. Handled side by side, the innocent ones would be counted with the culprit on
   * every crash and dead-lettered beside it; handled one at a time, each redelivered message is
   * counted only when its own turn comes, so a crash charges the one whose turn it was.
   */
  private screened(attached: Attached, delivery: ConsumeMessage, guard: PoisonGuard): Promise<void> {
    const turn = this.suspects.then(() => this.screen(attached, delivery, guard));
    this.suspects = turn.catch(() => undefined);
    return turn;
  }

  private async screen(attached: Attached, delivery: ConsumeMessage, guard: PoisonGuard): Promise<void> {
    // Its channel is gone (or closing): the broker hands it out again, to be counted then.
    if (this.closed || this.attached?.channel !== attached.channel) return;
    const messageId: unknown = delivery.properties.messageId;
    // Without a messageId there is nothing to count by; the codec dead-letters it anyway.
    const poison =
      typeof messageId === 'string' && messageId !== ''
        ? await screenRedelivery(guard, this.queue, messageId, (err) =>
            this.connection.report(`poison guard ${this.queue}`, err),
          )
        : null;
    if (!poison) return this.handle(attached, delivery);
    try {
      this.options.onFailure?.(poison, 'dead-letter', this.queue);
    } catch {
      // A failing observer must not keep the message from being settled.
    }
    // Rejected without requeue, the queue's dead-letter exchange moves it, messageId and all, to
    // `<queue>.dlq`, where `gozon dlq replay` can send it back.
    settle(() => attached.channel.nack(delivery, false, false));
  }

  private async handle(attached: Attached, delivery: ConsumeMessage): Promise<void> {
    const { channel } = attached;
    const wire = fromAmqp(delivery);
    const attempt = attemptOf(wire);
    try {
      await this.handler(decodeMessage(wire));
      settle(() => channel.ack(delivery));
    } catch (err) {
      const decision = decideOnFailure(err, attempt, this.options.retry, waitsOf(wire));
      try {
        this.options.onFailure?.(err, decision.action, this.queue);
      } catch {
        // A failing observer must not keep the message from being settled.
      }
      if (decision.action === 'dead-letter') {
        settle(() => channel.nack(delivery, false, false));
        return;
      }
      const parking = this.park(attached, delivery, wire, decision);
      if (this.connection.queueType === 'classic') return parking;
      // On quorum queues the retry waits out its delay here. `close` waits for it, but the handling
      // is over: a redelivered message's turn (see `screened`) ends when its handler has failed,
      // not a delay later.
      this.track(parking);
    }
  }

  /** Keeps `work` among what `close` waits for until it ends. */
  private track(work: Promise<void>): void {
    const tracked = work.finally(() => this.inFlight.delete(tracked));
    this.inFlight.add(tracked);
  }

  /**
   * Parks a failed message for another try: its copy, one attempt further, is confirmed before the
   * original is acknowledged; if it cannot be, the original goes back to the queue.
   */
  private async park(
    attached: Attached,
    delivery: ConsumeMessage,
    wire: WireMessage,
    decision: Extract<FailureDecision, { action: 'retry' }>,
  ): Promise<void> {
    const { channel } = attached;
    try {
      const target = await this.retryTarget(attached, decision.delayMs);
      if (target === null) return; // its channel closed while it waited: the broker gives it back
      const copy = retryCopy(wire, decision);
      await publishConfirmed(channel, [
        {
          exchange: '',
          routingKey: target,
          content: contentOf(copy),
          options: { ...publishOptions(copy), mandatory: true },
        },
      ]);
      settle(() => channel.ack(delivery));
    } catch (parkErr) {
      // Not parked: hand it back for another try now; if the channel is gone, the broker does.
      this.connection.report(`consumer ${this.queue}`, parkErr);
      settle(() => channel.nack(delivery, false, true));
      // A channel whose publishes are nacked may stay so (a quorum queue's leader died
      // mid-publish, as with the publisher): consume and retry on a new one from now on.
      if (parkErr instanceof Error && /nack/i.test(parkErr.message)) void channel.close().catch(() => undefined);
    }
  }

  /**
   * First deliveries that waited together: one call of the batch handler, one commit, and each
   * acknowledged after it. A batch that fails (one bad message, a deadlock, the database away)
   * changed nothing, so each of its messages is then handled alone, exactly as without batches.
   */
  private async handleBatch(held: Held[], batch: BatchHandler): Promise<void> {
    // Left unacknowledged: closing the channel gives them back to the queue.
    if (this.closed) return;
    const decoded: { held: Held; message: MessageEnvelope }[] = [];
    const alone: Held[] = [];
    for (const h of held) {
      try {
        decoded.push({ held: h, message: decodeMessage(fromAmqp(h.delivery)) });
      } catch {
        alone.push(h); // malformed: handled alone, it is dead-lettered there
      }
    }
    if (decoded.length > 1) {
      try {
        await batch(decoded.map((d) => d.message));
        for (const { held: h } of decoded) settle(() => h.attached.channel.ack(h.delivery));
        decoded.length = 0;
      } catch {
        // Nothing of the batch was applied: each message on its own, with its own retries.
      }
    }
    alone.push(...decoded.map((d) => d.held));
    await Promise.all(alone.map((h) => this.handle(h.attached, h.delivery)));
  }

  /**
   * Where a retry copy goes, once it may: on classic queues at once, to the retry queue of its
   * delay; on quorum queues after waiting out the delay here, straight back to the queue — or
   * nowhere (null) when the channel holding the original closed meanwhile.
   */
  private async retryTarget(attached: Attached, delayMs: number): Promise<string | null> {
    if (this.connection.queueType === 'classic')
      return attached.retryQueues.get(delayMs) ?? (await this.declareRetry(attached, delayMs));
    await this.wait(delayMs);
    return this.attached?.channel === attached.channel ? this.queue : null;
  }

  /** Resolves after `ms`, or as soon as the consumer closes. */
  private wait(ms: number): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        this.waiting.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.waiting.add(wake);
    });
  }

  private async declareRetry(attached: Attached, delayMs: number): Promise<string> {
    const name = await declareRetryQueue(attached.channel, this.queue, delayMs);
    attached.retryQueues.set(delayMs, name);
    return name;
  }
}

/** Acks and nacks on a closed channel throw; the broker redelivers those messages anyway. */
const settle = (action: () => void): void => {
  try {
    action();
  } catch {
    // The delivery tag died with its channel.
  }
};
