import { CharrnnError } from '../errors.js';
import type { FloatArray } from '../kernels/kernels.js';
import type { CharRNN } from '../model/charrnn.js';
import type { Vocabulary } from '../text/vocabulary.js';
import type { GenerationStream, GenerationBatch } from './generation-batch.js';
import { BatchedGenerator, type FinishReason, type GenerationResult } from './generator.js';
import type { GenerateSettings } from './options.js';
import { excludeSymbol } from './decoding.js';
import { encodePrime } from './encode-prime.js';

interface Beam<F extends FloatArray> {
  stream: GenerationStream<F>;
  text: string;
  /** Log-probability of the characters chosen so far. */
  logp: number;
  generated: number;
}

interface Finished {
  text: string;
  logp: number;
  generated: number;
  reason: FinishReason;
}

/**
 * Beam search of width K: the K most likely continuations (under the model,
 * temperature 1) of `length` characters or up to a stop string, with their
 * log-probabilities, a stop string's characters included in the probability but
 * not in the text. Each step extends every live beam by every character, keeps
 * the K best that go on as the next beams (one stream each: a beam with several
 * children is copied) and the K best that finished. Adding a character never
 * raises a log-probability, so the search ends as soon as K texts have finished
 * that no live beam can beat.
 */
export class BeamSearch<F extends FloatArray = Float32Array> extends BatchedGenerator<F> {
  readonly count: number;
  private beams: Beam<F>[];
  private finished: Finished[] = [];
  private readonly length: number;
  private readonly stops: string[];
  /** Last characters of the stop strings: only a candidate ending in one can complete a stop string. */
  private readonly stopEnds: Set<string>;
  private readonly promptChars: number;
  private readonly logProbs: Float64Array;

  constructor(model: CharRNN<F>, vocab: Vocabulary, settings: GenerateSettings, batch?: GenerationBatch<F>) {
    super(model, vocab, settings.beam, batch);
    this.count = settings.beam;
    this.length = settings.length;
    this.stops = settings.stop.filter(s => s.length > 0);
    this.stopEnds = new Set(this.stops.map(s => s.slice(-1)));
    this.logProbs = new Float64Array(vocab.size);
    const primeIds = encodePrime(vocab, settings.prime, settings.unknown);
    this.promptChars = primeIds.length;
    let start: ArrayLike<number> = primeIds;
    if (start.length === 0) {
      const nl = vocab.id('\n');
      if (nl === undefined) throw new CharrnnError('Beam search needs a prime for a model that knows no newline to start from.');
      start = [nl];
    }
    this.beams = [];
    if (this.length === 0) {
      this.finished.push({ text: '', logp: 0, generated: 0, reason: 'length' });
      return;
    }
    const stream = this.batch.open();
    stream.feed(start);
    this.beams.push({ stream, text: '', logp: 0, generated: 0 });
  }

  get done(): boolean {
    return this.beams.length === 0;
  }

  advance(): string[] {
    const K = this.count,
      V = this.vocab.size,
      chars = this.vocab.chars;
    const candidates: { parent: number; id: number; logp: number }[] = [];
    this.beams.forEach((beam, parent) => {
      if (beam.stream.pending) throw new Error('advance() again before the batch stepped');
      excludeSymbol(beam.stream.logits, this.vocab.unknownId);
      const lp = logSoftmax(beam.stream.logits, V, this.logProbs);
      for (let id = 0; id < V; id++) candidates.push({ parent, id, logp: beam.logp + lp[id] });
    });
    // Best first; ties by parent, then character: a deterministic order.
    candidates.sort((a, b) => b.logp - a.logp || a.parent - b.parent || a.id - b.id);
    const children: { parent: number; id: number; logp: number }[] = [];
    for (const cand of candidates) {
      // Sorted best first: once K texts have finished, a candidate no better than the worst of them is of no use, nor any after it.
      if (this.finished.length === K && cand.logp <= this.finished[K - 1].logp) break;
      const parent = this.beams[cand.parent];
      const c = chars[cand.id];
      const generated = parent.generated + 1;
      const stopAt = this.stopEnds.has(c) ? this.firstStop(parent.text + c) : -1;
      if (stopAt >= 0 || generated === this.length) {
        const text = stopAt >= 0 ? (parent.text + c).slice(0, stopAt) : parent.text + c;
        this.addFinished({ text, logp: cand.logp, generated, reason: stopAt >= 0 ? 'stop' : 'length' });
      } else if (children.length < K) {
        children.push(cand);
      }
    }
    // Beams that no finished text beats go on; the others can only fall further behind.
    const worst = this.finished.length === K ? this.finished[K - 1].logp : -Infinity;
    const next = children.filter(c => c.logp > worst);
    this.regroup(next);
    // The texts are final only now: the last advance's pieces are the whole texts, best first.
    const pieces = new Array<string>(K).fill('');
    if (this.done)
      this.finished.forEach((f, i) => {
        pieces[i] = f.text;
      });
    return pieces;
  }

  result(): GenerationResult {
    return {
      texts: this.finished.map(f => f.text),
      finishReasons: this.finished.map(f => f.reason),
      logprobs: this.finished.map(f => f.logp),
      usage: { promptChars: this.promptChars, generatedChars: this.finished.reduce((n, f) => n + f.generated, 0) },
    };
  }

  protected closeStreams(): void {
    for (const b of this.beams) b.stream.close();
    this.beams = [];
  }

  /** Where the first stop string in `text` starts, or -1; any occurrence ends at its end (the text before had none). */
  private firstStop(text: string): number {
    let first = -1;
    for (const s of this.stops) {
      if (text.endsWith(s) && (first < 0 || text.length - s.length < first)) first = text.length - s.length;
    }
    return first;
  }

  private addFinished(f: Finished): void {
    const list = this.finished;
    let i = list.length;
    while (i > 0 && list[i - 1].logp < f.logp) i--;
    if (i >= this.count) return;
    list.splice(i, 0, f);
    if (list.length > this.count) list.pop();
  }

  /** The children become the beams: a parent's stream goes to its first child, copies to the others; childless parents close. */
  private regroup(children: { parent: number; id: number; logp: number }[]): void {
    const old = this.beams;
    const taken = new Array<boolean>(old.length).fill(false);
    const kept = new Set(children.map(c => c.parent));
    old.forEach((b, i) => {
      if (!kept.has(i)) b.stream.close();
    });
    const chars = this.vocab.chars;
    this.beams = children.map(c => {
      const parent = old[c.parent];
      let stream = parent.stream;
      if (taken[c.parent]) {
        stream = this.batch.open();
        stream.copyFrom(parent.stream);
      }
      taken[c.parent] = true;
      return { stream, text: parent.text + chars[c.id], logp: c.logp, generated: parent.generated + 1 };
    });
    this.beams.forEach((b, i) => b.stream.input(children[i].id));
  }
}

/** log softmax of one row of logits, in float64. */
function logSoftmax(logits: ArrayLike<number>, V: number, out: Float64Array): Float64Array {
  let max = -Infinity;
  for (let j = 0; j < V; j++) if (logits[j] > max) max = logits[j];
  let sum = 0;
  for (let j = 0; j < V; j++) sum += Math.exp(logits[j] - max);
  const lse = max + Math.log(sum);
  for (let j = 0; j < V; j++) out[j] = logits[j] - lse;
  return out;
}
