// Line mode's examples: every non-empty line of a text is one sequence that
// starts from a zero state and ends with a learned end-of-line. A line of n
// characters is fed as n + 1 steps: inputs [EOL, c1 .. cn], targets
// [c1 .. cn, EOL]. The EOL id as the first input means "a line starts here",
// so the model learns the distribution of first characters, and predicting
// EOL after the last character teaches it where lines end (the dinosaur-names
// tutorial's scheme, with the newline itself as the marker: it is already in
// the vocabulary and never occurs inside a line).
import { CharrnnError, WordedError } from '../errors.js';
import { Random } from '../util/random.js';
import type { Vocabulary } from '../text/vocabulary.js';

/** The newline: the separator of line mode's examples and its end-of-line symbol. */
export const EOL = '\n';

/**
 * Longest line accepted, in characters. A line is one backpropagated sequence,
 * and a batch costs its longest line's length times the batch size in every
 * activation buffer, so a stray 100 000-character line (a file that is not a
 * list) is refused with its line number rather than split, which would teach a
 * false end-of-line in its middle.
 */
export const MAX_LINE_LENGTH = 1000;

/** A text's lines as line mode reads them. */
export interface TextLines {
  /** The non-empty lines, a CR before the newline removed (CRLF files). */
  lines: string[];
  /** 1-based line number in the text of each entry of `lines`, for messages. */
  lineNumbers: number[];
}

/**
 * The examples of line mode, encoded: line i is ids[starts[i] .. starts[i + 1]),
 * without its end-of-line (flat arrays, so a million lines are two buffers).
 */
export interface LineExamples {
  ids: Int32Array;
  /** [count + 1] offsets into ids. */
  starts: Int32Array;
  /** The id of the end-of-line symbol. */
  eol: number;
}

/** Lines in a set of examples. */
export function lineCount(e: LineExamples): number {
  return e.starts.length - 1;
}

/** Characters in line i, without its end-of-line. */
export function lineLength(e: LineExamples, i: number): number {
  return e.starts[i + 1] - e.starts[i];
}

/**
 * The non-empty lines of a text, each at most maxLength characters (code
 * points). `source` names the text in messages.
 */
export function splitLines(text: string, source: string, maxLength = MAX_LINE_LENGTH): TextLines {
  if (!text.includes(EOL)) {
    throw new WordedError<'lines'>(
      n =>
        `${n('lines')} reads one example per line, and ${source} has no line breaks; train without ${n('lines')}, or put one example on each line.`,
    );
  }
  const lines: string[] = [];
  const lineNumbers: number[] = [];
  const raw = text.split(EOL);
  for (let i = 0; i < raw.length; i++) {
    const line = raw[i].endsWith('\r') ? raw[i].slice(0, -1) : raw[i];
    if (line.length === 0) continue;
    // Counted in code points, as the vocabulary counts characters; the UTF-16 length is an upper bound.
    if (line.length > maxLength && [...line].length > maxLength) {
      const length = [...line].length;
      throw new WordedError<'lines'>(
        n =>
          `Line ${i + 1} of ${source} has ${length} characters, and ${n('lines')} takes lines of at most ${maxLength} ` +
          `(each line is one sequence to backpropagate through); split it, or train without ${n('lines')}.`,
      );
    }
    lines.push(line);
    lineNumbers.push(i + 1);
  }
  if (lines.length === 0) throw new WordedError<'lines'>(n => `${n('lines')} found no examples: every line of ${source} is empty.`);
  return { lines, lineNumbers };
}

/** The lines as ids of `vocab`, which must know every character of them and the end-of-line. */
export function encodeLines(lines: readonly string[], vocab: Vocabulary): LineExamples {
  const eol = vocab.id(EOL);
  if (eol === undefined) throw new CharrnnError('The vocabulary has no end-of-line character, so it cannot model lines.');
  const starts = new Int32Array(lines.length + 1);
  const parts: (Uint16Array | Uint32Array)[] = [];
  let total = 0;
  for (let i = 0; i < lines.length; i++) {
    const { ids } = vocab.encode(lines[i]);
    parts.push(ids);
    total += ids.length;
    starts[i + 1] = total;
  }
  const ids = new Int32Array(total);
  parts.forEach((p, i) => ids.set(p, starts[i]));
  return { ids, starts, eol };
}

/**
 * The train/validation split of line mode: whole lines held out, chosen at
 * random with the seed (lists are often sorted, so the last lines would be
 * unlike the rest). Copies of a line go to the same side, so that a duplicate
 * cannot score a held-out line as if it had been seen (name lists repeat
 * names). About floor(count * valFrac) lines are held out (whole groups of
 * copies, so possibly a few more); at least one when valFrac > 0 and there are
 * two distinct lines. Both sides keep the text's order.
 */
export function holdOutLines(lines: readonly string[], valFrac: number, seed: number): { train: string[]; val: string[] } {
  if (!(valFrac >= 0 && valFrac < 1)) {
    throw new CharrnnError(`The validation fraction must be at least 0 and below 1, got ${valFrac}.`);
  }
  const copies = new Map<string, number>();
  for (const l of lines) copies.set(l, (copies.get(l) ?? 0) + 1);
  const distinct = [...copies.keys()];
  let wanted = Math.floor(lines.length * valFrac);
  if (valFrac > 0 && wanted === 0 && distinct.length >= 2) wanted = 1;
  // A seeded Fisher-Yates shuffle of the distinct lines; the held-out ones are its first groups.
  const rng = new Random((seed ^ 0x6c696e65) >>> 0); // 'line': its own stream, apart from the weights' and batches'
  const order = distinct.map((_, i) => i);
  for (let i = order.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [order[i], order[j]] = [order[j], order[i]];
  }
  const held = new Set<string>();
  let count = 0;
  // Never all of them: training keeps at least one distinct line.
  for (let k = 0; k < order.length - 1 && count < wanted; k++) {
    const line = distinct[order[k]];
    held.add(line);
    count += copies.get(line)!;
  }
  const train: string[] = [];
  const val: string[] = [];
  for (const l of lines) (held.has(l) ? val : train).push(l);
  return { train, val };
}
