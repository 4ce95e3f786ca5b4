import type { FloatArray } from '../kernels/kernels.js';
import { Trainer, validationLoss, withEvaluationWeights, type StepResult, type TokenIds } from './trainer.js';

/** When a run stops and how often it reports, validates and saves. */
export interface RunLimits {
  /** Stop after this many steps (0: no limit). */
  steps: number;
  /** Stop after this many passes over the training split (0: no limit). */
  epochs: number;
  /** Stop after this much training time in seconds (0: no limit). */
  seconds: number;
  /** Validate every N steps (0: only at the end). */
  valEvery: number;
  /** Save the latest model every N steps (0: only at validations and the end). */
  checkpointEvery: number;
  /** Report progress every N steps. */
  printEvery: number;
  /** The best validation loss of the run so far, when it is resumed. */
  bestValLoss?: number | null;
  /** The validation text is this many windows laid end to end (0 or absent: one continuous text). */
  valWindows?: number;
}

export interface ProgressReport extends StepResult {
  /** Training characters per second since the start of the run, the first steps excluded. */
  charsPerSecond: number;
  /** Seconds of training so far. */
  seconds: number;
}

export interface ValidationReport {
  step: number;
  epoch: number;
  valLoss: number;
  /** True when this is the lowest validation loss so far. */
  best: boolean;
}

/** What the platform plugs in: a clock, progress output, saving, and a stop request. */
export interface RunHooks {
  /** Milliseconds, monotonic. */
  now(): number;
  onProgress?(r: ProgressReport): void;
  onValidation?(r: ValidationReport): void | Promise<void>;
  /** Save the current weights as the latest model. */
  saveLatest?(step: number, bestValLoss: number | null): void | Promise<void>;
  /** Save the current weights as the best model so far. */
  saveBest?(r: ValidationReport): void | Promise<void>;
  /** Polled between steps: true ends the run cleanly (Ctrl-C). */
  shouldStop?(): boolean;
}

export interface RunSummary {
  steps: number;
  epoch: number;
  seconds: number;
  charsPerSecond: number;
  lastLoss: number;
  valLoss: number | null;
  bestValLoss: number | null;
  stoppedEarly: boolean;
}

/** Steps excluded from the throughput figure (the benchmark protocol's warm-up). */
export const WARMUP_STEPS = 3;

/**
 * The training loop: steps until a limit, validating and saving on schedule.
 * It yields to the event loop between steps every so often so that a stop request
 * (a signal handler, a button) can arrive.
 */
export async function runTraining<F extends FloatArray>(trainer: Trainer<F>, val: TokenIds, limits: RunLimits, hooks: RunHooks): Promise<RunSummary> {
  const { batch, seq } = trainer.config;
  const charsPerStep = batch * seq;
  const valBatch = Math.max(1, Math.min(batch, Math.floor((val.length - 1) / seq)));
  const valWindows = limits.valWindows ?? 0;
  const canValidate = valWindows > 0 || val.length >= 2;
  let seconds = 0;
  let timedSeconds = 0;
  let timedSteps = 0;
  let last: StepResult | null = null;
  let valLoss: number | null = null;
  let bestValLoss: number | null = limits.bestValLoss ?? null;
  let lastYield = hooks.now();
  let stoppedEarly = false;
  let lastSavedStep = -1;
  let lastReportedStep = -1;
  let stepsRun = 0; // by this call (a resumed run starts past step 0)

  // Validation and the best model see the moving average of the weights when the run keeps one.
  const validate = async (): Promise<void> => {
    const at = last;
    if (canValidate && at) await withEvaluationWeights(trainer, () => validateAt(at));
  };
  const validateAt = async (at: StepResult): Promise<void> => {
    const loss = validationLoss(trainer.model, val, valBatch, seq, valWindows);
    valLoss = loss;
    const best = bestValLoss === null || loss < bestValLoss;
    if (best) bestValLoss = loss;
    const report = { step: at.step, epoch: at.epoch, valLoss: loss, best };
    await hooks.onValidation?.(report);
    if (best) await hooks.saveBest?.(report);
  };
  // Steady-state speed once past the warm-up steps; until then, the speed so far.
  const throughput = (): number => timedSeconds > 0 ? (timedSteps * charsPerStep) / timedSeconds
    : seconds > 0 ? (stepsRun * charsPerStep) / seconds : 0;
  const done = (): boolean =>
    (limits.steps > 0 && trainer.steps >= limits.steps) ||
    (limits.epochs > 0 && (last?.epoch ?? 0) >= limits.epochs) ||
    (limits.seconds > 0 && seconds >= limits.seconds);

  while (!done()) {
    if (hooks.shouldStop?.()) { stoppedEarly = true; break; }
    const t0 = hooks.now();
    last = trainer.step();
    const dt = (hooks.now() - t0) / 1000;
    seconds += dt;
    if (++stepsRun > WARMUP_STEPS) { timedSeconds += dt; timedSteps++; }
    const charsPerSecond = throughput();
    if (last.step === 1 || last.step % limits.printEvery === 0) {
      hooks.onProgress?.({ ...last, charsPerSecond, seconds });
      lastReportedStep = last.step;
    }
    if (limits.valEvery > 0 && last.step % limits.valEvery === 0) await validate();
    if (limits.checkpointEvery > 0 && last.step % limits.checkpointEvery === 0) {
      await hooks.saveLatest?.(last.step, bestValLoss);
      lastSavedStep = last.step;
    }
    if (hooks.now() - lastYield > 200) {
      await new Promise(resolve => setTimeout(resolve, 0));
      lastYield = hooks.now();
    }
  }
  // The last step is always reported, so a run's final line shows where it ended.
  if (last && lastReportedStep !== last.step) {
    hooks.onProgress?.({ ...last, charsPerSecond: throughput(), seconds });
  }
  if (last && (limits.valEvery === 0 || last.step % limits.valEvery !== 0)) await validate();
  if (last && lastSavedStep !== last.step) await hooks.saveLatest?.(last.step, bestValLoss);
  return {
    steps: trainer.steps,
    epoch: last?.epoch ?? 0,
    seconds,
    charsPerSecond: throughput(),
    lastLoss: last?.loss ?? NaN,
    valLoss,
    bestValLoss,
    stoppedEarly,
  };
}
