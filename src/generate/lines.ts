// Whole lines from a line model: each stream starts from a fresh state fed the
// end-of-line (what "a line starts here" meant in training), then the prime,
// and stops at the end-of-line (a stop string, so its stream closes and the
// batch goes on with the others). Drawn in rounds until enough lines are kept.
import type { FloatArray } from '../kernels/kernels.js';
import type { CharRNN } from '../model/charrnn.js';
import type { LineSet } from '../text/line-set.js';
import type { Vocabulary } from '../text/vocabulary.js';
import { createGenerator } from './create-generator.js';
import { encodePrime } from './encode-prime.js';
import type { FinishReason, GenerationResult, GenerationUsage } from './generator.js';
import type { LineModelInfo } from '../model/line-model.js';
import { checkLineOptions, DEFAULT_MAX_LINE, lineOptionRequirement, type LineOptionNames, type LineOptions } from './line-options.js';
import { GenerateOptionsError, parseGenerateOptions, type GenerateOptions, type GenerateSettings } from './options.js';

/** The sampling options a line request takes from GenerateOptions (length, stops and count are the request's own). */
export type LineSamplingOptions = Pick<GenerateOptions, 'temperature' | 'topK' | 'topP' | 'greedy' | 'unknown'>;

export interface LineRequest extends LineSamplingOptions {
  /** Lines wanted. */
  count: number;
  /** The model's end-of-line character (lineModelInfo(metadata).eol). */
  eol: string;
  /** Characters drawn per line at most after the prime (1 or more): a line the model has not ended by then is cut there. */
  maxLength: number;
  /** Text every line starts with (printed as part of the line). */
  prime?: string;
  /** Draw i (from 0) uses seed + i, so a line is what that seed gives alone (default 1). */
  seed?: number;
  /** Skip lines of this set (the training lines) and lines already kept: only novel, distinct lines. */
  novel?: LineSet;
  /** Lines drawn at most, kept or not (default maxDraws(count)), so a model that only recites ends. */
  maxDraws?: number;
}

export interface SampledLines {
  /** `count` lines, each the prime (as read) and what followed it; fewer only when maxDraws draws did not give enough novel ones. */
  lines: string[];
  /** The prime as the model read it (in its normalisation form, unknown characters dropped or its unknown symbol): every line starts with it. */
  prime: string;
  /** Per line: 'stop' where the model ended it, 'length' where maxLength cut it. */
  finishReasons: FinishReason[];
  /** Lines drawn, kept or not. */
  drawn: number;
  /** promptChars: the end-of-line and the prime, as read by every draw; generatedChars: over all draws, kept or not. */
  usage: GenerationUsage;
}

/**
 * A line request checked once, and the settings of its draws: the draws that
 * sampleLines makes in rounds, and the handle's stream one at a time, so both
 * give the same line for the same seed.
 */
export interface LineDraws {
  /** The prime as the model reads it (SampledLines.prime). */
  prime: string;
  /** The settings of `count` draws from the seed `seed`: from the end-of-line and the prime, stopped at the next end-of-line. */
  settings(seed: number, count: number): GenerateSettings;
}

/**
 * Checks a line request (GenerateOptionsError, one sentence, for a bad value)
 * and reads its prime once, in the model's normalisation form, so that the
 * prime printed before a line is the prime the model continued.
 */
export function lineDraws(vocab: Vocabulary, request: LineRequest, names: LineOptionNames = {}): LineDraws {
  const { count, eol, maxLength } = request;
  const rule: LineSamplingOptions = {};
  for (const k of ['temperature', 'topK', 'topP', 'greedy', 'unknown'] as const)
    if (request[k] !== undefined) (rule as Record<string, unknown>)[k] = request[k];
  // One check of every value, before any draw: count, seed and the sampling options by the generation schemas, maxLength by the line rule.
  const checked = parseGenerateOptions({ ...rule, prime: request.prime ?? '', seed: request.seed, count }, names);
  checkLineOptions({ maxLength }, true, 'the model', names);
  if (maxLength === undefined)
    throw new GenerateOptionsError(
      `${names.maxLength ?? 'maxLength'} must be ${lineOptionRequirement('maxLength')}, not undefined.`,
      'maxLength',
    );
  if (request.maxDraws !== undefined && !(Number.isInteger(request.maxDraws) && request.maxDraws >= 1)) {
    throw new GenerateOptionsError(`maxDraws must be a whole number, 1 or more, not ${String(request.maxDraws)}.`, 'maxDraws');
  }
  const prime = vocab.decode(encodePrime(vocab, checked.prime, checked.unknown));
  return {
    prime,
    settings: (seed, n) =>
      parseGenerateOptions({ ...rule, prime: eol + prime, length: maxLength, stop: eol, seed: seed >>> 0, count: n }, names),
  };
}

/**
 * The line request of a line model's generation options, already checked
 * (checkLineOptions, parseGenerateOptions): what the library's handle and the
 * server both draw from, so they read a request the same way.
 */
export function lineRequestOf(settings: GenerateSettings, line: LineModelInfo, options: LineOptions): LineRequest {
  // Only the sampling options that apply: with greedy, the others are the schemas' defaults and say nothing.
  const sampling = settings.greedy ? { greedy: true } : { temperature: settings.temperature, topK: settings.topK, topP: settings.topP };
  return {
    ...sampling,
    count: settings.count,
    eol: line.eol,
    maxLength: options.maxLength ?? DEFAULT_MAX_LINE,
    prime: settings.prime,
    seed: settings.seed,
    unknown: settings.unknown,
    novel: options.novel ? line.lineSet : undefined,
  };
}

/** Lines drawn at most for `count` lines when a request does not say: enough for a model that seldom writes a new line, few enough that one that only recites ends. */
export function maxDraws(count: number): number {
  return Math.max(1000, 50 * count);
}

/**
 * Samples whole lines. Empty lines (the model ending a line at once) are
 * skipped, as a line model never saw one. `names` spells the options in
 * messages as the caller's face does. A bad value (maxLength 0, count 0, a
 * temperature of -1) throws GenerateOptionsError, one sentence, before any draw.
 */
export function sampleLines<F extends FloatArray>(
  model: CharRNN<F>,
  vocab: Vocabulary,
  request: LineRequest,
  names: LineOptionNames = {},
): SampledLines {
  const rounds = lineRounds(lineDraws(vocab, request, names), request);
  for (let round = rounds.next(); ;) {
    if (round.done) return round.value;
    const generator = createGenerator(model, vocab, round.value);
    for (const _ of generator.pieces()) {
      /* runs to the end */
    }
    round = rounds.next(generator.result());
  }
}

/**
 * The rounds of a line request, for a caller that runs generations its own
 * way (the server's scheduler, batched with other requests): yields each
 * round's settings, takes back that round's result, and returns the lines, so
 * every face keeps and skips the same draws. sampleLines runs it directly.
 */
export function* lineRounds(draws: LineDraws, request: LineRequest): Generator<GenerateSettings, SampledLines, GenerationResult> {
  const { count, novel } = request;
  const seed = request.seed ?? 1;
  const drawsAtMost = request.maxDraws ?? maxDraws(count);
  const lines: string[] = [];
  const finishReasons: FinishReason[] = [];
  const usage: GenerationUsage = { promptChars: 0, generatedChars: 0 };
  const kept = new Set<string>();
  let drawn = 0;
  while (lines.length < count && drawn < drawsAtMost) {
    // A round draws the lines still wanted (the batch's rows close one by one at their end-of-line).
    const round = Math.min(count - lines.length, drawsAtMost - drawn, 10_000);
    const r = yield draws.settings(seed + drawn, round);
    drawn += round;
    usage.promptChars = r.usage.promptChars;
    usage.generatedChars += r.usage.generatedChars;
    r.texts.forEach((text, i) => {
      const line = draws.prime + text;
      if (line.length === 0 || lines.length >= count) return;
      if (novel && (novel.has(line) || kept.has(line))) return;
      kept.add(line);
      lines.push(line);
      finishReasons.push(r.finishReasons[i]);
    });
  }
  return { lines, prime: draws.prime, finishReasons, drawn, usage };
}
