// Every rule a run's settings must keep, checked in one place: the library's
// TrainingRun, the CLI and the page all refuse a setting here (its range from
// the table in ./setting-ranges.ts, first), with the same sentence, which names
// settings through the face's names (see ./setting-error.ts). Platform-neutral.
import { trainLength } from '../data/split.js';
import { CharrnnError } from '../errors.js';
import { encodePrime } from '../generate/encode-prime.js';
import { MAX_TEXT_LENGTH } from '../train/memory-estimate.js';
import { SettingError } from './setting-error.js';
import { checkSettingRanges } from './setting-ranges.js';
import type { RunSettings, StopLimits } from './settings.js';
import type { TrainingText } from './training-text.js';

/**
 * Refuses, with a SettingError (one sentence), settings that cannot make a run
 * or that conflict: first any setting or stop limit outside its range
 * (./setting-ranges.ts). Given the text, also what depends on it: an empty
 * text, a text too short for one batch, a sample prime with characters the
 * text lacks. `resumedAt` is the step of the checkpoint a resumed run goes on from.
 */
export function checkSettings(s: RunSettings, limits: StopLimits, text?: TrainingText, resumedAt?: number): void {
  checkSettingRanges(s, limits);
  if (text) checkNotBlank(text);
  const resumed = resumedAt !== undefined;
  if (s.sampleLength > MAX_TEXT_LENGTH) {
    throw new SettingError(
      'sampleLength',
      n =>
        `${n('sampleLength')} ${s.sampleLength} is longer than the longest text JavaScript can hold ` +
        `(${MAX_TEXT_LENGTH.toLocaleString('en')} characters); use charrnn sample, which streams.`,
    );
  }
  if (s.patience > 0 && s.valFrac === 0) {
    throw new SettingError(
      'patience',
      n =>
        `${n('patience')} counts validations, and ${n('valFrac')} 0 leaves no text to validate on; ` +
        `give a ${n('valFrac')} above 0 or leave ${n('patience')} out.`,
    );
  }
  // Checked before any work, so a bad prime is said at once rather than at the first sample.
  if (text && s.sampleLength > 0) checkPrime(text, s.samplePrime);
  if (s.scheduleEnd === 'deadline' && !resumed && limits.seconds === undefined) {
    throw new SettingError(
      'scheduleEnd',
      n =>
        `${n('scheduleEnd')} deadline ends the schedule when the time budget does; ` +
        `give ${n('timeBudget')}, or leave ${n('scheduleEnd')} out.`,
    );
  }
  if (s.lrSchedule !== 'step' && s.lrDecayEvery > 0) {
    throw new SettingError('lrDecayEvery', n => `${n('lrDecayEvery')} belongs to ${n('lrSchedule')} step, not ${s.lrSchedule}.`);
  }
  if (s.scheduleEnd === 'deadline' && s.lrSchedule !== 'cosine') {
    throw new SettingError(
      'scheduleEnd',
      n =>
        `${n('scheduleEnd')} deadline re-plans a cosine schedule, not ${s.lrSchedule}; ` +
        `give ${n('lrSchedule')} cosine or leave ${n('scheduleEnd')} out.`,
    );
  }
  checkWeightDecay(s);
  checkLineSplit(s);
  if (s.lrSchedule === 'cosine' && s.lrMin > s.lr) {
    throw new SettingError(
      'lrMin',
      n =>
        `${n('lrMin')} ${s.lrMin} is above ${n('lr')} ${s.lr}, and a cosine schedule falls from ${n('lr')} to ${n('lrMin')}; ` +
        `give a ${n('lrMin')} of ${s.lr} or less.`,
    );
  }
  if (text && !s.lines) checkLongEnough(text, s);
  if (
    s.lrSchedule === 'cosine' &&
    s.scheduleSteps === 0 &&
    limits.steps === undefined &&
    limits.epochs === undefined &&
    limits.seconds !== undefined
  ) {
    throw new SettingError(
      'scheduleSteps',
      n => `${n('lrSchedule')} cosine with only ${n('seconds')} needs ${n('scheduleSteps')}: the steps the time allows.`,
    );
  }
  if (resumedAt !== undefined && limits.steps !== undefined && limits.steps < resumedAt) {
    throw new SettingError(
      'steps',
      n => `The run is at step ${resumedAt} already, past ${n('steps')} ${limits.steps}; give a ${n('steps')} of ${resumedAt} or more.`,
    );
  }
}

/** Weight decay is AdamW's: the other optimizers have none (the engine's Optimizer reads it only for adam). */
export function checkWeightDecay(s: Pick<RunSettings, 'weightDecay' | 'optimizer'>): void {
  if (s.weightDecay > 0 && s.optimizer !== 'adam') {
    throw new SettingError(
      'weightDecay',
      n => `${n('weightDecay')} is decoupled weight decay (AdamW) and needs ${n('optimizer')} adam, not ${s.optimizer}.`,
    );
  }
}

/** Line mode holds out whole lines at random, so a spread split of running text means nothing there. */
export function checkLineSplit(s: Pick<RunSettings, 'lines' | 'valSplit'>): void {
  if (s.lines && s.valSplit !== 'tail') {
    throw new SettingError(
      'valSplit',
      n =>
        `${n('valSplit')} spread holds out windows of running text; line mode holds out whole lines ` +
        `chosen at random already, so leave ${n('valSplit')} out.`,
    );
  }
}

/**
 * A text with no characters but white space, refused naming where it came
 * from: `empty` when it has none at all (trainingText refuses such a string
 * before a vocabulary can be made of it).
 */
export function blankText(source: string, empty: boolean): SettingError {
  // "the pasted text" starts a sentence as "The pasted text"; a file name stays as it is.
  const subject = source.startsWith('the ') ? `T${source.slice(1)}` : source;
  return new SettingError(
    'text',
    n => `${subject} ${empty ? 'is empty' : 'holds only white space'}; a run needs ${n('text')} to train on.`,
  );
}

/** A text must hold something to learn: more than white space. */
export function checkNotBlank(text: TrainingText): void {
  if (text.ids.length === 0) throw blankText(text.source, true);
  if (text.vocab.chars.every(c => /^\s$/u.test(c))) throw blankText(text.source, false);
}

/**
 * The least length of a text whose training split holds one batch of streams
 * and its targets (batch x seq + 1 characters) once valFrac is held out.
 */
export function shortestText(s: Pick<RunSettings, 'batch' | 'seq' | 'valFrac' | 'valSplit'>): number {
  const chunk = s.batch * s.seq + 1;
  if (!(s.valFrac >= 0 && s.valFrac < 1)) return chunk; // the split refuses such a fraction itself
  // The tail keeps floor(n (1 - valFrac)), so no text much shorter than chunk / (1 - valFrac) can do; a spread
  // split keeps whole windows' worth more (its windows leave a remainder), so only the chunk itself bounds it.
  let n = s.valSplit === 'tail' ? Math.max(chunk, Math.floor(chunk / (1 - s.valFrac)) - 2) : chunk;
  while (trainLength(n, s.valFrac, s.valSplit) < chunk) n++;
  return n;
}

/** The rule of running text: the training split holds at least one batch of streams. */
function checkLongEnough(text: TrainingText, s: RunSettings): void {
  const chunk = s.batch * s.seq + 1;
  const n = text.ids.length;
  const train = trainLength(n, s.valFrac, s.valSplit);
  if (train >= chunk) return;
  const held = s.valFrac > 0;
  const shortest = shortestText(s);
  throw new SettingError(
    'batch',
    name =>
      `The text is too short for ${name('batch')} ${s.batch} and ${name('seq')} ${s.seq}: ` +
      `training needs at least ${chunk} characters${held ? `, a text of at least ${shortest} with ${name('valFrac')} ${s.valFrac} held out` : ''}, ` +
      `and ${text.source} has ${n}${held ? `, ${train} of them left for training` : ''}; make ${name('batch')} or ${name('seq')} smaller, or give a longer text.`,
  );
}

/** The samples' prime must be made of the text's characters (the prime is read in the text's normalisation form). */
function checkPrime(text: TrainingText, prime: string): void {
  const sentence = (hint: string): string | null => {
    try {
      encodePrime(text.vocab, prime, 'error', hint);
      return null;
    } catch (e) {
      if (e instanceof CharrnnError) return e.message;
      throw e;
    }
  };
  if (sentence('') === null) return;
  throw new SettingError('samplePrime', n => sentence(`the ${n('samplePrime')} may use only characters of the text`)!);
}
