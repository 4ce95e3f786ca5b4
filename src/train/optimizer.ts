import type { FloatArray, Kernels } from '../kernels/kernels.js';
import type { Parameters } from '../model/parameters.js';

export type OptimizerName = 'adam' | 'rmsprop' | 'sgd';

export interface OptimizerConfig {
  name: OptimizerName;
  /** Learning rate before decay. */
  lr: number;
  /** Adam's moment decay rates. */
  beta1: number;
  beta2: number;
  /** RMSprop's squared-gradient decay rate. */
  alpha: number;
  /** SGD's momentum (0: plain SGD). */
  momentum: number;
  eps: number;
}

export const DEFAULT_OPTIMIZER: OptimizerConfig = { name: 'adam', lr: 2e-3, beta1: 0.9, beta2: 0.999, alpha: 0.99, momentum: 0.9, eps: 1e-8 };

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

  constructor(private readonly kernels: Kernels<F>, private readonly params: Parameters<F>, readonly config: OptimizerConfig) {
    this.first = kernels.alloc(params.size);
    this.second = kernels.alloc(config.name === 'adam' ? params.size : 0);
  }

  /** Applies params.grad with learning rate `lr` (the decayed rate of this step). */
  step(lr: number): void {
    const { data, grad, size } = this.params;
    const c = this.config;
    this.steps++;
    switch (c.name) {
      case 'adam':
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
