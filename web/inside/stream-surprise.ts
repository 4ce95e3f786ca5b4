// Each streamed character coloured by the model's surprise at it, a little
// behind the text: the model handle's own stream reads the text a character
// at a time (predict, then feed) in the page's idle time (the gaps between
// the generation's turns, then the time after it), so that colouring costs
// generation little and catches up once it ends. The surprise is the one `trace` and
// the Inside view give for the same text: the model reading the prime and the
// text from a fresh state (a line model: from its start of line).
import type { CharRnnModel } from '../../src/generate/char-rnn-model.js';
import { isDark, rgbAt, SURPRISE_STOPS } from '../../src/report/explain-scales.js';
import { percentOf } from '../../src/report/explain-reading.js';

/** Milliseconds of colouring per turn while text comes: short, so that an idle period the browser misjudges does not hold up the next piece. */
const SLICE_MS = 2;
/** No text for this long: the generation has ended (or paused), and colouring may take all the idle time it gets. */
const QUIET_MS = 100;
/** How long colouring waits for idle time before it takes a slice anyway. */
const IDLE_WAIT_MS = 300;

export class StreamSurprise {
  private readonly queue: HTMLElement[] = [];
  private readonly known: Set<string>;
  private scheduled = false;
  private lastPush = 0;
  private stopped = false;
  /** Whether the next character has nothing before it to be predicted from. */
  private fresh: boolean;
  /** Resolves when every character pushed so far is coloured. */
  private idle: (() => void)[] = [];

  /** Starts from a fresh state that has read `prime` (as `trace` reads it: characters the model does not know are not fed). */
  constructor(
    private readonly model: CharRnnModel,
    prime: string,
  ) {
    this.known = new Set(model.chars);
    model.reset();
    const start = (model.lineModel ? '\n' : '') + [...prime].filter(c => this.known.has(c)).join('');
    if (start !== '') model.feed(start);
    this.fresh = start === '';
  }

  /** Queues a span holding one character of the text to be coloured. */
  push(span: HTMLElement): void {
    if (this.stopped) return;
    this.queue.push(span);
    this.lastPush = performance.now();
    this.schedule();
  }

  /** Stops colouring (the spans not yet coloured stay as they are). */
  stop(): void {
    this.stopped = true;
    this.queue.length = 0;
    for (const resolve of this.idle.splice(0)) resolve();
  }

  /** Resolves once every queued character is coloured (or colouring stopped). */
  done(): Promise<void> {
    if (this.queue.length === 0 || this.stopped) return Promise.resolve();
    return new Promise(resolve => this.idle.push(resolve));
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    if (typeof requestIdleCallback === 'function') requestIdleCallback(deadline => this.work(deadline), { timeout: IDLE_WAIT_MS });
    else setTimeout(() => this.work(null), 0);
  }

  private work(deadline: IdleDeadline | null): void {
    this.scheduled = false;
    const started = performance.now();
    const streaming = started - this.lastPush < QUIET_MS;
    const idle = deadline !== null && !deadline.didTimeout;
    const more = (): boolean => {
      const elapsed = performance.now() - started;
      if (!idle) return elapsed < SLICE_MS;
      return deadline.timeRemaining() > 1 && (!streaming || elapsed < SLICE_MS);
    };
    while (this.queue.length > 0 && !this.stopped && more()) this.colour(this.queue.shift()!);
    if (this.queue.length > 0 && !this.stopped) this.schedule();
    else for (const resolve of this.idle.splice(0)) resolve();
  }

  private colour(span: HTMLElement): void {
    const c = span.textContent ?? '';
    if (!this.known.has(c)) {
      span.classList.add('unknown');
      span.title = 'not in the model’s vocabulary';
      return;
    }
    if (!this.fresh) {
      const p = this.model.predict().find(x => x.char === c)?.p ?? 0;
      const s = -Math.log(p);
      const rgb = rgbAt(SURPRISE_STOPS, s);
      span.style.backgroundColor = `rgb(${rgb[0]}, ${rgb[1]}, ${rgb[2]})`;
      if (isDark(rgb)) span.classList.add('dark');
      span.dataset.s = String(s);
      span.title = `surprise ${s.toFixed(2)} nats · p = ${percentOf(p)}`;
    }
    this.model.feed(c);
    this.fresh = false;
  }
}
