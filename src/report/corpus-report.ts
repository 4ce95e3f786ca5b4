// A report on a corpus before training: what it is made of, and what in it will
// hurt training. Platform-neutral: it takes text, the CLI reads the files.
// Characters are code points, as the vocabulary counts them.
import { percent, thousands } from './format.js';

/** How often one character occurs in a text. */
export interface CharCount {
  /** One code point. */
  char: string;
  /** Its occurrences. */
  count: number;
}

/** A bar of the line-length histogram: lines of `from` to `to - 1` characters. */
export interface LengthBin {
  from: number;
  to: number;
  count: number;
  /** The last bar gathers every longer line too (the text's longest lines are rare and far). */
  overflow: boolean;
}

/** The lines of a text and their lengths, in characters (code points). */
export interface LineStats {
  /** Lines, a last line without a line break included; the empty piece after a final break is not a line. */
  count: number;
  empty: number;
  /** Lengths of the non-empty lines, in characters, without the line break (nor a \r before it). */
  min: number;
  max: number;
  mean: number;
  median: number;
  histogram: LengthBin[];
}

/** How the held-out part compares with the rest. */
export interface SplitCheck {
  /** 'tail': the last `fraction` of the characters, as training splits a text; 'lines': the last `fraction` of the non-empty lines. */
  kind: 'tail' | 'lines';
  fraction: number;
  heldOutChars: number;
  /** Share of the held-out characters that never occur before it. */
  unseenShare: number;
  /** The held-out characters that never occur before it, most frequent first. */
  unseen: CharCount[];
  /** KL divergence of the held-out character distribution from the rest's (add-half smoothed), nats. */
  klNats: number;
  /** Mean non-empty line length before and in the held-out part (line mode only). */
  meanLineLength?: { rest: number; heldOut: number };
}

/**
 * What {@link corpusReport} finds in a text: its characters, its lines, the
 * held-out part training would validate on, and warnings about what will hurt
 * training. Counts are of code points, as the vocabulary counts characters.
 */
export interface CorpusReport {
  /** The text's length in characters. */
  chars: number;
  /** Every distinct character, most frequent first (ties in code point order). */
  counts: CharCount[];
  /** The text's lines and their lengths. */
  lines: LineStats;
  /** Control characters other than line break and tab, most frequent first. */
  control: CharCount[];
  /** The held-out part against the rest, or null when `valFraction` is 0. */
  split: SplitCheck | null;
  /** What will hurt training, one or two sentences each, with advice; empty when nothing will. */
  warnings: string[];
}

/** A face's name for each training setting the advice names: `hidden` (a smaller model) and `lines` (line mode). */
type ReportNames = (setting: 'hidden' | 'lines') => string;

/** How training will use the text, which decides what the report checks, and how its advice names settings. */
export interface CorpusReportOptions {
  /** Each non-empty line is an example (train --lines). */
  lines?: boolean;
  /** The validation fraction training will hold out (train --val-frac), at least 0 and below 1; default 0.1, and 0 skips the split check. */
  valFraction?: number;
  /**
   * How the advice names the training settings hidden and lines: the CLI's
   * flags (--hidden, --lines); default the library's, the names themselves.
   */
  names?: (setting: 'hidden' | 'lines') => string;
}

/** Below this many characters (lines, in line mode) a text is warned about as tiny. */
export const TINY_CHARS = 100_000;
export const TINY_LINES = 1_000;
/** From this many distinct characters on, the vocabulary is warned about. */
export const LARGE_VOCAB = 1_000;
/** A held-out part with more unseen characters than this share, or a KL above this, is "unlike the rest". */
export const UNSEEN_SHARE_LIMIT = 0.001;
export const KL_LIMIT_NATS = 0.05;
/** A held-out part shorter than this is too small a sample to call unlike anything. */
export const MIN_HELD_OUT_CHARS = 1_000;
/** In line mode, held-out lines whose mean length differs from the rest's by more than this share. */
export const LINE_LENGTH_LIMIT = 0.2;

/**
 * Reports on a corpus before training: its characters (control characters
 * also listed apart), its lines, and whether the held-out part is like the rest, with a
 * warning for each thing that will hurt training (a tiny text, control
 * characters, a large vocabulary, an unlike validation split). It throws
 * nothing: what is wrong with the text is a warning.
 */
export function corpusReport(text: string, options: CorpusReportOptions = {}): CorpusReport {
  const valFraction = options.valFraction ?? 0.1;
  const n = options.names ?? (setting => setting);
  const chars = [...text];
  const counts = countChars(chars);
  const lineTexts = allLines(text);
  const lengths = lineTexts.map(l => [...l].length).filter(n => n > 0);
  const lines = lineStats(lineTexts.length, lengths);
  const control = counts.filter(c => isControl(c.char));
  const split =
    valFraction > 0
      ? options.lines
        ? lineSplitCheck(
            lineTexts.filter(l => l !== ''),
            valFraction,
          )
        : tailSplitCheck(chars, valFraction)
      : null;

  const warnings: string[] = [];
  if (options.lines && lengths.length < TINY_LINES) {
    warnings.push(
      `Tiny list: ${thousands(lengths.length)} non-empty lines (under ${thousands(TINY_LINES)}): use a small model (${n('hidden')} 64 or so) and dropout, and watch the validation loss for overfitting.`,
    );
  } else if (!options.lines && chars.length < TINY_CHARS) {
    warnings.push(
      `Tiny text: ${thousands(chars.length)} characters (under ${thousands(TINY_CHARS)}): a model of the default size will memorize it; use a small one (${n('hidden')} 64 or so) and dropout, and watch the validation loss.`,
    );
  }
  if (control.length > 0) {
    const total = control.reduce((s, c) => s + c.count, 0);
    warnings.push(
      `Control characters: ${thousands(total)} (${control
        .slice(0, 5)
        .map(c => `${readableChar(c.char)} ×${thousands(c.count)}`)
        .join(', ')}${control.length > 5 ? ', ...' : ''}): the model will learn and write them; clean the text unless they are meant.`,
    );
  }
  if (counts.length >= LARGE_VOCAB) {
    warnings.push(
      `Large vocabulary: ${thousands(counts.length)} distinct characters: the embedding and output layers grow with it, and rare characters get too few examples to learn.`,
    );
  }
  if (split) warnings.push(...splitWarnings(split, n));
  return { chars: chars.length, counts, lines, control, split, warnings };
}

function splitWarnings(s: SplitCheck, n: ReportNames): string[] {
  if (s.heldOutChars < MIN_HELD_OUT_CHARS) return [];
  const differences: string[] = [];
  if (s.unseenShare > UNSEEN_SHARE_LIMIT) {
    differences.push(
      `${percent(s.unseenShare, 2)} of the characters never occur earlier (${s.unseen
        .slice(0, 5)
        .map(c => readableChar(c.char))
        .join(', ')}${s.unseen.length > 5 ? ', ...' : ''})`,
    );
  }
  if (s.klNats > KL_LIMIT_NATS) differences.push(`the characters are distributed unlike in the rest (KL ${s.klNats.toFixed(3)} nats)`);
  const m = s.meanLineLength;
  if (m && m.rest > 0 && Math.abs(m.heldOut / m.rest - 1) > LINE_LENGTH_LIMIT) {
    differences.push(
      `the lines are ${m.heldOut > m.rest ? 'longer' : 'shorter'} (mean ${m.heldOut.toFixed(1)} against ${m.rest.toFixed(1)} characters)`,
    );
  }
  if (differences.length === 0) return [];
  const found = differences.join(', and ');
  return s.kind === 'tail'
    ? [
        `Validation split unlike the rest: in the last ${percent(s.fraction)} of the text, which training holds out, ${found}; validation loss will stay high for reasons training cannot fix (reorder the text, or train a list with ${n('lines')}).`,
      ]
    : [
        `Sorted list: in the last ${percent(s.fraction)} of the lines, ${found}; train ${n('lines')} holds out random lines, which is right for it, but a plain split would validate on unlike text.`,
      ];
}

/** Distinct characters, most frequent first, ties in code point order. */
export function countChars(chars: Iterable<string>): CharCount[] {
  const m = new Map<string, number>();
  for (const c of chars) m.set(c, (m.get(c) ?? 0) + 1);
  return [...m]
    .map(([char, count]) => ({ char, count }))
    .sort((a, b) => b.count - a.count || a.char.codePointAt(0)! - b.char.codePointAt(0)!);
}

/** Every line of a text, empty ones included, without its break (and a \r before one); a final break ends the last line. */
export function allLines(text: string): string[] {
  if (text === '') return [];
  const lines = text.split('\n').map(l => (l.endsWith('\r') ? l.slice(0, -1) : l));
  if (text.endsWith('\n')) lines.pop();
  return lines;
}

function lineStats(count: number, lengths: readonly number[]): LineStats {
  const sorted = [...lengths].sort((a, b) => a - b);
  const n = sorted.length;
  const median = n === 0 ? 0 : n % 2 === 1 ? sorted[(n - 1) / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
  return {
    count,
    empty: count - n,
    min: n ? sorted[0] : 0,
    max: n ? sorted[n - 1] : 0,
    mean: n ? sorted.reduce((s, x) => s + x, 0) / n : 0,
    median,
    histogram: lengthHistogram(sorted),
  };
}

/**
 * Bars of width 1 when the longest line is short (names), else of a round width
 * (1, 2 or 5 times a power of ten) giving about 30 bars up to the longest line,
 * or up to the 99th percentile when the longest is far beyond it (the last bar
 * then gathers the longer lines).
 */
export function lengthHistogram(sortedLengths: readonly number[]): LengthBin[] {
  const n = sortedLengths.length;
  if (n === 0) return [];
  const max = sortedLengths[n - 1];
  let width = 1;
  let top = max + 1; // bars cover [lo, top)
  if (max > 60) {
    // A far tail (a few very long lines) is gathered into the last bar rather than stretching the axis.
    const p99 = sortedLengths[Math.min(n - 1, Math.floor(0.99 * n))];
    const end = max > 1.5 * p99 ? p99 : max;
    width = roundStep(Math.max(1, end / 30));
    top = Math.max(width, Math.ceil((end + 1) / width) * width);
  }
  const lo = width === 1 ? sortedLengths[0] : Math.floor(sortedLengths[0] / width) * width;
  const bins: LengthBin[] = [];
  for (let from = lo; from < top; from += width) bins.push({ from, to: from + width, count: 0, overflow: false });
  if (max >= top) bins[bins.length - 1].overflow = true;
  for (const len of sortedLengths) {
    const i = Math.min(bins.length - 1, Math.floor((len - lo) / width));
    bins[i].count++;
  }
  return bins;
}

function roundStep(x: number): number {
  const p = 10 ** Math.floor(Math.log10(x));
  for (const m of [1, 2, 5, 10]) if (m * p >= x) return m * p;
  return 10 * p;
}

function tailSplitCheck(chars: readonly string[], fraction: number): SplitCheck {
  // The same cut as splitCorpus: the first floor(n * (1 - fraction)) characters train.
  const cut = Math.floor(chars.length * (1 - fraction));
  return { kind: 'tail', fraction, ...compareParts(chars.slice(0, cut), chars.slice(cut)) };
}

function lineSplitCheck(lines: readonly string[], fraction: number): SplitCheck {
  const cut = Math.floor(lines.length * (1 - fraction));
  const rest = lines.slice(0, cut),
    heldOut = lines.slice(cut);
  const mean = (ls: readonly string[]) => (ls.length ? ls.reduce((s, l) => s + [...l].length, 0) / ls.length : 0);
  return {
    kind: 'lines',
    fraction,
    ...compareParts([...rest.join('\n')], [...heldOut.join('\n')]),
    meanLineLength: { rest: mean(rest), heldOut: mean(heldOut) },
  };
}

function compareParts(rest: readonly string[], heldOut: readonly string[]): Omit<SplitCheck, 'kind' | 'fraction'> {
  const restCounts = new Map(countChars(rest).map(c => [c.char, c.count]));
  const heldCounts = countChars(heldOut);
  const unseen = heldCounts.filter(c => !restCounts.has(c.char));
  const unseenCount = unseen.reduce((s, c) => s + c.count, 0);
  // Add-half smoothing over the characters of both parts, so that an unseen
  // character costs a large but finite amount.
  const vocab = new Set([...restCounts.keys(), ...heldCounts.map(c => c.char)]).size;
  const restTotal = rest.length + 0.5 * vocab;
  let kl = 0;
  for (const { char, count } of heldCounts) {
    const p = count / heldOut.length;
    const q = ((restCounts.get(char) ?? 0) + 0.5) / restTotal;
    kl += p * Math.log(p / q);
  }
  return { heldOutChars: heldOut.length, unseenShare: heldOut.length ? unseenCount / heldOut.length : 0, unseen, klNats: Math.max(0, kl) };
}

/** A control character that is not a line break or a tab (those are text). */
export function isControl(c: string): boolean {
  return /^\p{Cc}$/u.test(c) && c !== '\n' && c !== '\t';
}

const NAMED: Record<string, string> = {
  '\n': '\\n (line break)',
  '\t': '\\t (tab)',
  '\r': '\\r (carriage return)',
  ' ': 'space',
  '\u00a0': 'no-break space U+00A0',
  '\ufeff': 'byte order mark U+FEFF',
  '\u200b': 'zero-width space U+200B',
  '\u000c': 'form feed U+000C',
  '\u001b': 'escape U+001B',
  '\u0007': 'bell U+0007',
  '\u0008': 'backspace U+0008',
};

/** A character as people can read it: 'e', space, \n (line break), U+0007 for what does not print. */
export function readableChar(c: string): string {
  if (NAMED[c]) return NAMED[c];
  if (/^[\p{C}\p{Z}\p{M}]$/u.test(c)) return codePoint(c);
  return `'${c}'`;
}

/** "U+00E9". */
export function codePoint(c: string): string {
  return `U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;
}
