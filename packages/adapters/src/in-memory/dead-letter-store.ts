import type { DeadLetter, DeadLetterStore, StoredDeadLetter } from '@gozon/messaging';
import { storableText } from '../dead-letter-text.js';

/** Dead letters in memory, copied in and out as a database would; the direct bus's default. */
export class InMemoryDeadLetterStore implements DeadLetterStore {
  private readonly letters = new Map<string, StoredDeadLetter>();
  private next = 1;

  async add(letter: DeadLetter): Promise<void> {
    const id = String(this.next++);
    this.letters.set(id, {
      id,
      queue: storableText(letter.queue),
      message: structuredClone(letter.message),
      reason: storableText(letter.reason),
      deadLetteredAt: new Date(),
    });
  }

  async list(): Promise<StoredDeadLetter[]> {
    return [...this.letters.values()].map((letter) => structuredClone(letter));
  }

  async remove(id: string): Promise<boolean> {
    return this.letters.delete(id);
  }
}
