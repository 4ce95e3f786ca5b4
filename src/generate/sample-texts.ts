// The run layer's sampler: the texts a training run shows as it goes
// (src/run/training-data.ts), and a test's way to get texts in one call. Not
// part of the API: the public ways to generate are CharRnnModel (the main
// entry) and createGenerator (the charrnn/engine entry), which this wraps.
import type { FloatArray } from '../kernels/kernels.js';
import type { CharRNN } from '../model/charrnn.js';
import type { Vocabulary } from '../text/vocabulary.js';
import { createGenerator } from './create-generator.js';
import { parseGenerateOptions, type GenerateOptions } from './options.js';

/**
 * The generated texts, prime not repeated: `count` of them (default 1),
 * generated together, text i drawn with seed + i (so it is the text that seed
 * gives alone), or the `beam` best. A bad option throws GenerateOptionsError.
 */
export function sampleTexts<F extends FloatArray>(model: CharRNN<F>, vocab: Vocabulary, options: GenerateOptions): string[] {
  const generator = createGenerator(model, vocab, parseGenerateOptions(options));
  for (const _ of generator.pieces()) {
    /* runs to the end */
  }
  return generator.result().texts;
}
