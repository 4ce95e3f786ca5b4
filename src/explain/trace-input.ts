// What a trace reads: a text cut into the sequences the model reads from a
// fresh state (the whole text for running text, each line for a line model),
// every character kept for display, whether the model can read it or not.
import { EOL } from '../data/line-examples.js';
import { CharrnnError } from '../errors.js';
import { normaliseLine } from '../text/line-set.js';
import { normalizeText } from '../text/normalize.js';
import type { Vocabulary } from '../text/vocabulary.js';

/** One sequence of a trace, read from a zero state. */
export interface TraceSequence {
  /** The characters shown, one code point each: [n]. */
  chars: string[];
  /** The id fed at each position: [n]; -1 for a character the model does not know and has no unknown symbol for (not fed). */
  ids: Int32Array;
  /** 1 where the character is not in the vocabulary (fed as the unknown symbol, or not fed): [n]. */
  unknown: Uint8Array;
}

/** A text as a trace reads it. */
export interface TraceInput {
  sequences: TraceSequence[];
  /** The distinct characters the model does not know, in order of first appearance. */
  unknownChars: string[];
}

/**
 * Cuts texts into the sequences a trace reads, after putting them in the
 * vocabulary's normalisation form. Running text: each text is one sequence.
 * A line model: each non-empty line is one sequence, fed as it was trained,
 * the end-of-line first (the start marker, never predicted) and last (the
 * predicted end), as `charrnn eval` scores it.
 */
export function traceInput(vocab: Vocabulary, texts: readonly string[], lineModel: boolean): TraceInput {
  const unknownChars: string[] = [];
  const seen = new Set<string>();
  const sequence = (chars: string[]): TraceSequence => {
    const ids = new Int32Array(chars.length);
    const unknown = new Uint8Array(chars.length);
    chars.forEach((c, i) => {
      const id = vocab.id(c);
      if (id !== undefined) {
        ids[i] = id;
        return;
      }
      ids[i] = vocab.unknownId; // -1 without an unknown symbol: shown, not fed
      unknown[i] = 1;
      if (!seen.has(c)) {
        seen.add(c);
        unknownChars.push(c);
      }
    });
    return { chars, ids, unknown };
  };
  const sequences: TraceSequence[] = [];
  for (const text of texts) {
    if (typeof text !== 'string') throw new CharrnnError('The text to trace must be a string (or an array of strings).');
    const normalized = normalizeText(text, vocab.normalization);
    if (!lineModel) {
      if (normalized.length > 0) sequences.push(sequence(Array.from(normalized)));
      continue;
    }
    if (vocab.id(EOL) === undefined) throw new CharrnnError('The model has no end-of-line character, so it is not a line model.');
    for (const raw of normalized.split(EOL)) {
      const line = normaliseLine(raw);
      if (line.length > 0) sequences.push(sequence([EOL, ...line, EOL]));
    }
  }
  if (sequences.length === 0) {
    throw new CharrnnError(lineModel ? 'The text has no line to trace: every line is empty.' : 'The text to trace is empty.');
  }
  return { sequences, unknownChars };
}
