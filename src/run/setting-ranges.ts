// The range of each numeric or enumerated run setting and stop limit, in one
// table: checkSettings refuses a value outside it first, and the CLI judges
// its train flags with it, so a bad value gets the same sentence in every face
// (named the face's way). Platform-neutral.
import type { CellType } from '../kernels/kernels.js';
import type { ValSplit } from '../data/split.js';
import { INVALID_POLICIES } from '../text/decoder.js';
import { NORMALIZATIONS } from '../text/normalize.js';
import type { OptimizerName } from '../train/optimizer.js';
import type { ScheduleName } from '../train/schedule.js';
import { SettingError } from './setting-error.js';
import type { RunSettings, ScheduleEnd, StopLimits } from './settings.js';

/** A number's range: whole or not, and its bounds, each closed unless said open; `zero` says what 0 means where 0 is allowed. */
export interface NumberRange {
  whole: boolean;
  min: number;
  /** true: above min, not min itself. */
  minOpen?: boolean;
  max?: number;
  /** true: below max, not max itself. */
  maxOpen?: boolean;
  zero?: string;
}

/** An enumerated setting's choices. */
export interface ChoiceRange {
  choices: readonly string[];
}

export type SettingRange = NumberRange | ChoiceRange;

/** The settings and stop limits with a range (those in OPTIONAL may also be left out). */
export type RangedSetting =
  Exclude<keyof RunSettings, 'corpus' | 'lines' | 'encoding' | 'scheduleReplans' | 'samplePrime'> | keyof StopLimits;

const CELLS: readonly CellType[] = ['lstm', 'gru', 'rnn'];
const OPTIMIZERS: readonly OptimizerName[] = ['adam', 'rmsprop', 'sgd'];
const SCHEDULES: readonly ScheduleName[] = ['constant', 'step', 'cosine'];
const SCHEDULE_ENDS: readonly ScheduleEnd[] = ['steps', 'deadline'];
const VAL_SPLITS: readonly ValSplit[] = ['tail', 'spread'];

const countFrom1: NumberRange = { whole: true, min: 1 };
const stepsOr0 = (zero: string): NumberRange => ({ whole: true, min: 0, zero });
const aboveZero: NumberRange = { whole: false, min: 0, minOpen: true };
const share = (zero: string): NumberRange => ({ whole: false, min: 0, max: 1, maxOpen: true, zero });

/** Every ranged setting's range. */
export const SETTING_RANGES: Readonly<Record<RangedSetting, SettingRange>> = {
  invalid: { choices: INVALID_POLICIES },
  normalize: { choices: NORMALIZATIONS },
  // One character and the unknown symbol the rest fold into.
  maxVocab: { whole: true, min: 2 },
  cell: { choices: CELLS },
  layers: countFrom1,
  hidden: countFrom1,
  emb: countFrom1,
  dropout: share('none'),
  batch: countFrom1,
  seq: countFrom1,
  optimizer: { choices: OPTIMIZERS },
  lr: aboveZero,
  clip: { whole: false, min: 0, zero: 'no clipping' },
  lrDecay: aboveZero,
  lrDecayEvery: stepsOr0('never'),
  lrSchedule: { choices: SCHEDULES },
  warmup: stepsOr0('none'),
  lrMin: { whole: false, min: 0 },
  scheduleSteps: stepsOr0("the run's step limit"),
  scheduleEnd: { choices: SCHEDULE_ENDS },
  weightDecay: { whole: false, min: 0, zero: 'none' },
  ema: share('none'),
  embDropout: share('none'),
  valSplit: { choices: VAL_SPLITS },
  valFrac: share('no validation'),
  valEvery: stepsOr0('only at the end'),
  valMaxChars: stepsOr0('all'),
  patience: stepsOr0('never'),
  checkpointEvery: stepsOr0('at validations and the end'),
  seed: { whole: true, min: 0, max: 0xffffffff },
  sampleEvery: stepsOr0('only at the end'),
  sampleLength: stepsOr0('none'),
  sampleTemperature: aboveZero,
  steps: countFrom1,
  epochs: aboveZero,
  seconds: aboveZero,
};

/** Settings that may be left out (undefined): the run then does without them. */
const OPTIONAL: ReadonlySet<RangedSetting> = new Set(['maxVocab', 'sampleEvery', 'steps', 'epochs', 'seconds']);

const LIMITS: ReadonlySet<RangedSetting> = new Set(['steps', 'epochs', 'seconds']);

/** An enumerated setting's choices (none for a number). */
export function settingChoices(setting: RangedSetting): readonly string[] {
  const range = SETTING_RANGES[setting];
  return 'choices' in range ? range.choices : [];
}

/** What a value in the range is, as the end of "X must be ...": "a whole number, 1 or more". */
export function requirement(range: SettingRange): string {
  if ('choices' in range) return range.choices.join(', ').replace(/, ([^,]*)$/, ' or $1');
  const kind = range.whole ? 'a whole number' : 'a number';
  const low = range.zero !== undefined && range.min === 0 ? `0 (${range.zero})` : String(range.min);
  if (range.max === undefined) return range.minOpen ? `${kind} greater than ${range.min}` : `${kind}, ${low} or more`;
  const high = range.maxOpen ? `up to (not including) ${range.max}` : `to ${range.max}`;
  return range.minOpen ? `${kind} greater than ${range.min} and ${high}` : `${kind} from ${low} ${high}`;
}

/** Whether a value is in the range (a number, finite, whole where it must be; or one of the choices). */
export function inRange(range: SettingRange, value: unknown): boolean {
  if ('choices' in range) return typeof value === 'string' && range.choices.includes(value);
  if (typeof value !== 'number' || !Number.isFinite(value)) return false;
  if (range.whole && !Number.isInteger(value)) return false;
  if (range.minOpen ? !(value > range.min) : !(value >= range.min)) return false;
  if (range.max !== undefined && (range.maxOpen ? !(value < range.max) : !(value <= range.max))) return false;
  return true;
}

/** A refusal of one setting's value, or null when the value is in its range (or an optional setting is left out). */
export function outOfRange(setting: RangedSetting, value: unknown): SettingError | null {
  if (value === undefined && OPTIONAL.has(setting)) return null;
  const range = SETTING_RANGES[setting];
  if (inRange(range, value)) return null;
  const shown = typeof value === 'string' ? JSON.stringify(value) : String(value);
  return new SettingError(setting, n => `${n(setting)} must be ${requirement(range)}, not ${shown}.`);
}

/** Refuses (SettingError, one sentence) the first setting or stop limit outside its range. */
export function checkSettingRanges(s: RunSettings, limits: StopLimits = {}): void {
  for (const setting of Object.keys(SETTING_RANGES) as RangedSetting[]) {
    const value = LIMITS.has(setting) ? (limits as Record<string, unknown>)[setting] : (s as unknown as Record<string, unknown>)[setting];
    const refusal = outOfRange(setting, value);
    if (refusal) throw refusal;
  }
}
