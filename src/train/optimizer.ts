import type { FloatArray, Kernels } from '../kernels/kernels.js';
import { CharrnnError } from '../errors.js';
import type { ParameterSpec, Parameters } from '../model/parameters.js';

/** The optimizers, each as torch.optim computes it: Adam, RMSprop, or SGD with momentum. */
export type OptimizerName = 'adam' | 'rmsprop' | 'sgd';

/** An optimizer and its hyperparameters, named as torch.optim names them; each optimizer reads only its own. */
export interface OptimizerConfig {
  /** Which optimizer. */
  name: OptimizerName;
  /** Learning rate before decay. */
  lr: number;
  /** Adam's moment decay rates. */
  beta1: number;
  /** Adam's second-moment decay rate. */
  beta2: number;
  /** RMSprop's squared-gradient decay rate. */
  alpha: number;
  /** SGD's momentum (0: plain SGD). */
  momentum: number;
  /** Adam's and RMSprop's term added to the denominator. */
  eps: number;
  /**
   * Decoupled weight decay (AdamW; read by adam only, 0 or absent: none): before each
   * Adam step p <- p * (1 - lr * weightDecay) for the weight matrices (the
   * recurrent and output layers'), not the biases or the embedding.
   */
  weightDecay?: number;
}

/** `charrnn train`'s optimizer: Adam at learning rate 2e-3 with PyTorch's default betas and eps, no weight decay. */
export const DEFAULT_OPTIMIZER: OptimizerConfig = {
  name: 'adam',
  lr: 2e-3,
  beta1: 0.9,
  beta2: 0.999,
  alpha: 0.99,
  momentum: 0.9,
  eps: 1e-8,
};

/**
 * Adam, RMSprop or SGD with momentum over the flat parameter buffer: one kernel
 * call per step, whatever the number of tensors. Matches torch.optim.
 */
export class Optimizer<F extends FloatArray> {
  /** Per-parameter state: Adam's first and second moments; RMSprop's and SGD's one buffer in `first`. */
  readonly first: F;
  readonly second: F;
  /** Updates done so far. */
  steps = 0;

  /** The tensors weight decay shrinks (none without it). */
  private readonly decayed: F[];

  constructor(
    private readonly kernels: Kernels<F>,
    private readonly params: Parameters<F>,
    readonly config: OptimizerConfig,
  ) {
    checkOptimizerConfig(config);
    this.first = kernels.alloc(params.size);
    this.second = kernels.alloc(config.name === 'adam' ? params.size : 0);
    // Like every hyperparameter here, weightDecay is read only by its optimizer (adam); a run refuses it with
    // another one (the run layer's checkWeightDecay), so the rule has one place.
    const wd = config.name === 'adam' ? (config.weightDecay ?? 0) : 0;
    this.decayed = wd > 0 ? params.specs.filter(isDecayed).map(s => params.get(s.name)) : [];
  }

  /** Applies params.grad with learning rate `lr` (the decayed rate of this step). */
  step(lr: number): void {
    const { data, grad, size } = this.params;
    const c = this.config;
    this.steps++;
    switch (c.name) {
      case 'adam':
        // torch.optim.AdamW: decay first, by the step's rate, then the Adam step on the decayed weights.
        if (this.decayed.length > 0) {
          const keep = 1 - lr * c.weightDecay!;
          for (const w of this.decayed) this.kernels.scale(w, w.length, keep);
        }
        this.kernels.adam(data, grad, this.first, this.second, size, { lr, beta1: c.beta1, beta2: c.beta2, eps: c.eps, step: this.steps });
        break;
      case 'rmsprop':
        this.kernels.rmsprop(data, grad, this.first, size, lr, c.alpha, c.eps);
        break;
      case 'sgd':
        this.kernels.sgd(data, grad, this.first, size, lr, c.momentum, this.steps === 1);
        break;
    }
    this.params.changed();
  }
}

const OPTIMIZER_NAMES: readonly OptimizerName[] = ['adam', 'rmsprop', 'sgd'];

/**
 * What each optimizer setting must be, as torch.optim would run it well: a
 * learning rate of 0 or less, or a decay rate of 1 or more, trains nothing or
 * diverges without saying why.
 */
const OPTIMIZER_RULES: [keyof OptimizerConfig, (v: number) => boolean, string][] = [
  ['lr', v => v > 0 && v < Infinity, 'a number greater than 0'],
  ['beta1', v => v >= 0 && v < 1, 'a number from 0 up to (not including) 1'],
  ['beta2', v => v >= 0 && v < 1, 'a number from 0 up to (not including) 1'],
  ['alpha', v => v >= 0 && v < 1, 'a number from 0 up to (not including) 1'],
  ['momentum', v => v >= 0 && v < 1, 'a number from 0 up to (not including) 1'],
  ['eps', v => v > 0 && v < Infinity, 'a number greater than 0'],
  ['weightDecay', v => v >= 0 && v < Infinity, 'a number, 0 or more'],
];

/** Throws a CharrnnError, one sentence naming the first bad setting and its value, unless every setting is in its range. */
export function checkOptimizerConfig(config: OptimizerConfig): void {
  if (typeof config !== 'object' || config === null)
    throw new CharrnnError(`The optimizer config must be an object, not ${String(config)}.`);
  if (!OPTIMIZER_NAMES.includes(config.name)) {
    throw new CharrnnError(
      `optimizer.name must be ${OPTIMIZER_NAMES.map(n => `'${n}'`)
        .join(', ')
        .replace(/, ([^,]*)$/, ' or $1')}, not ${JSON.stringify(config.name)}.`,
    );
  }
  for (const [key, ok, requirement] of OPTIMIZER_RULES) {
    const value = config[key];
    if (key === 'weightDecay' && value === undefined) continue;
    if (typeof value !== 'number' || !ok(value))
      throw new CharrnnError(
        `optimizer.${key} must be ${requirement}, not ${typeof value === 'string' ? JSON.stringify(value) : String(value)}.`,
      );
  }
}

/**
 * Whether weight decay applies to a tensor: the weight matrices of the
 * recurrent and output layers. Biases only shift activations and the embedding's
 * rows of rare characters see few gradients, so decay would pull those toward
 * zero for no gain (minGPT's choice too). PyTorch's equivalent is AdamW with two
 * parameter groups, weight_decay W for these tensors and 0 for the rest.
 */
export function isDecayed(spec: ParameterSpec): boolean {
  return spec.name.startsWith('rnn.weight_') || spec.name === 'out.weight';
}

/**
 * Scales the gradient so its global L2 norm is at most maxNorm, as
 * torch.nn.utils.clip_grad_norm_ does. Returns the norm before clipping.
 */
export function clipGradNorm<F extends FloatArray>(kernels: Kernels<F>, grad: F, n: number, maxNorm: number): number {
  const norm = Math.sqrt(kernels.sumSquares(grad, n));
  const coef = maxNorm / (norm + 1e-6);
  if (maxNorm > 0 && coef < 1) kernels.scale(grad, n, coef);
  return norm;
}

/** Step decay: lr * decay^floor(step / every), step counted from 0. */
export function decayedLearningRate(lr: number, decay: number, every: number, step: number): number {
  return every > 0 && decay !== 1 ? lr * Math.pow(decay, Math.floor(step / every)) : lr;
}
