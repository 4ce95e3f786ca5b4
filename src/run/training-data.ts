// What a run trains and validates on, in one of two shapes chosen once from the
// settings: running text cut into streams (StreamData), or line mode's whole
// lines, each from a zero state (LineData). TrainingRun asks only this
// interface, so it has no branch on the mode. Platform-neutral.
import type { Batcher } from '../data/batcher.js';
import { LineBatcher } from '../data/line-batcher.js';
import type { LineCorpus } from '../data/line-corpus.js';
import { EOL, lineCount, type LineExamples } from '../data/line-examples.js';
import { holdOut } from '../data/split.js';
import { StreamBatcher, type TokenIds } from '../data/streams.js';
import { sampleLines } from '../generate/lines.js';
import { sampleTexts } from '../generate/sample-texts.js';
import type { CharRNN } from '../model/charrnn.js';
import { lineModelMetadata } from '../model/line-model.js';
import type { Vocabulary } from '../text/vocabulary.js';
import { lineLossPass } from '../train/line-loss.js';
import { validationPass } from '../train/trainer.js';
import type { ConfigEvent } from './events.js';
import type { RunSettings } from './settings.js';
import type { TrainingText } from './training-text.js';
import type { PassSums } from './validate.js';

/** Lines in each sample of a line model while training (each bounded by sampleLength characters). */
export const SAMPLE_LINES = 5;

/** The settings a sample is drawn with. */
export type SampleSettings = Pick<RunSettings, 'sampleLength' | 'sampleTemperature' | 'samplePrime' | 'seed'>;

export interface TrainingData {
  /** Line mode's data (whole lines), or running text's (streams). */
  readonly lines: boolean;
  /** The batches the trainer draws: a fresh batcher at the start of the first pass. */
  readonly batcher: Batcher;
  /** Characters (scored targets) in one pass over the training data. */
  readonly trainChars: number;
  /** Characters one validation pass scores. */
  readonly valChars: number;
  /** Scored characters in one training step, on average over a pass. */
  readonly charsPerStep: number;
  /** Whether there is held-out data to validate on. */
  readonly validates: boolean;
  /** One validation pass of `model`, as running sums (see ./validate.ts finishPass). */
  validationPass(model: CharRNN<Float32Array>): Iterable<PassSums>;
  /** A sample of what `model` makes of this kind of data: running text, or SAMPLE_LINES whole lines. */
  sample(model: CharRNN<Float32Array>, vocab: Vocabulary, s: SampleSettings): string;
  /** Entries every model file of the run carries (a line model's end-of-line and lines seen). */
  readonly modelMetadata: Record<string, string>;
  /** Line mode's counts of training and held-out lines, for the config event (none for streams). */
  readonly lineCounts: Pick<ConfigEvent['corpus'], 'trainLines' | 'valLines'>;
  /** The training speed in characters per second at `secondsPerStep`, or null where steps vary in size. */
  charsPerSecond(secondsPerStep: number): number | null;
}

/**
 * The data a run with these settings trains on: `text` in line mode (its
 * lines, from withLines) or as streams of batch x seq, with the held-out part
 * the settings ask for (at most valMaxChars of it validated).
 */
export function trainingData(text: TrainingText, s: RunSettings): TrainingData {
  if (!s.lines) return new StreamData(text.ids, s);
  if (!text.lines) throw new Error('a line-mode run needs its corpus from withLines (or encodeCorpus with lines on)');
  return new LineData(text.lines, s);
}

/** Running text: B streams of T-step chunks with carried state; the held-out text validated the same way. */
export class StreamData implements TrainingData {
  readonly lines = false;
  readonly batcher: StreamBatcher;
  readonly train: TokenIds;
  /** The held-out text validated (at most valMaxChars of it). */
  readonly val: TokenIds;
  /** The held-out text is this many windows laid end to end (spread), or one text (0). */
  readonly valWindows: number;
  readonly modelMetadata = {};
  private readonly batch: number;
  private readonly seq: number;

  constructor(ids: TokenIds, s: Pick<RunSettings, 'batch' | 'seq' | 'valFrac' | 'valSplit' | 'seed' | 'valMaxChars'>) {
    const split = holdOut(ids, s.valFrac, s.valSplit, s.seed);
    this.train = split.train;
    ({ val: this.val, windows: this.valWindows } = boundedValidation(split.val, split.windows, s.valMaxChars));
    this.batch = s.batch;
    this.seq = s.seq;
    this.batcher = new StreamBatcher(this.train, s.batch, s.seq);
  }

  get trainChars(): number {
    return this.train.length;
  }

  get valChars(): number {
    return this.val.length;
  }

  get charsPerStep(): number {
    return this.batch * this.seq;
  }

  get validates(): boolean {
    return this.valWindows > 0 || this.val.length >= 2;
  }

  readonly lineCounts = {};

  validationPass(model: CharRNN<Float32Array>): Iterable<PassSums> {
    const batch = Math.min(this.batch, Math.max(1, Math.floor((this.val.length - 1) / this.seq)));
    return validationPass(model, this.val, batch, this.seq, this.valWindows);
  }

  sample(model: CharRNN<Float32Array>, vocab: Vocabulary, s: SampleSettings): string {
    return sampleTexts(model, vocab, { length: s.sampleLength, temperature: s.sampleTemperature, prime: s.samplePrime, seed: s.seed })[0];
  }

  charsPerSecond(secondsPerStep: number): number {
    return this.charsPerStep / secondsPerStep;
  }
}

/** Line mode: batches of whole lines, each from a zero state to a learned end-of-line; whole lines held out. */
export class LineData implements TrainingData {
  readonly lines = true;
  readonly batcher: LineBatcher;
  readonly modelMetadata: Record<string, string>;
  /** In line mode a pass scores each line's characters and its end-of-line. */
  readonly trainChars: number;
  readonly valChars: number;
  private readonly batch: number;

  constructor(
    private readonly corpus: LineCorpus,
    s: Pick<RunSettings, 'batch' | 'seed'>,
  ) {
    this.batch = s.batch;
    this.batcher = new LineBatcher(corpus.train, s.batch, s.seed);
    this.trainChars = scoredChars(corpus.train);
    this.valChars = scoredChars(corpus.val);
    this.modelMetadata = lineModelMetadata(EOL, corpus.lines);
  }

  get val(): LineExamples {
    return this.corpus.val;
  }

  get charsPerStep(): number {
    return this.trainChars / this.batcher.stepsPerEpoch;
  }

  get validates(): boolean {
    return lineCount(this.corpus.val) > 0;
  }

  get lineCounts(): { trainLines: number; valLines: number } {
    return { trainLines: lineCount(this.corpus.train), valLines: lineCount(this.corpus.val) };
  }

  validationPass(model: CharRNN<Float32Array>): Iterable<PassSums> {
    return lineLossPass(model, this.corpus.val, this.batch);
  }

  sample(model: CharRNN<Float32Array>, vocab: Vocabulary, s: SampleSettings): string {
    return sampleLines(model, vocab, {
      count: SAMPLE_LINES,
      eol: EOL,
      maxLength: s.sampleLength,
      temperature: s.sampleTemperature,
      prime: s.samplePrime,
      seed: s.seed,
    }).lines.join(EOL);
  }

  /** Batches of lines vary in length, so a step's time says no fixed speed. */
  charsPerSecond(): null {
    return null;
  }
}

/** Targets a pass over `lines` scores: each line's characters and its end-of-line. */
function scoredChars(lines: LineExamples): number {
  return lines.ids.length + lineCount(lines);
}

/**
 * At most `maxChars` of the held-out text (0: all): a prefix of one continuous
 * text, or whole windows, evenly spaced, of a spread split (so they stay spread).
 */
function boundedValidation(val: TokenIds, windows: number, maxChars: number): { val: TokenIds; windows: number } {
  if (maxChars <= 0 || val.length <= maxChars + 1) return { val, windows };
  if (windows === 0) return { val: val.subarray(0, maxChars + 1) as TokenIds, windows };
  const w = val.length / windows;
  const keep = Math.max(1, Math.floor(maxChars / w));
  const out = new (val.constructor as new (n: number) => TokenIds)(keep * w);
  for (let i = 0; i < keep; i++) {
    const k = Math.floor((i * windows) / keep);
    out.set(val.subarray(k * w, (k + 1) * w), i * w);
  }
  return { val: out, windows: keep };
}
