import type { FloatArray } from '../kernels/kernels.js';
import type { CharRNN } from '../model/charrnn.js';
import type { Vocabulary } from '../text/vocabulary.js';
import type { GenerationBatch } from './generation-batch.js';
import { BeamSearch } from './beam.js';
import { SamplingGenerator, type TextGenerator } from './generator.js';
import type { GenerateSettings } from './options.js';

/**
 * A generator for one request, from settings checked by parseGenerateOptions
 * (each face parses its own input once, with its own option names in the
 * messages): beam search when `settings.beam` > 0, sampling or greedy
 * otherwise. The prime is read now. On `batch` when given (shared with other
 * generators of the same model: see TextGenerator for the protocol), else on
 * a batch of its own.
 *
 *     const gen = createGenerator(model, vocab, parseGenerateOptions({ prime: 'The ', length: 100 }));
 */
export function createGenerator<F extends FloatArray>(
  model: CharRNN<F>,
  vocab: Vocabulary,
  settings: GenerateSettings,
  batch?: GenerationBatch<F>,
): TextGenerator {
  return settings.beam > 0 ? new BeamSearch(model, vocab, settings, batch) : new SamplingGenerator(model, vocab, settings, batch);
}
