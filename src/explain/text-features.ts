// Simple, documented properties of each character of a text, for finding the
// units that track them (Karpathy, Johnson and Fei-Fei 2015 found cells for
// quotes, line length and bracket depth). Each feature is a number per
// position, measured after the character is read: the state a unit holds
// after reading a character is what it can know.
import { CharrnnError } from '../errors.js';

/** A feature of the characters of a text: its value at every position. */
export interface TextFeature {
  name: string;
  description: string;
  /** [n] values, one per position of `chars`. */
  values: Float64Array;
}

/** A feature of the user's: positions inside a match of a regular expression. */
export interface PatternFeature {
  name: string;
  /** A regular expression (a string is compiled with the u flag). */
  pattern: RegExp | string;
}

const OPEN_BRACKETS = new Set(['(', '[', '{']);
const CLOSE_BRACKETS = new Set([')', ']', '}']);

/**
 * The built-in features of `chars` (one code point each, a line model's lines
 * each `\n` + line + `\n`), with `lineModel` adding the position from the end
 * of the line. `starts` are the first positions of sequences read from a fresh
 * state: the state carries nothing across them, so neither do the features.
 */
export function textFeatures(chars: readonly string[], starts: readonly number[], lineModel: boolean): TextFeature[] {
  const n = chars.length;
  const inQuote = new Float64Array(n);
  const depth = new Float64Array(n);
  const column = new Float64Array(n);
  const newline = new Float64Array(n);
  const inWord = new Float64Array(n);
  const upper = new Float64Array(n);
  const digit = new Float64Array(n);
  const fromEnd = new Float64Array(n);
  const fresh = new Set(starts);
  let quote = 0;
  let brackets = 0;
  let col = 0;
  for (let i = 0; i < n; i++) {
    const c = chars[i];
    if (fresh.has(i)) {
      quote = 0;
      brackets = 0;
      col = 0;
    }
    if (c === '"') quote = 1 - quote;
    else if (c === '\u201c') quote = 1;
    else if (c === '\u201d') quote = 0;
    if (OPEN_BRACKETS.has(c)) brackets++;
    else if (CLOSE_BRACKETS.has(c)) brackets = Math.max(0, brackets - 1);
    col = c === '\n' ? 0 : col + 1;
    inQuote[i] = quote;
    depth[i] = brackets;
    column[i] = col;
    newline[i] = c === '\n' ? 1 : 0;
    inWord[i] = /[\p{L}\p{N}]/u.test(c) || (c === "'" && i > 0 && /\p{L}/u.test(chars[i - 1])) ? 1 : 0;
    upper[i] = /\p{Lu}/u.test(c) ? 1 : 0;
    digit[i] = /\p{Nd}/u.test(c) ? 1 : 0;
  }
  // Characters left before the end of the line, counted backwards from each newline.
  let left = 0;
  for (let i = n - 1; i >= 0; i--) {
    if (chars[i] === '\n') left = 0;
    else left++;
    fromEnd[i] = left;
  }
  const features: TextFeature[] = [
    { name: 'quote', description: 'inside double quotes (1) or not (0), curly quotes included', values: inQuote },
    { name: 'bracket depth', description: 'how many (, [ or { are open', values: depth },
    { name: 'line position', description: 'characters since the last newline', values: column },
    { name: 'newline', description: 'the character is a newline (1) or not (0)', values: newline },
    { name: 'in word', description: 'the character is a letter or digit, or an apostrophe inside a word', values: inWord },
    { name: 'capital', description: 'the character is an upper-case letter', values: upper },
    { name: 'digit', description: 'the character is a decimal digit', values: digit },
  ];
  if (lineModel) features.push({ name: 'to line end', description: 'characters left before the end of the line', values: fromEnd });
  return features;
}

/** A pattern's feature: 1 at every position inside one of its matches, 0 elsewhere. A bad pattern throws a CharrnnError. */
export function patternFeature(chars: readonly string[], feature: PatternFeature): TextFeature {
  let regex: RegExp;
  try {
    const source = feature.pattern;
    regex =
      typeof source === 'string'
        ? new RegExp(source, 'gu')
        : new RegExp(source.source, source.flags.includes('g') ? source.flags : `${source.flags}g`);
  } catch (e) {
    throw new CharrnnError(`The pattern ${feature.name} is not a regular expression (${e instanceof Error ? e.message : String(e)}).`);
  }
  // Matches are found in the joined text, in UTF-16 units; positions are code points.
  const text = chars.join('');
  const unitToPosition = new Int32Array(text.length + 1);
  let unit = 0;
  chars.forEach((c, i) => {
    for (let j = 0; j < c.length; j++) unitToPosition[unit++] = i;
  });
  unitToPosition[unit] = chars.length;
  const values = new Float64Array(chars.length);
  for (const match of text.matchAll(regex)) {
    if (match[0].length === 0) continue;
    const from = unitToPosition[match.index];
    const to = unitToPosition[match.index + match[0].length];
    values.fill(1, from, to);
  }
  return { name: feature.name, description: `inside a match of /${regex.source}/`, values };
}
