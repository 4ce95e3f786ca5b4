import type { ServerState } from './state.js';

/**
 * Paces work that runs beside the schedulers on the one thread (a trace, a
 * long answer's JSON): after each piece the event loop turns, and while
 * requests are generating the work waits as long as its piece took, so their
 * steps keep at least half of the thread however long the work.
 */
export class Pacer {
  private since = performance.now();

  /** `busy`: whether requests are generating now. */
  constructor(private readonly busy: () => boolean = () => false) {}

  /** Ends a piece of work: resolves once the others have had their turn. */
  async pause(): Promise<void> {
    const took = performance.now() - this.since;
    await new Promise(resolve => (this.busy() ? setTimeout(resolve, took) : setImmediate(resolve)));
    this.since = performance.now();
  }
}

/** A pacer that gives way to every model's requests (all models' schedulers share the thread). */
export function serverPacer(state: ServerState): Pacer {
  return new Pacer(() => [...state.schedulers.values()].some(s => s.active > 0));
}
