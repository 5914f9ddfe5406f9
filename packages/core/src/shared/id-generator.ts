/** Where new ids come from: order ids and message ids are UUIDs. */
export interface IdGenerator {
  /** A fresh, globally unique id. */
  next(): string;
}

export const randomIds: IdGenerator = { next: () => globalThis.crypto.randomUUID() };

/** Predictable UUIDs (`00000000-0000-4000-8000-000000000001`, …) for tests. */
export class SequentialIds implements IdGenerator {
  private counter = 0;

  constructor(private readonly prefix = '00000000-0000-4000-8000-') {}

  next(): string {
    this.counter += 1;
    return `${this.prefix}${this.counter.toString(16).padStart(12, '0')}`;
  }
}
