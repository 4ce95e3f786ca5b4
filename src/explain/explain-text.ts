// What a model did with a text, gathered in one traced pass: the numbers
// behind the report (`charrnn explain`) and the page's Inside view. Only the
// shown characters keep their per-unit values; everything else (correlations,
// saturation, the histogram, the passages) is summed as the chunks go by.
import { CharrnnError } from '../errors.js';
import { GATES, type FloatArray } from '../kernels/kernels.js';
import type { CharRNN } from '../model/charrnn.js';
import type { Vocabulary } from '../text/vocabulary.js';
import type { ClassSurprise, Explanation, Passage, ShownChar, UnitRef } from './explanation.js';
import { SaturationCounter } from './gate-saturation.js';
import { patternFeature, textFeatures, type PatternFeature } from './text-features.js';
import { traceInputChunks } from './trace.js';
import { traceInput } from './trace-input.js';
import { UnitCorrelations } from './unit-correlations.js';

/** What `CharRnnModel.explain` shows and searches. */
export interface ExplainOptions {
  /** Characters shown with their guesses and unit values (the first ones of the text); default 2000. */
  show?: number;
  /** Features of the user's, as regular expressions, searched beside the built-in ones. */
  patterns?: readonly PatternFeature[];
  /** Strongest units listed per feature; default 5. */
  units?: number;
  /** Hardest passages listed; default 8. */
  passages?: number;
  /** Characters per passage; default 40. */
  passageLength?: number;
}

const HISTOGRAM_WIDTH = 0.25; // nats per bin
const HISTOGRAM_BINS = 48; // 0 to 12 nats; the last bin takes everything above

/**
 * Explains what the model does with `text` (running text, or a line model's
 * lines with `lineModel`): one trace of every layer, the built-in features and
 * the user's patterns searched over every unit. A bad option or a text with
 * nothing to trace throws a CharrnnError.
 */
export function explainText<F extends FloatArray>(
  model: CharRNN<F>,
  vocab: Vocabulary,
  text: string,
  lineModel: boolean,
  options: ExplainOptions = {},
): Explanation {
  const { show, top, passages, passageLength } = checkExplainOptions(options);
  const { cell, layers: depth, hidden: H } = model.config;
  const input = traceInput(vocab, [text], lineModel);
  const chars = input.sequences.flatMap(s => s.chars);
  const starts: number[] = [];
  for (let at = 0, s = 0; s < input.sequences.length; at += input.sequences[s++].chars.length) starts.push(at);
  const features = [...textFeatures(chars, starts, lineModel), ...(options.patterns ?? []).map(p => patternFeature(chars, p))];
  const units: UnitRef[] = [];
  for (let layer = 0; layer < depth; layer++) {
    if (cell === 'lstm') for (let unit = 0; unit < H; unit++) units.push({ layer, kind: 'cell', unit });
    for (let unit = 0; unit < H; unit++) units.push({ layer, kind: 'hidden', unit });
  }
  const correlations = new UnitCorrelations(features, units);
  const saturation = Array.from({ length: depth }, (_, l) => new SaturationCounter(cell, l, H));
  const surprise = new Float64Array(chars.length);
  const shown: ShownChar[] = [];
  const shownValues: Int8Array[] = [];
  const x = new Float64Array(units.length);
  const lineStart = new Set(lineModel ? starts : []);
  const layers = Array.from({ length: depth }, (_, l) => l);
  const values = cell === 'lstm' ? (['hidden', 'cell', 'gates'] as const) : (['hidden', 'gates'] as const);
  const G = GATES[cell];
  for (const chunk of traceInputChunks(model, input, { topK: 5, layers, values })) {
    surprise.set(chunk.surprise, chunk.start);
    for (let i = 0; i < chunk.chars.length; i++) {
      let u = 0;
      for (const traced of chunk.layers) {
        if (traced.cell) for (let j = 0; j < H; j++) x[u++] = Math.tanh(traced.cell[i * H + j]);
        for (let j = 0; j < H; j++) x[u++] = traced.hidden![i * H + j];
        saturation[traced.layer].add(traced.gates!, i * G * H);
      }
      const position = chunk.start + i;
      correlations.add(position, x);
      // A line model's start marker is the state a line starts from: not a character of the text.
      if (lineStart.has(position) || shown.length >= show) continue;
      const s = chunk.surprise[i];
      const guesses: [string, number][] = [];
      for (let j = 0; j < chunk.k; j++) {
        const id = chunk.topIds[i * chunk.k + j];
        if (id >= 0) guesses.push([vocab.chars[id], chunk.topP[i * chunk.k + j]]);
      }
      const c: ShownChar = { c: chunk.chars[i], s: Number.isNaN(s) ? null : s, top: guesses };
      if (chunk.unknown[i]) c.unknown = true;
      if (lineStart.has(position - 1)) c.lineStart = true;
      shown.push(c);
      shownValues.push(Int8Array.from(x, v => Math.round(Math.max(-1, Math.min(1, v)) * 127)));
    }
  }
  let total = 0;
  let predicted = 0;
  const counts = new Array<number>(HISTOGRAM_BINS).fill(0);
  for (const s of surprise) {
    if (Number.isNaN(s)) continue;
    total += s;
    predicted++;
    counts[Math.min(HISTOGRAM_BINS - 1, Math.floor(s / HISTOGRAM_WIDTH))]++;
  }
  const unknown = input.sequences.reduce((n, s) => n + s.unknown.reduce((a, b) => a + b, 0), 0);
  const unitValues = new Int8Array(shownValues.length * units.length);
  shownValues.forEach((v, i) => unitValues.set(v, i * units.length));
  return {
    model: { cell, layers: depth, hidden: H, vocabSize: model.config.vocabSize, lineModel },
    chars: chars.length - (lineModel ? starts.length : 0),
    predicted,
    natsPerChar: predicted > 0 ? total / predicted : NaN,
    unknown,
    unknownChars: input.unknownChars,
    shown,
    unitValues: toBase64(new Uint8Array(unitValues.buffer)),
    units,
    features: correlations.strongest(top),
    saturation: saturation.flatMap(s => s.result()),
    histogram: { width: HISTOGRAM_WIDTH, counts },
    worst: hardestPassages(chars, surprise, passages, passageLength),
    byClass: surpriseByClass(chars, surprise),
  };
}

function checkExplainOptions(options: ExplainOptions): { show: number; top: number; passages: number; passageLength: number } {
  if (typeof options !== 'object' || options === null) throw new CharrnnError('The explain options must be an object.');
  const whole = (name: string, value: unknown, min: number, max: number): number => {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max)
      throw new CharrnnError(`${name} must be a whole number from ${min} to ${max}, not ${JSON.stringify(value)}.`);
    return value;
  };
  return {
    show: whole('show', options.show ?? 2000, 0, 1_000_000),
    top: whole('units', options.units ?? 5, 1, 100),
    passages: whole('passages', options.passages ?? 8, 0, 100),
    passageLength: whole('passageLength', options.passageLength ?? 40, 1, 1000),
  };
}

/** The `count` windows of `length` characters with the highest mean surprise, not overlapping, hardest first. */
function hardestPassages(chars: readonly string[], surprise: Float64Array, count: number, length: number): Passage[] {
  const n = chars.length;
  if (count === 0 || n === 0) return [];
  const width = Math.min(length, n);
  // Running sums of surprise and of predicted characters, so each window's mean is two subtractions.
  const sum = new Float64Array(n + 1);
  const scored = new Int32Array(n + 1);
  for (let i = 0; i < n; i++) {
    const s = surprise[i];
    sum[i + 1] = sum[i] + (Number.isNaN(s) ? 0 : s);
    scored[i + 1] = scored[i] + (Number.isNaN(s) ? 0 : 1);
  }
  const mean = (start: number): number => {
    const k = scored[start + width] - scored[start];
    // A window mostly of unpredicted characters (fresh states, unknown ones) says little.
    return k * 2 >= width ? (sum[start + width] - sum[start]) / k : -Infinity;
  };
  const order = Array.from({ length: n - width + 1 }, (_, i) => i).sort((a, b) => mean(b) - mean(a) || a - b);
  const taken: Passage[] = [];
  for (const start of order) {
    if (taken.length === count || mean(start) === -Infinity) break;
    if (taken.some(p => start < p.start + width && p.start < start + width)) continue;
    taken.push({
      start,
      chars: chars.slice(start, start + width),
      surprise: Array.from(surprise.subarray(start, start + width), s => (Number.isNaN(s) ? null : s)),
      mean: mean(start),
    });
  }
  return taken;
}

const CLASSES: [string, RegExp][] = [
  ['capital', /^\p{Lu}$/u],
  ['letter', /^\p{L}$/u],
  ['digit', /^\p{Nd}$/u],
  ['newline', /^\n$/],
  ['space', /^\s$/u],
  ['punctuation', /^\p{P}$/u],
];

/** Mean surprise of the predicted characters of each class (classes no character falls in are left out). */
function surpriseByClass(chars: readonly string[], surprise: Float64Array): ClassSurprise[] {
  const sums = new Map<string, { count: number; total: number }>();
  chars.forEach((c, i) => {
    const s = surprise[i];
    if (Number.isNaN(s)) return;
    const name = CLASSES.find(([, pattern]) => pattern.test(c))?.[0] ?? 'other';
    const entry = sums.get(name) ?? { count: 0, total: 0 };
    entry.count++;
    entry.total += s;
    sums.set(name, entry);
  });
  return [...CLASSES.map(([name]) => name), 'other']
    .filter(name => sums.has(name))
    .map(name => ({ name, count: sums.get(name)!.count, mean: sums.get(name)!.total / sums.get(name)!.count }));
}

/** Base64 without Node's Buffer (the page runs this too). */
function toBase64(bytes: Uint8Array): string {
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}
