// The learning rate of every step as a pure function of the step and the run's
// plan, so that a resumed run (or any replay) gets the same rate at the same
// step, bit for bit. A time-budgeted run plans its length at the start from its
// measured speed; when its schedule follows the deadline (src/run/deadline.ts) it
// re-plans the rest of the cosine as it goes, and each re-plan is one entry of
// the plan, kept in the run's settings.
import { CharrnnError, WordedError } from '../errors.js';
import { decayedLearningRate } from './optimizer.js';

/** The shapes of a learning-rate schedule after its warm-up: constant, step decay, or cosine annealing. */
export type ScheduleName = 'constant' | 'step' | 'cosine';

/**
 * A run's learning rate at every step: a linear warm-up, then a constant, a
 * step-decayed or a cosine rate. {@link learningRateAt} computes the rate of a
 * step from it alone, so a resumed run gets the same rate at the same step.
 */
export interface LearningRateSchedule {
  /** The peak rate: after warm-up, before decay. */
  lr: number;
  /**
   * constant: lr; step: lr * decay^floor(s / decayEvery) (s counted from the end
   * of warm-up); cosine: from lr down to lrMin over the steps after warm-up.
   */
  name: ScheduleName;
  /** Steps of linear warm-up: step s < warmup (0-based) uses lr * (s + 1) / (warmup + 1). */
  warmup: number;
  /** step: the factor and the steps between decays (decayEvery 0: never). */
  decay: number;
  /** step: steps between decays (0: never). */
  decayEvery: number;
  /** cosine: the rate it ends at. */
  lrMin: number;
  /** cosine: the run's planned number of steps, warm-up included; past it the rate stays lrMin. */
  totalSteps: number;
  /**
   * cosine: the re-plans made so far, in step order (absent or empty: none, and
   * the cosine is the plain one over totalSteps).
   */
  replans?: readonly Replan[];
}

/**
 * From update `at` (0-based, at or after the warm-up) on, the cosine goes from
 * where it stood at `at` to lrMin at update `totalSteps` instead, so the rate is
 * continuous and only its pace changes.
 */
export interface Replan {
  /** The update it takes effect at (0-based). */
  at: number;
  /** The update the cosine now reaches lrMin at. */
  totalSteps: number;
}

/** A schedule that is today's step decay, or constant: no warm-up, nothing else. */
export function stepDecaySchedule(lr: number, decay: number, decayEvery: number): LearningRateSchedule {
  return { lr, name: 'step', warmup: 0, decay, decayEvery, lrMin: 0, totalSteps: 0 };
}

/**
 * The rate of the update that follows `done` updates (0-based step s = done).
 *
 * Equal to PyTorch's SequentialLR([LinearLR(start_factor = 1 / (warmup + 1),
 * total_iters = warmup), X], milestones = [warmup]) where X is StepLR(decayEvery,
 * decay) or CosineAnnealingLR(T_max = totalSteps - warmup, eta_min = lrMin), in
 * closed form (PyTorch's chained form differs by rounding only).
 */
export function learningRateAt(s: LearningRateSchedule, done: number): number {
  if (done < s.warmup) return (s.lr * (done + 1)) / (s.warmup + 1);
  const after = done - s.warmup;
  switch (s.name) {
    case 'constant':
      return s.lr;
    case 'step':
      // The same expression as before schedules existed, so a run without them is unchanged bit for bit.
      return decayedLearningRate(s.lr, s.decay, s.decayEvery, after);
    case 'cosine': {
      if (s.replans !== undefined && s.replans.length > 0) {
        const phase = cosinePhase(s, done);
        return phase >= Math.PI ? s.lrMin : s.lrMin + ((s.lr - s.lrMin) * (1 + Math.cos(phase))) / 2;
      }
      const span = s.totalSteps - s.warmup;
      if (after >= span) return s.lrMin;
      return s.lrMin + ((s.lr - s.lrMin) * (1 + Math.cos((Math.PI * after) / span))) / 2;
    }
  }
}

/**
 * How far along its cosine a schedule is at update `done` (after warm-up), as
 * the cosine's phase: 0 at the peak, π at lrMin. Between re-plans the phase
 * moves linearly from where it stood at the re-plan to π at the re-plan's end;
 * before the first, it is the plain cosine's, to the last bit (the steps before
 * a re-plan were trained with it).
 */
export function cosinePhase(s: LearningRateSchedule, done: number): number {
  let from = s.warmup;
  let end = s.totalSteps;
  let start = 0; // the phase at `from`
  let first = true;
  const at = (step: number): number => {
    if (step >= end) return Math.PI;
    return first ? (Math.PI * (step - from)) / (end - from) : start + ((Math.PI - start) * (step - from)) / (end - from);
  };
  for (const r of s.replans ?? []) {
    if (done < r.at) break;
    start = at(r.at);
    from = r.at;
    end = r.totalSteps;
    first = false;
  }
  return at(Math.max(done, s.warmup));
}

/** The update at which a cosine schedule reaches lrMin under its latest plan. */
export function plannedEnd(s: LearningRateSchedule): number {
  return s.replans?.at(-1)?.totalSteps ?? s.totalSteps;
}

/**
 * The schedule re-planned at update `done` to reach lrMin at update `end`
 * instead: the same rates before `done` and at it, the cosine's remaining part
 * stretched or squeezed after it. During warm-up the re-plan starts where the
 * cosine does. A re-plan at the step of the last one replaces it.
 */
export function replanSchedule(s: LearningRateSchedule, done: number, end: number): LearningRateSchedule {
  if (s.name !== 'cosine') throw new Error(`only a cosine schedule is re-planned, not ${s.name}`);
  const at = Math.max(done, s.warmup);
  if (!(Number.isInteger(at) && Number.isInteger(end) && end > at)) throw new Error(`cannot re-plan at update ${at} to end at ${end}`);
  const earlier = s.replans ?? [];
  if (earlier.some(r => r.at > at)) throw new Error(`a re-plan at update ${at} after one at a later update`);
  const kept = earlier.filter(r => r.at < at);
  return { ...s, replans: [...kept, { at, totalSteps: end }] };
}

/** One sentence for a schedule that cannot work; nothing when it can. */
export function checkSchedule(s: LearningRateSchedule): void {
  if (!(s.lr > 0 && s.lr < Infinity)) throw new CharrnnError(`The learning rate must be a number greater than 0, got ${s.lr}.`);
  if (s.name === 'step' && !(s.decay > 0 && s.decay < Infinity && Number.isInteger(s.decayEvery) && s.decayEvery >= 0)) {
    throw new CharrnnError(
      `A step schedule's decay must be a number greater than 0 and its decay interval a whole number of steps, 0 or more; got ${s.decay} every ${s.decayEvery}.`,
    );
  }
  if (!(Number.isInteger(s.warmup) && s.warmup >= 0))
    throw new CharrnnError(`The warm-up must be a whole number of steps, got ${s.warmup}.`);
  if (s.name === 'cosine') {
    if (!(s.lrMin >= 0 && s.lrMin <= s.lr))
      throw new WordedError<'lrMin'>(n => `${n('lrMin')} must be between 0 and the learning rate ${s.lr}, got ${s.lrMin}.`);
    if (!(Number.isInteger(s.totalSteps) && s.totalSteps > s.warmup)) {
      throw new CharrnnError(
        `A cosine schedule needs the run's length in steps, more than its ${s.warmup} warm-up steps; got ${s.totalSteps}.`,
      );
    }
    (s.replans ?? []).forEach((r, i, all) => {
      const after = i === 0 ? s.warmup : all[i - 1].at + 1;
      if (!(Number.isInteger(r.at) && Number.isInteger(r.totalSteps) && r.at >= after && r.totalSteps > r.at)) {
        throw new CharrnnError(
          `The schedule's re-plans must be at whole steps in increasing order from the end of warm-up, each ending after it starts; got ${JSON.stringify(s.replans)}.`,
        );
      }
    });
  }
}

/**
 * The planned length of a time-budgeted run: the steps that fit in `seconds` at
 * the measured `secondsPerStep`, fixed once at the start (at least warmup + 1).
 */
export function plannedSteps(seconds: number, secondsPerStep: number, warmup = 0): number {
  if (!(seconds > 0 && secondsPerStep > 0)) throw new CharrnnError(`Cannot plan a run of ${seconds} s at ${secondsPerStep} s per step.`);
  return Math.max(warmup + 1, Math.floor(seconds / secondsPerStep));
}
