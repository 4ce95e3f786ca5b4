// The first library API for generation, kept as thin wrappers over src/generate:
// createGenerator and parseGenerateOptions are the API to build on.
import type { FloatArray } from '../kernels/kernels.js';
import type { CharRNN } from '../model/charrnn.js';
import type { Vocabulary } from '../text/vocabulary.js';
import { createGenerator } from './create-generator.js';
import { parseGenerateOptions, type GenerateOptions } from '../generate/options.js';

export type SampleOptions = GenerateOptions;

/** One stream's generated text, a piece (usually a character) at a time; the prime is not repeated. */
export function* generate<F extends FloatArray>(
  model: CharRNN<F>,
  vocab: Vocabulary,
  options: SampleOptions,
): Generator<string, void, undefined> {
  const settings = parseGenerateOptions(options);
  if (settings.count !== 1 || settings.beam > 0) throw new RangeError('generate makes one sampled stream; sampleBatch makes several');
  for (const pieces of createGenerator(model, vocab, settings).pieces()) yield pieces[0];
}

/** The whole generated text at once (one stream). */
export function sample<F extends FloatArray>(model: CharRNN<F>, vocab: Vocabulary, options: SampleOptions): string {
  return sampleBatch(model, vocab, { ...options, count: options.count ?? 1 })[0];
}

/**
 * `count` streams generated together, one engine step of B = count streams per
 * character. Stream i draws with seed + i, so it gives the text `sample` gives
 * with that seed. Returns the texts, prime not repeated.
 */
export function sampleBatch<F extends FloatArray>(model: CharRNN<F>, vocab: Vocabulary, options: SampleOptions): string[] {
  const gen = createGenerator(model, vocab, parseGenerateOptions(options));
  for (const _ of gen.pieces()) {
    /* runs to the end */
  }
  return gen.result().texts;
}
