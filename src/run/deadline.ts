// A schedule that follows the deadline (--schedule-end deadline, the recipe's
// choice): a time-budgeted run planned its cosine's length from a few seconds
// of measured speed, and a machine that gets busier (or quieter) later would
// end the budget mid-cosine (or sit at lrMin for its last part). So at regular
// points the run measures its recent speed, works out how many steps the time
// left allows, and re-plans the rest of the cosine to end there, continuously
// (src/train/schedule.ts replanSchedule). Platform-neutral: the clock is the
// caller's.
import { cosinePhase, plannedEnd, replanSchedule, type LearningRateSchedule } from '../train/schedule.js';

/**
 * A new plan must move the end by more than this share of the steps the plan
 * has left, and by more than MIN_CHANGE of the cosine's whole planned length;
 * smaller changes are noise in the measured speed. Near the end the cosine is
 * flat: stopping 1% of its length early leaves the rate within about 3e-4 of
 * the way from lrMin to lr, and running 1% more keeps lrMin for those steps.
 */
export const REPLAN_TOLERANCE = 0.05;
export const MIN_CHANGE = 0.01;
/** A window of fewer steps says too little about the speed (a run resumed just before a check). */
export const MIN_WINDOW_STEPS = 3;
/** With --val-every 0 the run checks this many times over its planned steps. */
const CHECKS_PER_PLAN = 20;
/** ... and never more often than this, in steps. */
const MIN_CHECK_EVERY = 25;

/**
 * Steps between the checks: every validation point (--val-every), so that each
 * window between two checks holds the same work (its steps, one validation and
 * the saves that go with it) and its seconds per step are steady; with
 * validation only at the end, a twentieth of the planned steps.
 */
export function replanEvery(valEvery: number, scheduleSteps: number): number {
  return valEvery > 0 ? valEvery : Math.max(MIN_CHECK_EVERY, Math.ceil(scheduleSteps / CHECKS_PER_PLAN));
}

/**
 * The schedule re-planned at update `done` so that the last update the time
 * left allows (`secondsLeft` at `secondsPerStep`, everything a step brings with
 * it counted in) runs at lrMin; or null when the plan stands: within
 * `tolerance` of the steps it has left, or at its end already (the rate is
 * lrMin and stays there).
 */
export function replanForDeadline(
  schedule: LearningRateSchedule,
  done: number,
  secondsLeft: number,
  secondsPerStep: number,
  tolerance = REPLAN_TOLERANCE,
): LearningRateSchedule | null {
  if (schedule.name !== 'cosine' || !(secondsPerStep > 0)) return null;
  const at = Math.max(done, schedule.warmup);
  if (cosinePhase(schedule, at) >= Math.PI) return null;
  // The updates that fit are at, at + 1, ..., at + fit - 1: the last of them is the new end (at least one step on).
  const fit = Math.floor(Math.max(0, secondsLeft) / secondsPerStep) - (at - done);
  const end = Math.max(at + 1, at + fit - 1);
  const planned = plannedEnd(schedule);
  if (Math.abs(end - planned) <= Math.max(tolerance * (planned - at), MIN_CHANGE * (planned - schedule.warmup))) return null;
  return replanSchedule(schedule, at, end);
}

/** What a check measured and what it decided, for the run to say. */
export interface DeadlineCheck {
  /** The new schedule, or null when the plan stands. */
  schedule: LearningRateSchedule | null;
  /** The end before and after (the same when the plan stands). */
  from: number;
  to: number;
  /** Seconds per step over the window, all in. */
  secondsPerStep: number;
  /** Steps in the window. */
  steps: number;
  secondsLeft: number;
}

/**
 * The run's side of following the deadline: the window of steps since the last
 * check, timed with the run's clock.
 */
export class DeadlineFollower {
  private windowStart: number;
  private windowSteps = 0;

  /** @param started the clock's reading (ms) when the run's first step of this invocation is about to start */
  constructor(started: number) {
    this.windowStart = started;
  }

  recordStep(): void {
    this.windowSteps++;
  }

  /**
   * At a check point (after the step, and its validation if it had one):
   * `secondsLeft` is the time left for steps (the budget's remainder less the
   * closing validation and save). The window restarts unless it was too short to judge.
   */
  check(now: number, schedule: LearningRateSchedule, done: number, secondsLeft: number): DeadlineCheck | null {
    if (this.windowSteps < MIN_WINDOW_STEPS) return null;
    const secondsPerStep = (now - this.windowStart) / 1000 / this.windowSteps;
    const steps = this.windowSteps;
    this.windowStart = now;
    this.windowSteps = 0;
    const next = replanForDeadline(schedule, done, secondsLeft, secondsPerStep);
    return {
      schedule: next,
      from: plannedEnd(schedule),
      to: next ? plannedEnd(next) : plannedEnd(schedule),
      secondsPerStep,
      steps,
      secondsLeft,
    };
  }
}
