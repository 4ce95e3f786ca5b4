import type { FloatArray } from '../kernels/kernels.js';
import type { CharRNN } from '../model/charrnn.js';
import { normalizeText } from '../text/normalize.js';
import type { Vocabulary } from '../text/vocabulary.js';

export interface TextScore {
  /** Mean cross-entropy in nats per predicted character. */
  natsPerChar: number;
  bitsPerChar: number;
  perplexity: number;
  /** Characters predicted (each from all the known ones before it). */
  chars: number;
  /** Characters the model does not know, skipped (a model without the unknown symbol). */
  skipped: number;
  /** Characters the model does not know, skipped or scored as its unknown symbol. */
  unknown: number;
  /** unknown / all the text's characters. */
  unknownShare: number;
  /** The distinct unknown characters, in order of first appearance. */
  unknownChars: string[];
}

/**
 * How well a model predicts a text: one stream from a zero state, each character
 * predicted from all the ones before it. The text is put in the vocabulary's
 * normalisation form first; characters the model does not know become its
 * unknown symbol when it has one, and are dropped otherwise, and are counted.
 */
export function scoreText<F extends FloatArray>(model: CharRNN<F>, vocab: Vocabulary, text: string, chunk = 256): TextScore {
  const { ids, skipped, mapped, unknownChars } = vocab.encode(normalizeText(text, vocab.normalization), 'map');
  const unknown = skipped + mapped;
  const state = model.newState(1);
  let total = 0;
  const predicted = Math.max(0, ids.length - 1);
  for (let s = 0; s < predicted; s += chunk) {
    const T = Math.min(chunk, predicted - s);
    model.forward(ids.subarray(s, s + T), T, 1, state);
    total += model.loss(ids.subarray(s + 1, s + 1 + T));
  }
  const natsPerChar = predicted > 0 ? total / predicted : NaN;
  return {
    natsPerChar, bitsPerChar: natsPerChar / Math.LN2, perplexity: Math.exp(natsPerChar), chars: predicted, skipped,
    unknown, unknownShare: unknown / Math.max(1, ids.length + skipped), unknownChars,
  };
}
