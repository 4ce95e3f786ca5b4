import type { FloatArray } from '../kernels/kernels.js';
import type { CharRNN, ModelState } from '../model/charrnn.js';
import type { Vocabulary } from '../text/vocabulary.js';
import { Random } from '../util/random.js';
import { chooseNext, DEFAULT_RULE, type SamplingRule } from './choose.js';

export interface SampleOptions extends Partial<SamplingRule> {
  /** Characters to generate after the prime. */
  length: number;
  /** Text fed through the network first; generation continues it. */
  prime?: string;
  /** What to do with prime characters the model has never seen. */
  unknown?: 'error' | 'skip';
  /** Stream 0's seed; with `count`, stream i draws with seed + i, so it is the text that seed gives alone. */
  seed?: number;
  /** Streams generated at once by sampleBatch (default 1). */
  count?: number;
}

/**
 * Stateful generation, one stream: the prime is fed through the network as one
 * chunk, then each sampled character is fed back with the state carried (one
 * `CharRNN.step` per character). Yields the generated characters one at a time
 * (the prime is not repeated).
 */
export function* generate<F extends FloatArray>(model: CharRNN<F>, vocab: Vocabulary, options: SampleOptions): Generator<string, void, undefined> {
  if ((options.count ?? 1) !== 1) throw new RangeError('generate makes one stream; sampleBatch makes several');
  const rule = ruleOf(options);
  const rng = new Random(options.seed ?? 1);
  const V = vocab.size;
  const state: ModelState<F> = model.newState(1);
  const probs = new Float64Array(V);
  const order = new Uint32Array(V);
  const start = startOf(vocab, options, rng);
  let length = options.length;
  if (start.output) {
    // The random start is output, so it is the first of the `length` characters.
    if (length <= 0) return;
    yield vocab.chars[start.ids[0]];
    length--;
  }
  const primed = model.forward(start.ids, start.ids.length, 1, state);
  let logits: F = primed.subarray((start.ids.length - 1) * V, start.ids.length * V) as F;
  model.prepareInference();
  const one = [0];
  for (let i = 0; i < length; i++) {
    const next = chooseNext(logits, V, rule, rng, probs, order);
    yield vocab.chars[next];
    if (i === length - 1) break;
    one[0] = next;
    logits = model.step(one, state);
  }
}

/** The whole generated text at once (one stream). */
export function sample<F extends FloatArray>(model: CharRNN<F>, vocab: Vocabulary, options: SampleOptions): string {
  let out = '';
  for (const c of generate(model, vocab, options)) out += c;
  return out;
}

/**
 * `count` streams generated together, one `CharRNN.step` of B = count streams per
 * character (each weight is read once for all of them). Stream i draws from its
 * own generator seeded with seed + i, so it gives the same text as `sample` with
 * that seed (on a backend whose step does not depend on B, which the reference,
 * wasm and native backends all are). Returns the generated texts, prime not
 * repeated.
 */
export function sampleBatch<F extends FloatArray>(model: CharRNN<F>, vocab: Vocabulary, options: SampleOptions): string[] {
  const count = options.count ?? 1;
  if (!Number.isInteger(count) || count < 1) throw new RangeError(`count must be a positive integer, got ${count}`);
  const rule = ruleOf(options);
  const seed = options.seed ?? 1;
  const rngs = Array.from({ length: count }, (_, i) => new Random((seed + i) >>> 0));
  const V = vocab.size;
  const length = Math.max(0, options.length);
  const out = new Int32Array(count * length); // [count, length] character ids
  const probs = new Float64Array(V);
  const order = new Uint32Array(V);
  const state = model.newState(count);
  const first = new Float64Array(count * V); // [count, V] the logits after each stream's prime
  const starts = rngs.map(rng => startOf(vocab, options, rng));
  let done = 0; // characters already in `out`, per stream
  if (starts[0].output && length === 0) return Array.from({ length: count }, () => '');
  // Primes go through `forward` one stream at a time, exactly as `generate` feeds them (streams share a
  // prime unless each starts at a random character), and their states are copied into the batch state.
  const one = model.newState(1);
  for (let b = 0; b < count; b++) {
    const { ids } = starts[b];
    if (starts[b].output) out[b * length] = ids[0];
    const shared = b > 0 && !starts[b].output;
    if (!shared) {
      one.layers.forEach(l => { l.h.fill(0); l.c?.fill(0); });
      const logits = model.forward(ids, ids.length, 1, one);
      first.set(logits.subarray((ids.length - 1) * V, ids.length * V), b * V);
    } else {
      first.copyWithin(b * V, 0, V);
    }
    state.layers.forEach((l, i) => {
      const H = l.h.length / count;
      l.h.set(one.layers[i].h, b * H);
      if (l.c) l.c.set(one.layers[i].c!, b * H);
    });
  }
  if (starts[0].output) done = 1;
  model.prepareInference();
  const ids = new Int32Array(count);
  let logits: ArrayLike<number> = first;
  for (let i = done; i < length; i++) {
    for (let b = 0; b < count; b++) {
      const next = chooseNext(logits, V, rule, rngs[b], probs, order, b * V);
      out[b * length + i] = next;
      ids[b] = next;
    }
    if (i === length - 1) break;
    logits = model.step(ids, state);
  }
  return Array.from({ length: count }, (_, b) => {
    let text = '';
    for (let i = 0; i < length; i++) text += vocab.chars[out[b * length + i]];
    return text;
  });
}

/**
 * What a stream starts from: the prime's ids, or without a prime a newline (the
 * start of a line is a natural beginning for most corpora), or when the model
 * knows no newline a random character, which is then also output.
 */
function startOf(vocab: Vocabulary, options: SampleOptions, rng: Random): { ids: number[]; output: boolean } {
  const ids = Array.from(vocab.encode(options.prime ?? '', options.unknown ?? 'error').ids);
  if (ids.length > 0) return { ids, output: false };
  const nl = vocab.id('\n');
  return nl === undefined ? { ids: [rng.int(vocab.size)], output: true } : { ids: [nl], output: false };
}

function ruleOf(o: SampleOptions): SamplingRule {
  const r: SamplingRule = { ...DEFAULT_RULE };
  if (o.temperature !== undefined) r.temperature = o.temperature;
  if (o.topK !== undefined) r.topK = o.topK;
  if (o.topP !== undefined) r.topP = o.topP;
  if (o.greedy !== undefined) r.greedy = o.greedy;
  return r;
}
