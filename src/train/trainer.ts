import type { Batcher } from '../data/batcher.js';
import { evaluationChunks, StreamBatcher, windowChunks } from '../data/streams.js';
import type { FloatArray } from '../kernels/kernels.js';
import { CharrnnError } from '../errors.js';
import type { CharRNN, ModelState } from '../model/charrnn.js';
import { DivergedError } from './diverged-error.js';
import { WeightAverage } from './average.js';
import { checkOptimizerConfig, clipGradNorm, Optimizer, type OptimizerConfig } from './optimizer.js';
import { checkSchedule, learningRateAt, stepDecaySchedule, type LearningRateSchedule } from './schedule.js';
import type { TokenIds } from '../data/streams.js';

/** How a {@link Trainer} trains: the batch shape, gradient clipping, the optimizer and the learning-rate plan. */
export interface TrainingConfig {
  /** Streams per batch (B). */
  batch: number;
  /** Time steps per chunk (T), the truncated-BPTT length. */
  seq: number;
  /** Global gradient-norm limit (0: no clipping). */
  clip: number;
  /** The optimizer and its hyperparameters. */
  optimizer: OptimizerConfig;
  /** Multiply the learning rate by lrDecay every lrDecayEvery steps (1 / 0: constant). */
  lrDecay: number;
  lrDecayEvery: number;
  /** A learning-rate schedule; when given, it replaces lrDecay / lrDecayEvery (and optimizer.lr). */
  schedule?: LearningRateSchedule;
  /** Decay of an exponential moving average of the weights (0 or absent: none). */
  ema?: number;
}

/** What one {@link Trainer.step} did. */
export interface StepResult {
  /** 1-based count of optimizer steps done. */
  step: number;
  /** Mean cross-entropy of the chunk, nats per character, before the update. */
  loss: number;
  /** Global gradient norm before clipping. */
  gradNorm: number;
  /** The learning rate this step's update used. */
  lr: number;
  /** Passes over the training split, fractional. */
  epoch: number;
  /** Characters trained on in this step (targets scored: B * T for streams, fewer for lines). */
  chars: number;
}

/** Each numeric setting of a TrainingConfig: whether a value is in its range, and the range as the end of a sentence. */
const TRAINING_RULES: [keyof TrainingConfig, (v: number) => boolean, string][] = [
  ['batch', v => Number.isInteger(v) && v >= 1, 'a whole number, 1 or more'],
  ['seq', v => Number.isInteger(v) && v >= 1, 'a whole number, 1 or more'],
  ['clip', v => v >= 0 && v < Infinity, 'a number, 0 (no clipping) or more'],
  ['lrDecay', v => v > 0 && v < Infinity, 'a number greater than 0'],
  ['lrDecayEvery', v => Number.isInteger(v) && v >= 0, 'a whole number, 0 (never) or more'],
  ['ema', v => v >= 0 && v < 1, 'a number from 0 (none) up to (not including) 1'],
];

/**
 * Throws a CharrnnError, one sentence naming the first bad setting and its
 * value, unless every setting is in its range: the engine's guard, so a caller
 * of Trainer without a run gets a refusal instead of a run that trains on a
 * negative learning rate. A run checks its settings' ranges first, in its own
 * words (src/run/setting-ranges.ts). `seq` is not used with a batcher of its own (lines).
 */
export function checkTrainingConfig(config: TrainingConfig, ownBatcher = false): void {
  if (typeof config !== 'object' || config === null)
    throw new CharrnnError(`The training config must be an object, not ${String(config)}.`);
  for (const [key, ok, requirement] of TRAINING_RULES) {
    const value = config[key];
    if ((key === 'seq' && ownBatcher) || (key === 'ema' && value === undefined)) continue;
    if (typeof value !== 'number' || !ok(value))
      throw new CharrnnError(`${key} must be ${requirement}, not ${typeof value === 'string' ? JSON.stringify(value) : String(value)}.`);
  }
  checkOptimizerConfig(config.optimizer);
}

/**
 * One model, one training split, one optimizer: each `step` feeds the next chunk
 * of B streams (state carried from the chunk before, reset when the streams wrap),
 * backpropagates through it, clips and updates. Platform-neutral: the loop that
 * calls it decides about time, files and progress.
 */
export class Trainer<F extends FloatArray> {
  readonly batcher: Batcher;
  readonly optimizer: Optimizer<F>;
  readonly state: ModelState<F>;
  private currentSchedule: LearningRateSchedule;
  /** The moving average of the weights, when the config asks for one. */
  readonly average: WeightAverage<F> | null;
  private readonly x: Int32Array;
  private readonly y: Int32Array;

  /**
   * `train` is the training split, cut into the protocol's streams of
   * config.batch x config.seq, or a batcher of config.batch sequences (line
   * mode's LineBatcher), whose chunks may vary in length.
   */
  constructor(
    readonly model: CharRNN<F>,
    train: TokenIds | Batcher,
    readonly config: TrainingConfig,
  ) {
    checkTrainingConfig(config, 'next' in train);
    this.batcher = 'next' in train ? train : new StreamBatcher(train, config.batch, config.seq);
    if (this.batcher.B !== config.batch) throw new Error(`the batcher gives ${this.batcher.B} sequences, the config says ${config.batch}`);
    this.optimizer = new Optimizer(model.kernels, model.params, config.optimizer);
    this.state = model.newState(config.batch);
    this.currentSchedule = config.schedule ?? stepDecaySchedule(config.optimizer.lr, config.lrDecay, config.lrDecayEvery);
    checkSchedule(this.currentSchedule);
    this.average = config.ema ? new WeightAverage(model.params, config.ema, n => model.kernels.alloc(n)) : null;
    this.x = new Int32Array(config.batch * this.batcher.maxT);
    this.y = new Int32Array(config.batch * this.batcher.maxT);
  }

  get steps(): number {
    return this.optimizer.steps;
  }

  /** The learning-rate schedule the next steps follow. */
  get schedule(): LearningRateSchedule {
    return this.currentSchedule;
  }

  /**
   * Follows `schedule` from the next step on (a deadline re-plan); the caller
   * keeps it in the run's settings, so a resumed run follows it too.
   */
  reschedule(schedule: LearningRateSchedule): void {
    checkSchedule(schedule);
    this.currentSchedule = schedule;
  }

  /**
   * One optimizer step on the batcher's next chunk: forward, backward, clip,
   * update. Throws a DivergedError (a CharrnnError) when the loss or the gradient norm is not
   * finite (training diverged), before the update, so the weights stay those
   * of the last good step.
   */
  step(): StepResult {
    const { model, config } = this;
    const { T, reset, targets } = this.batcher.next(this.x, this.y);
    if (reset) zeroState(this.state);
    model.params.zeroGrad();
    model.forward(this.x, T, config.batch, this.state, { train: true });
    const loss = model.backward(this.y);
    const gradNorm = clipGradNorm(model.kernels, model.params.grad, model.params.size, config.clip);
    // Checked before the update, so the weights stay those of the last good step
    // (and whatever a caller saved from them stays usable).
    if (!Number.isFinite(loss) || !Number.isFinite(gradNorm)) {
      const [what, value] = Number.isFinite(loss) ? ['gradient norm', gradNorm] : ['loss', loss];
      // What was saved before this step is the caller's to say (a run does): the trainer saves nothing.
      throw new DivergedError(`Training diverged at step ${this.optimizer.steps + 1}: the ${what} became ${value}`);
    }
    if (this.average?.inUse) throw new Error('a training step while the averaged weights are swapped in');
    const lr = learningRateAt(this.schedule, this.optimizer.steps);
    this.optimizer.step(lr);
    this.average?.update(this.optimizer.steps);
    return { step: this.optimizer.steps, loss, gradNorm, lr, epoch: this.batcher.epoch, chars: targets };
  }
}

/**
 * Runs `use` with the weights a run validates and saves: the moving average when
 * there is one (swapped in, and back out afterwards, bit for bit), else the
 * weights as they are.
 */
export async function withEvaluationWeights<F extends FloatArray, T>(trainer: Trainer<F>, use: () => T | Promise<T>): Promise<T> {
  const average = trainer.average;
  if (!average || trainer.steps === 0) return await use();
  average.swap();
  try {
    return await use();
  } finally {
    average.swap();
  }
}

export function zeroState<F extends FloatArray>(state: ModelState<F>): void {
  for (const l of state.layers) {
    l.h.fill(0);
    l.c?.fill(0);
  }
}

/**
 * Mean cross-entropy (nats per character) over a whole split, fed as B streams
 * with the state carried from chunk to chunk, as the benchmark protocol defines it;
 * or, when `windows` > 0, over that many held-out windows laid end to end, one
 * stream each (B is then the window count).
 */
export function validationLoss<F extends FloatArray>(model: CharRNN<F>, data: TokenIds, batch: number, seq: number, windows = 0): number {
  let last = { total: 0, count: 0 };
  for (const sums of validationPass(model, data, batch, seq, windows)) last = sums;
  return last.count > 0 ? last.total / last.count : NaN;
}

/**
 * The validation pass one chunk at a time: after each chunk, the summed loss
 * (nats) and the characters predicted so far. A caller that must stay
 * responsive (a stop request, a budget) can pause or abandon it between chunks.
 */
export function* validationPass<F extends FloatArray>(
  model: CharRNN<F>,
  data: TokenIds,
  batch: number,
  seq: number,
  windows = 0,
): Generator<{ total: number; count: number }, void, undefined> {
  const B = windows > 0 ? windows : batch;
  const state = model.newState(B);
  let total = 0;
  let count = 0;
  for (const chunk of windows > 0 ? windowChunks(data, windows, seq) : evaluationChunks(data, batch, seq)) {
    model.forward(chunk.x, chunk.T, B, state);
    total += model.loss(chunk.y);
    count += chunk.T * B;
    yield { total, count };
  }
}
