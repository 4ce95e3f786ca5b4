import type { FloatArray } from '../kernels/kernels.js';
import type { CharRNN } from '../model/charrnn.js';
import type { Vocabulary } from '../text/vocabulary.js';
import { Random } from '../util/random.js';
import { GenerationBatch, type GenerationStream } from './generation-batch.js';
import { chooseNext, excludeSymbol, type SamplingRule } from './decoding.js';
import type { GenerateSettings } from './options.js';
import { encodePrime, PRIME_STEPS_MAX, startOf } from './encode-prime.js';
import { StopMatcher } from './stop.js';

/** Why a text ended: its length was reached, or a stop string (or the end of the line) came. */
export type FinishReason = 'length' | 'stop';

/** How much text a generation read and wrote, in characters (code points); `charrnn serve` returns it as `usage`. */
export interface GenerationUsage {
  /** Characters of the prime read (after skipping unknown ones). */
  promptChars: number;
  /** Characters the model produced, over all texts (stop strings included, held-back text too). */
  generatedChars: number;
}

/** What a finished {@link TextGenerator} produced: its texts, why each ended, and its usage. */
export interface GenerationResult {
  /** The generated texts, prime not repeated, stop strings not included: `count` of them, or `beam` for beam search, best first. */
  texts: string[];
  /** Why each text ended, in the order of `texts`. */
  finishReasons: FinishReason[];
  /** Beam search only: each text's log-probability (natural log) under the model, its stop string included. */
  logprobs?: number[];
  usage: GenerationUsage;
}

/**
 * One generation request running on a GenerationBatch, a character per batch step.
 * The protocol, for one generator or many sharing a batch (a server):
 *
 *     const gen = createGenerator(model, vocab, options, batch);
 *     while (!gen.done) { const pieces = gen.advance(); ...; if (!gen.done) batch.step(); }
 *
 * A short prime (PRIME_STEPS_MAX) is read by the first steps, its characters
 * batched with the other streams' (those advances return '' pieces); a long one
 * is read at creation.
 *
 * With many generators on one batch: call `advance()` on each (it consumes the
 * last step's logits and sets the next inputs), then one `batch.step()`, and
 * repeat; a generator joins by being created between steps and leaves when done
 * or disposed (its streams close). Without a batch argument a generator makes
 * its own, and `pieces()` runs that loop.
 */
export interface TextGenerator {
  /** Texts this generator makes (count, or the beam width). */
  readonly count: number;
  /** True once every text is finished; then it has no open streams. */
  readonly done: boolean;
  /**
   * Consumes the logits of the step just run (or of a prime read at creation),
   * chooses the next characters, and sets the inputs of the streams that go on
   * (or, while a short prime is being read, its next character).
   * Returns the text each output gained ('' for none): the pieces to stream,
   * which put together are the texts. Beam search returns '' until its last
   * advance, which returns the whole texts, best first (beams are not final before).
   */
  advance(): string[];
  /** The texts so far (complete once done), with why they ended and the usage. */
  result(): GenerationResult;
  /** Runs a generator that owns its batch to the end, yielding the non-empty pieces; disposes it when the loop ends or is left. */
  pieces(): IterableIterator<string[]>;
  /** Closes its streams (leaving a shared batch) and frees a batch of its own. Safe to call twice. */
  dispose(): void;
}

/** What sampling and beam search share: the batch, owned or not, and the loop that drives it. */
export abstract class BatchedGenerator<F extends FloatArray> implements TextGenerator {
  protected readonly batch: GenerationBatch<F>;
  private readonly ownsBatch: boolean;
  abstract readonly count: number;
  abstract readonly done: boolean;

  constructor(
    readonly model: CharRNN<F>,
    readonly vocab: Vocabulary,
    streams: number,
    batch?: GenerationBatch<F>,
  ) {
    if (vocab.size !== model.config.vocabSize)
      throw new RangeError(`the vocabulary has ${vocab.size} characters, the model ${model.config.vocabSize}`);
    if (batch !== undefined && batch.model !== model) throw new RangeError('the stream batch belongs to another model');
    this.ownsBatch = batch === undefined;
    this.batch = batch ?? new GenerationBatch(model, { capacity: streams });
  }

  abstract advance(): string[];
  abstract result(): GenerationResult;
  protected abstract closeStreams(): void;

  *pieces(): IterableIterator<string[]> {
    if (!this.ownsBatch)
      throw new Error("pieces() runs a generator with a batch of its own; on a shared batch, advance() and batch.step() are the caller's");
    try {
      while (!this.done) {
        const pieces = this.advance();
        if (!this.done) this.batch.step();
        if (pieces.some(p => p.length > 0)) yield pieces;
      }
    } finally {
      this.dispose();
    }
  }

  dispose(): void {
    this.closeStreams();
    if (this.ownsBatch) this.batch.dispose();
  }
}

interface SampledText<F extends FloatArray> {
  stream: GenerationStream<F> | null;
  rng: Random;
  stop: StopMatcher;
  text: string;
  generated: number;
  /** A character chosen at the start (a random one, when the model knows no newline), output on the first advance. */
  first: number;
  /** A short prime read by the batch's steps, one character per advance, and how much of it is read. */
  prime: ArrayLike<number>;
  primeRead: number;
  finish: FinishReason | null;
}

/**
 * Sampling (temperature, top-k, top-p) or greedy generation of `count` texts,
 * stream i drawing with seed + i so it is the text that seed gives alone.
 */
export class SamplingGenerator<F extends FloatArray = Float32Array> extends BatchedGenerator<F> {
  readonly count: number;
  private readonly texts: SampledText<F>[];
  private readonly rule: SamplingRule;
  private readonly length: number;
  private readonly promptChars: number;
  private readonly probs: Float64Array;
  private readonly order: Uint32Array;
  private live: number;

  constructor(model: CharRNN<F>, vocab: Vocabulary, settings: GenerateSettings, batch?: GenerationBatch<F>) {
    super(model, vocab, settings.count, batch);
    const { count, length, seed } = settings;
    this.count = count;
    this.length = length;
    this.rule = { temperature: settings.temperature, topK: settings.topK, topP: settings.topP, greedy: settings.greedy };
    this.probs = new Float64Array(vocab.size);
    this.order = new Uint32Array(vocab.size);
    const primeIds = encodePrime(vocab, settings.prime, settings.unknown);
    this.promptChars = primeIds.length;
    this.texts = [];
    let shared: GenerationStream<F> | null = null; // the first stream fed a long prime: the others copy it
    for (let i = 0; i < count; i++) {
      const rng = new Random((seed + i) >>> 0);
      const start = startOf(vocab, primeIds, rng);
      const t: SampledText<F> = {
        stream: null,
        rng,
        stop: new StopMatcher(settings.stop),
        text: '',
        generated: 0,
        first: -1,
        prime: [],
        primeRead: 0,
        finish: null,
      };
      this.texts.push(t);
      if (length === 0) {
        t.finish = 'length';
        continue;
      }
      const stream = this.batch.open();
      t.stream = stream;
      if (start.output) {
        // The random start is the first of the `length` characters: output, then read, like any other.
        t.first = start.ids[0];
      } else if (start.ids.length <= PRIME_STEPS_MAX) {
        t.prime = start.ids;
      } else if (shared !== null) {
        stream.copyFrom(shared);
      } else {
        stream.feed(start.ids);
        shared = stream;
      }
    }
    this.live = length === 0 ? 0 : count;
  }

  get done(): boolean {
    return this.live === 0;
  }

  advance(): string[] {
    const V = this.vocab.size,
      chars = this.vocab.chars;
    const pieces = new Array<string>(this.count).fill('');
    for (let i = 0; i < this.count; i++) {
      const t = this.texts[i];
      const stream = t.stream;
      if (stream === null) continue;
      if (stream.pending) throw new Error('advance() again before the batch stepped');
      if (t.primeRead < t.prime.length) {
        stream.input(t.prime[t.primeRead++]);
        continue;
      }
      let next: number;
      if (t.first >= 0) {
        next = t.first;
        t.first = -1;
      } else {
        excludeSymbol(stream.logits, this.vocab.unknownId);
        next = chooseNext(stream.logits, V, this.rule, t.rng, this.probs, this.order);
      }
      t.generated++;
      let piece = t.stop.push(chars[next]);
      if (t.stop.stopped) t.finish = 'stop';
      else if (t.generated >= this.length) {
        piece += t.stop.flush();
        t.finish = 'length';
      }
      t.text += piece;
      pieces[i] = piece;
      if (t.finish !== null) {
        stream.close();
        t.stream = null;
        this.live--;
      } else {
        stream.input(next);
      }
    }
    return pieces;
  }

  result(): GenerationResult {
    return {
      texts: this.texts.map(t => t.text),
      finishReasons: this.texts.map(t => t.finish ?? 'length'),
      usage: { promptChars: this.promptChars, generatedChars: this.texts.reduce((n, t) => n + t.generated, 0) },
    };
  }

  protected closeStreams(): void {
    for (const t of this.texts) {
      t.stream?.close();
      t.stream = null;
    }
    this.live = 0;
  }
}
