import type { WireMessage } from '@gozon/messaging';

export interface Delivery {
  readonly message: WireMessage;
  readonly queue: string;
  /** True when the message was handed out before and not acknowledged. */
  readonly redelivered: boolean;
}

type Handler = (delivery: Delivery) => void;

interface Queue {
  readonly name: string;
  readonly deadLetterQueue: string | null;
  readonly ready: Delivery[];
  readonly unacked: Set<Delivery>;
  consumers: Array<{ handler: Handler; prefetch: number; inFlight: Set<Delivery> }>;
  turn: number;
}

/**
 * An in-process stand-in for RabbitMQ with the same delivery guarantees the system relies on:
 * at least once (a message is kept until acknowledged, and redelivered if its consumer goes away
 * or rejects it with requeue), per-consumer prefetch, dead-lettering on reject, and routing by key
 * from one exchange. Tests may make it deliver every message twice, put raw bytes on a queue, or
 * drop its consumers as a crash would.
 */
export class InMemoryBroker {
  private readonly queues = new Map<string, Queue>();
  private readonly bindings = new Map<string, Set<string>>();
  private idleWaiters: Array<() => void> = [];
  /** When set, every published message is enqueued twice (same messageId). */
  duplicateEveryMessage = false;

  /** Declares a durable queue bound to `routingKey`, dead-lettering to `<name>.dlq`. */
  declareQueue(name: string, routingKey = name): void {
    if (this.queues.has(name)) return;
    const dlq = `${name}.dlq`;
    this.queues.set(dlq, this.newQueue(dlq, null));
    this.queues.set(name, this.newQueue(name, dlq));
    const bound = this.bindings.get(routingKey) ?? new Set<string>();
    bound.add(name);
    this.bindings.set(routingKey, bound);
  }

  /** Routes a message to every queue bound to `routingKey`; unroutable messages are dropped. */
  publish(routingKey: string, message: WireMessage): void {
    for (const name of this.bindings.get(routingKey) ?? []) {
      this.enqueue(name, message);
      if (this.duplicateEveryMessage) this.enqueue(name, message);
    }
  }

  /** Puts a message straight on a queue (tests: malformed or hand-made messages). */
  inject(queue: string, message: WireMessage): void {
    this.enqueue(queue, message);
  }

  consume(queueName: string, prefetch: number, handler: Handler): () => Delivery[] {
    const queue = this.queue(queueName);
    const consumer = { handler, prefetch, inFlight: new Set<Delivery>() };
    queue.consumers.push(consumer);
    this.dispatch(queue);
    // Cancelling hands back what the consumer still holds, as a dropped channel does.
    return () => {
      queue.consumers = queue.consumers.filter((c) => c !== consumer);
      const held = [...consumer.inFlight];
      for (const delivery of held) this.settle(delivery, 'requeue');
      return held;
    };
  }

  /**
   * Drops every consumer of a queue at once, as a crashed process's channel goes: what they held
   * comes back redelivered, and their handlers are left to run on unheard (tests).
   */
  crashConsumers(queueName: string): void {
    const queue = this.queue(queueName);
    const consumers = queue.consumers;
    queue.consumers = [];
    for (const consumer of consumers) for (const delivery of [...consumer.inFlight]) this.settle(delivery, 'requeue');
  }

  ack(delivery: Delivery): void {
    this.settle(delivery, 'ack');
  }

  /** Rejects a delivery: back to the queue, or on to the dead-letter queue. */
  nack(delivery: Delivery, requeue: boolean): void {
    this.settle(delivery, requeue ? 'requeue' : 'dead-letter');
  }

  /** Removes and returns the messages waiting in a queue, e.g. a dead-letter queue. */
  take(queue: string): WireMessage[] {
    return this.queue(queue)
      .ready.splice(0)
      .map((d) => d.message);
  }

  /** Messages waiting (not handed out) in a queue. */
  depth(queue: string): number {
    return this.queue(queue).ready.length;
  }

  /** A copy of the messages waiting in a queue, e.g. a dead-letter queue. */
  peek(queue: string): WireMessage[] {
    return this.queue(queue).ready.map((d) => d.message);
  }

  /** True when no message is waiting or in flight outside the dead-letter queues. */
  isIdle(): boolean {
    for (const queue of this.queues.values()) {
      if (queue.deadLetterQueue === null) continue;
      if (queue.ready.length > 0 || queue.unacked.size > 0) return false;
    }
    return true;
  }

  /** Resolves the next time the broker is idle. */
  idle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private newQueue(name: string, deadLetterQueue: string | null): Queue {
    return { name, deadLetterQueue, ready: [], unacked: new Set(), consumers: [], turn: 0 };
  }

  private queue(name: string): Queue {
    const queue = this.queues.get(name);
    if (!queue) throw new Error(`no queue ${name}`);
    return queue;
  }

  private enqueue(name: string, message: WireMessage, redelivered = false): void {
    const queue = this.queue(name);
    queue.ready.push({ message, queue: name, redelivered });
    this.dispatch(queue);
  }

  private settle(delivery: Delivery, how: 'ack' | 'requeue' | 'dead-letter'): void {
    const queue = this.queue(delivery.queue);
    if (!queue.unacked.delete(delivery)) return; // settled twice: ignore, as a closed tag would be
    for (const consumer of queue.consumers) consumer.inFlight.delete(delivery);
    if (how === 'requeue') queue.ready.unshift({ ...delivery, redelivered: true });
    if (how === 'dead-letter' && queue.deadLetterQueue) this.enqueue(queue.deadLetterQueue, delivery.message);
    this.dispatch(queue);
    this.checkIdle();
  }

  /** Hands ready messages to consumers with room under their prefetch, round-robin. */
  private dispatch(queue: Queue): void {
    while (queue.ready.length > 0) {
      const consumer = this.nextConsumer(queue);
      if (!consumer) return;
      const delivery = queue.ready.shift() as Delivery;
      queue.unacked.add(delivery);
      consumer.inFlight.add(delivery);
      // Deliver asynchronously, as a network would: never inside the publisher's call.
      queueMicrotask(() => consumer.handler(delivery));
    }
  }

  private nextConsumer(queue: Queue): Queue['consumers'][number] | undefined {
    const count = queue.consumers.length;
    for (let i = 0; i < count; i += 1) {
      const consumer = queue.consumers[(queue.turn + i) % count];
      if (consumer && consumer.inFlight.size < consumer.prefetch) {
        queue.turn = (queue.turn + i + 1) % count;
        return consumer;
      }
    }
    return undefined;
  }

  private checkIdle(): void {
    if (!this.isIdle()) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}
