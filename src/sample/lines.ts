// Whole lines from a line model: each from a fresh state fed the end-of-line
// (what "a line starts here" meant in training), then the prime, then drawn
// until the model ends the line. Built over `generate` (one stream, stopped at
// the end-of-line, so nothing is drawn past it) until src/generate's Generator
// with stop rules lands; then this becomes a stop-at-EOL request to it.
import type { FloatArray } from '../kernels/kernels.js';
import type { CharRNN } from '../model/charrnn.js';
import type { LineSet } from '../text/line-set.js';
import type { Vocabulary } from '../text/vocabulary.js';
import type { SamplingRule } from './choose.js';
import { generate } from './sampler.js';

export interface LineSampleOptions extends Partial<SamplingRule> {
  /** Lines wanted. */
  count: number;
  /** The end-of-line character of the model (lineModelInfo(metadata).eol). */
  eol: string;
  /** Characters drawn per line at most, after the prime: a line the model has not ended by then is cut there. */
  maxLength: number;
  /** Text every line starts with (part of the line). */
  prime?: string;
  /** Draw i (from 0) uses seed + i, so a line is what that seed gives alone. */
  seed?: number;
  /** Skip lines in this set (the training lines) and lines already kept: only novel, distinct lines. */
  novel?: LineSet;
  /** Draws at most (default: 50 per line wanted, at least 1000), so a model that only recites ends. */
  maxDraws?: number;
}

export interface LineSample {
  lines: string[];
  /** Lines drawn, kept or not. */
  drawn: number;
}

/**
 * `count` lines, fewer only when `novel` is given and maxDraws draws did not
 * give enough new ones. Empty lines (the model ending a line at once) are
 * skipped, since a line model never saw one.
 */
export function sampleLines<F extends FloatArray>(model: CharRNN<F>, vocab: Vocabulary, o: LineSampleOptions): LineSample {
  const prime = o.prime ?? '';
  const seed = o.seed ?? 1;
  const maxDraws = o.maxDraws ?? Math.max(1000, 50 * o.count);
  const lines: string[] = [];
  const kept = new Set<string>();
  let drawn = 0;
  while (lines.length < o.count && drawn < maxDraws) {
    let line = prime;
    const options = { temperature: o.temperature, topK: o.topK, topP: o.topP, greedy: o.greedy, length: o.maxLength, prime: o.eol + prime, seed: (seed + drawn) >>> 0 };
    for (const c of generate(model, vocab, options)) {
      if (c === o.eol) break;
      line += c;
    }
    drawn++;
    if (line.length === 0) continue;
    if (o.novel && (o.novel.has(line) || kept.has(line))) continue;
    kept.add(line);
    lines.push(line);
  }
  return { lines, drawn };
}
