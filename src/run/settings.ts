// A run's settings: everything that defines it (model, batches, optimizer,
// validation, samples), saved in its checkpoint so a resumed run goes on with
// exactly what it started with. Platform-neutral.
import type { CellType } from '../kernels/kernels.js';
import { DEFAULT_MODEL } from '../model/config.js';
import type { ValSplit } from '../data/split.js';
import type { InvalidPolicy } from '../text/decoder.js';
import { DEFAULT_NORMALIZATION, type Normalization } from '../text/normalize.js';
import { DEFAULT_OPTIMIZER, type OptimizerName } from '../train/optimizer.js';
import type { Replan, ScheduleName } from '../train/schedule.js';
import { SettingError } from './setting-error.js';

/** Where a cosine schedule ends: after scheduleSteps, fixed; or at the time budget's deadline, re-planned as the run goes. */
export type ScheduleEnd = 'steps' | 'deadline';

/**
 * Everything that defines a training run: the text's reading, the model, the
 * batches, the optimizer and schedule, validation, checkpoints and samples.
 * Each field but scheduleReplans is a `charrnn train` flag (camelCase for
 * kebab-case). A run saves its settings in its checkpoint, and a resumed run
 * keeps the ones that define its math and data (KEPT_ON_RESUME).
 */
export interface RunSettings {
  /** The embedded corpus the run trains on, when not files. */
  corpus?: string;
  /** Line mode: each non-empty line is one example, from a zero state to a learned end-of-line. */
  lines: boolean;
  /** The text files' encoding (a TextDecoder label); default UTF-8, or UTF-16 by its byte order mark. */
  encoding?: string;
  /** Undecodable bytes: refuse, or make them U+FFFD. */
  invalid: InvalidPolicy;
  /** Unicode normalisation of the text, stored in the model. */
  normalize: Normalization;
  /** Keep at most this many symbols, the rarest characters folded into U+FFFD. */
  maxVocab?: number;
  /** The recurrent cell: lstm, gru or rnn (tanh). */
  cell: CellType;
  /** Stacked recurrent layers. */
  layers: number;
  /** Hidden units per layer. */
  hidden: number;
  /** Embedding size. */
  emb: number;
  /** Dropout probability after each recurrent layer (0: none). */
  dropout: number;
  /** Streams per batch (B). */
  batch: number;
  /** Steps per chunk (T), the truncated-BPTT length. */
  seq: number;
  /** adam, rmsprop or sgd (with momentum). */
  optimizer: OptimizerName;
  /** Peak learning rate. */
  lr: number;
  /** Global gradient-norm limit (0: no clipping). */
  clip: number;
  /** Step schedule: the factor the rate is multiplied by every lrDecayEvery steps (1: none). */
  lrDecay: number;
  /** Step schedule: steps between decays (0: never). */
  lrDecayEvery: number;
  /** The learning rate after warm-up: constant, step (lrDecay every lrDecayEvery steps) or cosine (down to lrMin). */
  lrSchedule: ScheduleName;
  /** Steps of linear learning-rate warm-up. */
  warmup: number;
  /** The rate a cosine schedule ends at. */
  lrMin: number;
  /**
   * Steps a cosine schedule spans (0: the run's step limit, fixed at its start;
   * a run planned for a time budget stores the steps the budget allows).
   */
  scheduleSteps: number;
  /**
   * steps: the cosine ends after scheduleSteps; deadline: a run with a time
   * budget re-plans the cosine's remaining part as it goes (src/run/deadline.ts),
   * so it reaches lrMin when the budget ends, however the machine's speed changes.
   */
  scheduleEnd: ScheduleEnd;
  /** The re-plans a deadline schedule made (the run's record, not a flag): with scheduleSteps, the whole curve. */
  scheduleReplans: readonly Replan[];
  /** Decoupled weight decay of the weight matrices (AdamW; 0: none). */
  weightDecay: number;
  /** Decay of the moving average of the weights that validation and the saved models use (0: none). */
  ema: number;
  /** Dropout on the embedding's output. */
  embDropout: number;
  /** The held-out text: the last valFrac (tail) or seeded windows across the text (spread). */
  valSplit: ValSplit;
  /** The fraction of the text held out for validation (--val-split says where; in line mode: whole lines, chosen at random with the seed). */
  valFrac: number;
  /** Validate every N steps (0: only at the end). */
  valEvery: number;
  /** Validate on at most this many characters of the held-out text (0: all of it). */
  valMaxChars: number;
  /** Stop after this many validations in a row without a new best (0: never). */
  patience: number;
  /** Save the latest model and checkpoint every N steps (0: at validations and the end). */
  checkpointEvery: number;
  /** Seed of the weights, dropout, batches of line mode, spread split and samples. */
  seed: number;
  /** Print a sample every N steps (0: none while training; undefined: at every validation). */
  sampleEvery?: number;
  /** Length of the samples while training and at the end (0: none). */
  sampleLength: number;
  /** Softmax temperature of the samples (below 1: safer, above 1: wilder). */
  sampleTemperature: number;
  /** The text every sample starts from (in the text's characters; '' for none). */
  samplePrime: string;
}

/** When a run stops: the first limit reached wins. */
export interface StopLimits {
  /** The run's total steps (also when resuming). */
  steps?: number;
  /** Passes over the training text. */
  epochs?: number;
  /** Wall-clock budget of this invocation, in seconds, final validation and save included. */
  seconds?: number;
}

/**
 * `charrnn train`'s settings when no flag is given: a 2-layer LSTM of 128
 * units (DEFAULT_MODEL) on batches of 50 streams × 50 steps, Adam at 2e-3
 * with gradient clipping at 5, 10% of the text held out and validated every
 * 500 steps, seed 1. Spread it and override what differs.
 */
export const DEFAULT_SETTINGS: RunSettings = {
  lines: false,
  invalid: 'error',
  normalize: DEFAULT_NORMALIZATION,
  cell: DEFAULT_MODEL.cell,
  layers: DEFAULT_MODEL.layers,
  hidden: DEFAULT_MODEL.hidden,
  emb: DEFAULT_MODEL.emb,
  dropout: DEFAULT_MODEL.dropout,
  batch: 50,
  seq: 50,
  optimizer: 'adam',
  lr: DEFAULT_OPTIMIZER.lr,
  clip: 5,
  lrDecay: 1,
  lrDecayEvery: 0,
  lrSchedule: 'step',
  warmup: 0,
  lrMin: 0,
  scheduleSteps: 0,
  scheduleEnd: 'steps',
  scheduleReplans: [],
  weightDecay: 0,
  ema: 0,
  embDropout: 0,
  valSplit: 'tail',
  valFrac: 0.1,
  valEvery: 500,
  valMaxChars: 250_000,
  patience: 0,
  checkpointEvery: 500,
  seed: 1,
  sampleLength: 200,
  sampleTemperature: 0.8,
  samplePrime: '',
};

/** With no limit given, a run trains this many epochs. */
export const DEFAULT_EPOCHS = 10;

/**
 * The training techniques (docs/training.md, Training techniques): kept on resume like the
 * rest, and a checkpoint saved before they existed lacks them, so it resumes
 * with their defaults, which are what it ran with.
 */
export const TECHNIQUES = [
  'lrSchedule',
  'warmup',
  'lrMin',
  'scheduleSteps',
  'scheduleEnd',
  'scheduleReplans',
  'weightDecay',
  'ema',
  'embDropout',
  'valSplit',
] as const;

/**
 * Settings that a resumed run keeps: they define the run's math and data. The
 * learning rate is not among them (char-rnn users lower it by hand when the
 * loss stalls; the run's log records the change), nor are the sample settings
 * or the stop limits.
 */
export const KEPT_ON_RESUME = [
  'corpus',
  'lines',
  'encoding',
  'invalid',
  'normalize',
  'maxVocab',
  'cell',
  'layers',
  'hidden',
  'emb',
  'dropout',
  'batch',
  'seq',
  'clip',
  'optimizer',
  'lrDecay',
  'lrDecayEvery',
  'valFrac',
  'valEvery',
  'valMaxChars',
  'patience',
  'checkpointEvery',
  'seed',
  ...TECHNIQUES,
] as const satisfies readonly (keyof RunSettings)[];

/**
 * The settings of a resumed run: what it was saved with, the given values of
 * the settings it does not keep, and a refusal naming the first kept setting
 * given with another value. `given` holds only what the user said explicitly.
 */
export function resumedSettings(savedSettings: Partial<RunSettings>, given: Partial<RunSettings>): RunSettings {
  const saved: Partial<RunSettings> = { ...savedSettings };
  for (const k of TECHNIQUES) if (!(k in saved)) (saved as Record<string, unknown>)[k] = DEFAULT_SETTINGS[k];
  const out: RunSettings = { ...DEFAULT_SETTINGS, ...saved, ...given };
  for (const k of KEPT_ON_RESUME) {
    if (k in given && k in saved && given[k] !== saved[k]) {
      throw new SettingError(
        k,
        n => `The run being resumed has ${n(k)} ${String(saved[k])}; a resumed run keeps its settings, so leave ${n(k)} out.`,
      );
    }
    if (k in saved) (out as unknown as Record<string, unknown>)[k] = saved[k];
  }
  return out;
}

/**
 * The step a run stops at when a step or epoch limit gives one (with no limit
 * at all, DEFAULT_EPOCHS), else null; `stepsPerEpoch` is the training split's.
 */
export function stopStep(limits: StopLimits, stepsPerEpoch: number): number | null {
  const { steps, epochs, seconds } = limits;
  const noLimit = steps === undefined && epochs === undefined && seconds === undefined;
  const epochLimit = epochs ?? (noLimit ? DEFAULT_EPOCHS : undefined);
  const fromEpochs = epochLimit === undefined ? undefined : Math.ceil(epochLimit * stepsPerEpoch);
  return steps !== undefined && fromEpochs !== undefined ? Math.min(steps, fromEpochs) : (steps ?? fromEpochs ?? null);
}
