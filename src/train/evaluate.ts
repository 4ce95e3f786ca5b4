import { encodeLines, EOL } from '../data/line-examples.js';
import { CharrnnError } from '../errors.js';
import type { FloatArray } from '../kernels/kernels.js';
import type { CharRNN } from '../model/charrnn.js';
import { normaliseLine } from '../text/line-set.js';
import { normalizeText } from '../text/normalize.js';
import type { Vocabulary } from '../text/vocabulary.js';
import { lineLoss } from './line-loss.js';

/**
 * How well a model predicts a text: what {@link scoreText} and
 * `CharRnnModel.score` return, and what `charrnn eval` prints. A text too
 * short to predict anything (one character or none) scores NaN.
 */
export interface TextScore {
  /** Mean cross-entropy in nats per predicted character. */
  natsPerChar: number;
  /** The same in bits per character (natsPerChar / ln 2). */
  bitsPerChar: number;
  /** e to the natsPerChar: the number of equally likely characters the model is as unsure as. */
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
    natsPerChar,
    bitsPerChar: natsPerChar / Math.LN2,
    perplexity: Math.exp(natsPerChar),
    chars: predicted,
    skipped,
    unknown,
    unknownShare: unknown / Math.max(1, ids.length + skipped),
    unknownChars,
  };
}

/** A line model's score of a text's lines (see {@link scoreLines}); `chars` counts each line's end-of-line too. */
export interface LinesScore extends TextScore {
  /** Non-empty lines scored. */
  lines: number;
}

/**
 * How well a line model predicts the lines of a text: each non-empty line from
 * a zero state, as it was trained, its characters and its end-of-line
 * predicted (so `chars` counts one more than the characters of each line).
 * The text is put in the vocabulary's normalisation form first; unknown
 * characters become the unknown symbol when the model has one, else are
 * dropped from their line, and are counted (as scoreText does).
 */
export function scoreLines<F extends FloatArray>(model: CharRNN<F>, vocab: Vocabulary, text: string, batch = 32): LinesScore {
  const eol = vocab.id(EOL);
  if (eol === undefined) throw new CharrnnError('The model has no end-of-line character, so it is not a line model.');
  const unknownSymbol = vocab.unknownId >= 0 ? vocab.chars[vocab.unknownId] : null;
  let skipped = 0;
  let mapped = 0;
  let characters = 0;
  const unknownChars: string[] = [];
  const encoded: string[] = [];
  for (const raw of normalizeText(text, vocab.normalization).split(EOL)) {
    const line = normaliseLine(raw);
    if (line.length === 0) continue;
    let kept = '';
    for (const c of line) {
      characters++;
      if (vocab.id(c) !== undefined) {
        kept += c;
        continue;
      }
      if (!unknownChars.includes(c)) unknownChars.push(c);
      if (unknownSymbol !== null) {
        kept += unknownSymbol;
        mapped++;
      } else {
        skipped++;
      }
    }
    // A line made only of unknown characters still has its end-of-line to predict.
    encoded.push(kept);
  }
  const { nats, targets } = lineLoss(model, encodeLines(encoded, vocab), batch);
  const natsPerChar = targets > 0 ? nats / targets : NaN;
  const unknown = skipped + mapped;
  return {
    natsPerChar,
    bitsPerChar: natsPerChar / Math.LN2,
    perplexity: Math.exp(natsPerChar),
    chars: targets,
    skipped,
    unknown,
    unknownShare: unknown / Math.max(1, characters),
    unknownChars,
    lines: encoded.length,
  };
}
