/** The server is full: `maxInFlight` requests generating and `maxQueue` waiting. */
export class ServerBusy extends Error {
  constructor() {
    super('The server is busy: too many requests are generating or waiting; try again in a moment.');
    this.name = 'ServerBusy';
  }
}

/**
 * Admits at most `maxInFlight` requests to generate at once; the next
 * `maxQueue` wait in order for a place, and past those `enter` throws
 * ServerBusy (the server answers 429). A waiting request whose signal aborts
 * (its client went away) leaves the queue.
 */
export class Admission {
  private inFlight = 0;
  private readonly queue: { admit: () => void; signal?: AbortSignal; onAbort: () => void }[] = [];

  constructor(
    readonly maxInFlight: number,
    readonly maxQueue: number,
  ) {}

  get active(): number {
    return this.inFlight;
  }

  get waiting(): number {
    return this.queue.length;
  }

  /** Resolves with the function that gives the place back, once the request may generate. */
  async enter(signal?: AbortSignal): Promise<() => void> {
    if (this.inFlight < this.maxInFlight && this.queue.length === 0) {
      this.inFlight++;
      return this.releaser();
    }
    if (this.queue.length >= this.maxQueue) throw new ServerBusy();
    await new Promise<void>((resolve, reject) => {
      const entry = {
        admit: () => {
          signal?.removeEventListener('abort', entry.onAbort);
          resolve();
        },
        signal,
        onAbort: () => {
          const i = this.queue.indexOf(entry);
          if (i >= 0) this.queue.splice(i, 1);
          reject(signal!.reason);
        },
      };
      if (signal?.aborted) return reject(signal.reason);
      signal?.addEventListener('abort', entry.onAbort, { once: true });
      this.queue.push(entry);
    });
    return this.releaser(); // the place was handed over by the request that left
  }

  private releaser(): () => void {
    let given = false;
    return () => {
      if (given) return;
      given = true;
      const next = this.queue.shift();
      // A waiting request takes the place over (counted as it is), so no newcomer slips in between.
      if (next) next.admit();
      else this.inFlight--;
    };
  }
}
