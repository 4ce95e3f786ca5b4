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
  seed?: number;
}

/**
 * Stateful generation, one stream: the prime is fed through the network as one
 * chunk, then each sampled character is fed back with the state carried.
 * Yields the generated characters one at a time (the prime is not repeated).
 */
export function* generate<F extends FloatArray>(model: CharRNN<F>, vocab: Vocabulary, options: SampleOptions): Generator<string, void, undefined> {
  const rule: SamplingRule = { ...DEFAULT_RULE, ...definedOnly(options) };
  const rng = new Random(options.seed ?? 1);
  const V = vocab.size;
  const state: ModelState<F> = model.newState(1);
  const probs = new Float64Array(V);
  const order = new Uint32Array(V);
  let length = options.length;
  let primeIds = Array.from(vocab.encode(options.prime ?? '', options.unknown ?? 'error').ids);
  if (primeIds.length === 0) {
    // No prime: start from a newline when the model knows one (the start of a line
    // is a natural beginning for most corpora), else from a random character.
    const nl = vocab.id('\n');
    const start = nl ?? rng.int(V);
    primeIds = [start];
    if (nl === undefined) {
      // The random start is output, so it is the first of the `length` characters.
      if (length <= 0) return;
      yield vocab.chars[start];
      length--;
    }
  }
  let logits = model.forward(primeIds, primeIds.length, 1, state);
  let row = logits.subarray((primeIds.length - 1) * V, primeIds.length * V);
  const one = [0];
  for (let i = 0; i < length; i++) {
    const next = chooseNext(row, V, rule, rng, probs, order);
    yield vocab.chars[next];
    if (i === length - 1) break;
    one[0] = next;
    logits = model.forward(one, 1, 1, state);
    row = logits.subarray(0, V);
  }
}

/** The whole generated text at once. */
export function sample<F extends FloatArray>(model: CharRNN<F>, vocab: Vocabulary, options: SampleOptions): string {
  let out = '';
  for (const c of generate(model, vocab, options)) out += c;
  return out;
}

function definedOnly(o: SampleOptions): Partial<SamplingRule> {
  const r: Partial<SamplingRule> = {};
  if (o.temperature !== undefined) r.temperature = o.temperature;
  if (o.topK !== undefined) r.topK = o.topK;
  if (o.topP !== undefined) r.topP = o.topP;
  if (o.greedy !== undefined) r.greedy = o.greedy;
  return r;
}
