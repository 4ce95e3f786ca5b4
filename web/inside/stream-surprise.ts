// Each streamed character coloured by the model's surprise at it, a few
// frames behind the text. The characters that came since the last look are
// read as one chunk by the model (one forward pass, its state carried from
// chunk to chunk, as `trace` reads a text), so colouring costs about a third of a
// generation step a character, in one call every READ_EVERY_MS instead of one
// per character. The surprise is the one `trace` and the Inside view give
// for the same text: the model reading the prime and the text from a fresh
// state (a line model: from its start of line), −ln of the softmax of its
// logits at temperature 1, whatever the generation's temperature.
import type { CharRnnModel } from '../../src/generate/char-rnn-model.js';
import type { CharRNN, ModelState } from '../../src/model/charrnn.js';
import type { Vocabulary } from '../../src/text/vocabulary.js';
import { isDark, rgbAt, SURPRISE_STOPS } from '../../src/report/explain-scales.js';
import { percentOf } from '../../src/report/explain-reading.js';

/** How often the characters that came are read and coloured, in milliseconds. */
const READ_EVERY_MS = 50;
/** The most characters read in one forward pass (a long wait is read in several). */
const MOST_AT_ONCE = 1024;

export class StreamSurprise {
  private readonly net: CharRNN<Float32Array>;
  private readonly vocab: Vocabulary;
  private readonly state: ModelState<Float32Array>;
  /** The logits after the last character read, predicting the next: [V]; null before any (a fresh state predicts nothing). */
  private last: Float64Array | null = null;
  private readonly queue: HTMLElement[] = [];
  private timer: ReturnType<typeof setTimeout> | null = null;
  private stopped = false;
  /** Resolves when every character pushed so far is coloured. */
  private idle: (() => void)[] = [];

  /** Starts from a fresh state that has read `prime` (as `trace` reads it: characters the model does not know are not fed). */
  constructor(model: CharRnnModel, prime: string) {
    this.net = model.model;
    this.vocab = model.vocab;
    this.state = this.net.newState(1);
    const start = [...((model.lineModel ? '\n' : '') + prime)].map(c => this.vocab.id(c)).filter(id => id !== undefined);
    if (start.length > 0) this.read(Int32Array.from(start));
  }

  /** Queues a span holding the next character of the text, to be coloured at the next look. */
  push(span: HTMLElement): void {
    if (this.stopped) return;
    this.queue.push(span);
    this.timer ??= setTimeout(() => this.look(), READ_EVERY_MS);
  }

  /** Colours everything queued now (the generation ended). */
  flush(): void {
    while (this.queue.length > 0 && !this.stopped) this.readQueued();
    this.settle();
  }

  /** Stops colouring (the spans not yet coloured stay as they are). */
  stop(): void {
    this.stopped = true;
    this.queue.length = 0;
    this.settle();
  }

  /** Resolves once every queued character is coloured (or colouring stopped). */
  done(): Promise<void> {
    if (this.queue.length === 0 || this.stopped) return Promise.resolve();
    return new Promise(resolve => this.idle.push(resolve));
  }

  private settle(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    for (const resolve of this.idle.splice(0)) resolve();
  }

  private look(): void {
    this.timer = null;
    if (this.stopped) return;
    this.readQueued();
    if (this.queue.length > 0) this.timer = setTimeout(() => this.look(), 0);
    else this.settle();
  }

  /** Reads the next queued characters as one chunk and colours them; a character the model does not know is marked, not read. */
  private readQueued(): void {
    const spans = this.queue.splice(0, MOST_AT_ONCE);
    const ids = spans.map(span => this.vocab.id(span.textContent ?? ''));
    const known = ids.filter(id => id !== undefined);
    const surprise = known.length > 0 ? this.read(Int32Array.from(known)) : new Float64Array(0);
    let k = 0;
    spans.forEach((span, i) => {
      if (ids[i] === undefined) {
        span.classList.add('unknown');
        span.title = 'not in the model’s vocabulary';
      } else paint(span, surprise[k++]);
    });
  }

  /** Runs ids through the model on the carried state: the surprise at each, NaN where nothing predicted it. [T] */
  private read(ids: Int32Array): Float64Array {
    const T = ids.length;
    const V = this.vocab.size;
    const logits = this.net.forward(ids, T, 1, this.state); // [T, 1, V]
    const out = new Float64Array(T);
    for (let t = 0; t < T; t++) {
      if (this.last) out[t] = logSumExp(this.last) - this.last[ids[t]];
      else out[t] = NaN;
      this.last ??= new Float64Array(V);
      for (let v = 0; v < V; v++) this.last[v] = logits[t * V + v];
    }
    return out;
  }
}

/** ln Σ e^x, in float64, the largest subtracted first. */
function logSumExp(x: Float64Array): number {
  let max = -Infinity;
  for (const v of x) if (v > max) max = v;
  let sum = 0;
  for (const v of x) sum += Math.exp(v - max);
  return max + Math.log(sum);
}

/** Colours a span by its surprise (nats); NaN leaves it as it is. */
function paint(span: HTMLElement, s: number): void {
  if (Number.isNaN(s)) return;
  const rgb = rgbAt(SURPRISE_STOPS, s);
  span.style.backgroundColor = `rgb(${rgb[0]}, ${rgb[1]}, ${rgb[2]})`;
  span.classList.toggle('dark', isDark(rgb));
  span.dataset.s = String(s);
  span.title = `surprise ${s.toFixed(2)} nats · p = ${percentOf(Math.exp(-s))}`;
}
