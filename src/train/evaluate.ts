import { encodeLines, EOL } from '../data/line-examples.js';
import { CharrnnError } from '../errors.js';
import type { FloatArray } from '../kernels/kernels.js';
import type { CharRNN } from '../model/charrnn.js';
import { normaliseLine } from '../text/line-set.js';
import type { Vocabulary } from '../text/vocabulary.js';
import { lineLoss } from './line-loss.js';

export interface TextScore {
  /** Mean cross-entropy in nats per predicted character. */
  natsPerChar: number;
  bitsPerChar: number;
  perplexity: number;
  /** Characters predicted (each from all the known ones before it). */
  chars: number;
  /** Characters the model does not know, skipped. */
  skipped: number;
}

/**
 * How well a model predicts a text: one stream from a zero state, each character
 * predicted from all the ones before it. Unknown characters are dropped first
 * and counted.
 */
export function scoreText<F extends FloatArray>(model: CharRNN<F>, vocab: Vocabulary, text: string, chunk = 256): TextScore {
  const { ids, skipped } = vocab.encode(text, 'skip');
  const state = model.newState(1);
  let total = 0;
  const predicted = Math.max(0, ids.length - 1);
  for (let s = 0; s < predicted; s += chunk) {
    const T = Math.min(chunk, predicted - s);
    model.forward(ids.subarray(s, s + T), T, 1, state);
    total += model.loss(ids.subarray(s + 1, s + 1 + T));
  }
  const natsPerChar = predicted > 0 ? total / predicted : NaN;
  return { natsPerChar, bitsPerChar: natsPerChar / Math.LN2, perplexity: Math.exp(natsPerChar), chars: predicted, skipped };
}

export interface LinesScore extends TextScore {
  /** Non-empty lines scored. */
  lines: number;
}

/**
 * How well a line model predicts the lines of a text: each non-empty line from
 * a zero state, as it was trained, its characters and its end-of-line
 * predicted (so `chars` counts one more than the characters of each line).
 * Unknown characters are dropped from their line first and counted.
 */
export function scoreLines<F extends FloatArray>(model: CharRNN<F>, vocab: Vocabulary, text: string, batch = 32): LinesScore {
  const eol = vocab.id(EOL);
  if (eol === undefined) throw new CharrnnError('The model has no end-of-line character, so it is not a line model.');
  let skipped = 0;
  const encoded: string[] = [];
  for (const raw of text.split(EOL)) {
    const line = normaliseLine(raw);
    if (line.length === 0) continue;
    const r = vocab.encode(line, 'skip');
    skipped += r.skipped;
    // A line made only of unknown characters still has its end-of-line to predict.
    encoded.push(r.skipped ? [...line].filter(c => vocab.id(c) !== undefined).join('') : line);
  }
  const { nats, targets } = lineLoss(model, encodeLines(encoded, vocab), batch);
  const natsPerChar = targets > 0 ? nats / targets : NaN;
  return { natsPerChar, bitsPerChar: natsPerChar / Math.LN2, perplexity: Math.exp(natsPerChar), chars: targets, skipped, lines: encoded.length };
}
