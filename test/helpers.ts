import type { Kernels } from '../src/kernels/kernels.js';
import { CharRNN } from '../src/model/charrnn.js';
import type { ModelConfig } from '../src/model/config.js';
import { DEFAULT_OPTIMIZER } from '../src/train/optimizer.js';
import { Trainer } from '../src/train/trainer.js';
import { Random } from '../src/util/random.js';

/** Fills an array with values uniform in [-scale, scale). */
export function randomFill<A extends { length: number; [i: number]: number }>(a: A, rng: Random, scale = 1): A {
  for (let i = 0; i < a.length; i++) a[i] = rng.uniform(-scale, scale);
  return a;
}

/**
 * Largest elementwise relative error between two arrays:
 * |a - b| / max(|a| + |b|, floor). The floor keeps values near zero from
 * inflating the figure.
 */
export function maxRelativeError(a: ArrayLike<number>, b: ArrayLike<number>, floor = 1e-4): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let worst = 0;
  for (let i = 0; i < a.length; i++) {
    const e = Math.abs(a[i] - b[i]) / Math.max(Math.abs(a[i]) + Math.abs(b[i]), floor);
    if (!(e <= worst)) worst = e; // NaN propagates as a failure
  }
  return worst;
}

/**
 * Central finite differences of a scalar function with respect to every entry of
 * `x` (perturbed in place and restored).
 */
export function numericalGradient(f: () => number, x: Float64Array, eps = 1e-6): Float64Array {
  const g = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const old = x[i];
    x[i] = old + eps;
    const plus = f();
    x[i] = old - eps;
    const minus = f();
    x[i] = old;
    g[i] = (plus - minus) / (2 * eps);
  }
  return g;
}

/** `steps` Adam steps (lr 2e-3, clip 5) of a freshly seeded model: its losses and final parameters, for determinism checks. */
export function adamRun(kernels: Kernels<Float32Array>, config: ModelConfig, train: Uint16Array, batch: number, seq: number, steps: number):
  { params: Float32Array; losses: number[] } {
  const model = new CharRNN(config, kernels, { seed: 5 });
  const trainer = new Trainer(model, train, {
    batch, seq, clip: 5, lrDecay: 1, lrDecayEvery: 0, optimizer: { ...DEFAULT_OPTIMIZER, name: 'adam', lr: 2e-3 },
  });
  const losses = Array.from({ length: steps }, () => trainer.step().loss);
  return { params: Float32Array.from(model.params.data), losses };
}
