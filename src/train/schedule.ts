// The learning rate of every step as a pure function of the step and the run's
// planned length, so that a resumed run (or any replay) gets the same rate at the
// same step, bit for bit. A time-budgeted run fixes its planned length once, at
// the start, from its measured speed, and keeps it in its settings.
import { CharrnnError } from '../errors.js';
import { decayedLearningRate } from './optimizer.js';

export type ScheduleName = 'constant' | 'step' | 'cosine';

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
  decayEvery: number;
  /** cosine: the rate it ends at. */
  lrMin: number;
  /** cosine: the run's planned number of steps, warm-up included; past it the rate stays lrMin. */
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
  if (done < s.warmup) return s.lr * (done + 1) / (s.warmup + 1);
  const after = done - s.warmup;
  switch (s.name) {
    case 'constant':
      return s.lr;
    case 'step':
      // The same expression as before schedules existed, so a run without them is unchanged bit for bit.
      return decayedLearningRate(s.lr, s.decay, s.decayEvery, after);
    case 'cosine': {
      const span = s.totalSteps - s.warmup;
      if (after >= span) return s.lrMin;
      return s.lrMin + (s.lr - s.lrMin) * (1 + Math.cos(Math.PI * after / span)) / 2;
    }
  }
}

/** One sentence for a schedule that cannot work; nothing when it can. */
export function checkSchedule(s: LearningRateSchedule): void {
  if (!(Number.isInteger(s.warmup) && s.warmup >= 0)) throw new CharrnnError(`The warm-up must be a whole number of steps, got ${s.warmup}.`);
  if (s.name === 'cosine') {
    if (!(s.lrMin >= 0 && s.lrMin <= s.lr)) throw new CharrnnError(`--lr-min must be between 0 and the learning rate ${s.lr}, got ${s.lrMin}.`);
    if (!(Number.isInteger(s.totalSteps) && s.totalSteps > s.warmup)) {
      throw new CharrnnError(`A cosine schedule needs the run's length in steps, more than its ${s.warmup} warm-up steps; got ${s.totalSteps}.`);
    }
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
