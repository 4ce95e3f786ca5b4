// A text prepared for line mode: its lines, the vocabulary (their characters
// and the end-of-line), and the training and validation lines encoded.
import type { Normalization } from '../text/normalize.js';
import { Vocabulary } from '../text/vocabulary.js';
import { encodeLines, EOL, holdOutLines, splitLines, type LineExamples } from './line-examples.js';

/** A text prepared for line mode (`--lines`): its lines, its vocabulary, and the training and validation lines encoded. */
export interface LineCorpus {
  /** Every non-empty line of the text, in order. */
  lines: string[];
  /** The lines' characters and the end-of-line. */
  vocab: Vocabulary;
  /** The training lines. */
  train: LineExamples;
  /** Held-out lines (none when valFrac is 0 or the text has a single distinct line). */
  val: LineExamples;
  /** The lines as one id sequence, each followed by EOL: what a resumed run fingerprints. */
  ids: Uint16Array | Uint32Array;
}

/** `normalization`: the form the text is already in (read by the corpus reader), which the vocabulary records. */
export function lineCorpus(text: string, source: string, valFrac: number, seed: number, normalization: Normalization = 'none'): LineCorpus {
  const { lines } = splitLines(text, source);
  const joined = lines.join(EOL) + EOL;
  const vocab = new Vocabulary(Vocabulary.fromText(joined).chars, normalization);
  const split = holdOutLines(lines, valFrac, seed);
  return { lines, vocab, train: encodeLines(split.train, vocab), val: encodeLines(split.val, vocab), ids: vocab.encode(joined).ids };
}
