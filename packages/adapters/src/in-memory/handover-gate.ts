/**
 * Lets handovers run side by side, except one that must run alone: it waits for those in flight
 * to finish, and those that come meanwhile wait for it. A crash then takes down only the message
 * that was running alone, which is what lets a poison guard charge the right one.
 */
export class HandoverGate {
  private readonly inFlight = new Set<Promise<unknown>>();
  private solo: Promise<void> = Promise.resolve();
  private solos = 0;

  async shared<T>(work: () => Promise<T>): Promise<T> {
    while (this.solos > 0) await this.solo;
    // Added before any await, so a handover that is to run alone next sees this one in flight.
    const running = work();
    this.inFlight.add(running);
    try {
      return await running;
    } finally {
      this.inFlight.delete(running);
    }
  }

  alone<T>(work: () => Promise<T>): Promise<T> {
    this.solos += 1;
    const turn = this.solo
      .then(() => Promise.allSettled([...this.inFlight]))
      .then(work)
      .finally(() => (this.solos -= 1));
    this.solo = turn.then(
      () => undefined,
      () => undefined,
    );
    return turn;
  }
}
