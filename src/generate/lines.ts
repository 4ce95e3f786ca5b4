// Whole lines from a line model: each stream starts from a fresh state fed the
// end-of-line (what "a line starts here" meant in training), then the prime,
// and stops at the end-of-line (a stop string, so its stream closes and the
// batch goes on with the others). Drawn in rounds until enough lines are kept.
import type { FloatArray } from '../kernels/kernels.js';
import type { CharRNN } from '../model/charrnn.js';
import type { LineSet } from '../text/line-set.js';
import type { Vocabulary } from '../text/vocabulary.js';
import { createGenerator } from './create-generator.js';
import { parseGenerateOptions, type GenerateOptions, type OptionNames } from './options.js';

/** The sampling options a line request takes from GenerateOptions (length, stops and count are the request's own). */
export type LineSamplingOptions = Pick<GenerateOptions, 'temperature' | 'topK' | 'topP' | 'greedy' | 'unknown'>;

export interface LineRequest extends LineSamplingOptions {
  /** Lines wanted. */
  count: number;
  /** The model's end-of-line character (lineModelInfo(metadata).eol). */
  eol: string;
  /** Characters drawn per line at most after the prime: a line the model has not ended by then is cut there. */
  maxLength: number;
  /** Text every line starts with (printed as part of the line). */
  prime?: string;
  /** Draw i (from 0) uses seed + i, so a line is what that seed gives alone (default 1). */
  seed?: number;
  /** Skip lines of this set (the training lines) and lines already kept: only novel, distinct lines. */
  novel?: LineSet;
  /** Lines drawn at most, kept or not (default: 50 per line wanted, at least 1000), so a model that only recites ends. */
  maxDraws?: number;
}

export interface SampledLines {
  /** `count` lines, fewer only when maxDraws draws did not give enough novel ones. */
  lines: string[];
  /** Lines drawn, kept or not. */
  drawn: number;
}

/**
 * Samples whole lines. Empty lines (the model ending a line at once) are
 * skipped, as a line model never saw one. `names` spells the options in
 * messages as the caller's face does.
 */
export function sampleLines<F extends FloatArray>(model: CharRNN<F>, vocab: Vocabulary, request: LineRequest,
  names: OptionNames = {}): SampledLines {
  const { count, eol, maxLength, novel } = request;
  const seed = request.seed ?? 1;
  const maxDraws = request.maxDraws ?? Math.max(1000, 50 * count);
  const prime = request.prime ?? '';
  // The prime as the model reads it (unknown characters dropped when asked), so each line shows what it continued.
  const shown = request.unknown === 'skip' ? [...prime].filter(c => vocab.id(c) !== undefined).join('') : prime;
  const rule: LineSamplingOptions = {};
  for (const k of ['temperature', 'topK', 'topP', 'greedy', 'unknown'] as const) if (request[k] !== undefined) (rule as Record<string, unknown>)[k] = request[k];
  const lines: string[] = [];
  const kept = new Set<string>();
  let drawn = 0;
  while (lines.length < count && drawn < maxDraws) {
    // A round draws the lines still wanted (the batch's rows close one by one at their end-of-line).
    const round = Math.min(count - lines.length, maxDraws - drawn, 10_000);
    const settings = parseGenerateOptions({ ...rule, prime: eol + prime, length: maxLength, stop: eol, seed: (seed + drawn) >>> 0, count: round }, names);
    const generator = createGenerator(model, vocab, settings);
    for (const _ of generator.pieces()) { /* runs to the end */ }
    drawn += round;
    for (const text of generator.result().texts) {
      const line = shown + text;
      if (line.length === 0 || lines.length >= count) continue;
      if (novel && (novel.has(line) || kept.has(line))) continue;
      kept.add(line);
      lines.push(line);
    }
  }
  return { lines, drawn };
}
