import type { FloatArray } from '../src/kernels/kernels.js';
import type { CharRNN } from '../src/model/charrnn.js';
import { DEFAULT_OPTIMIZER } from '../src/train/optimizer.js';
import { Trainer } from '../src/train/trainer.js';
import { Random } from '../src/util/random.js';

/**
 * Trains `model` for `steps` steps on `ids` (4 streams of 16 steps, Adam at
 * 0.01, clip 5): enough that its guesses are no longer uniform, the model many
 * tests generate from or score with.
 */
export function trainBriefly<F extends FloatArray>(model: CharRNN<F>, ids: Uint16Array | Uint32Array, steps: number): CharRNN<F> {
  const t = new Trainer(model, ids, {
    batch: 4,
    seq: 16,
    clip: 5,
    lrDecay: 1,
    lrDecayEvery: 0,
    optimizer: { ...DEFAULT_OPTIMIZER, lr: 0.01 },
  });
  for (let i = 0; i < steps; i++) t.step();
  return model;
}

/** Fills an array with values uniform in [-scale, scale). */
export function randomFill<A extends { length: number; [i: number]: number }>(a: A, rng: Random, scale = 1): A {
  for (let i = 0; i < a.length; i++) a[i] = rng.uniform(-scale, scale);
  return a;
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

/** Runs chunks (batch-first ids, as PyTorch takes them) with the state carried, returning batch-first logits. */
export function runChunks<F extends FloatArray>(model: CharRNN<F>, chunks: { input: number[][] }[]): number[][][][] {
  const B = chunks[0].input.length;
  const state = model.newState(B);
  const V = model.config.vocabSize;
  return chunks.map(c => {
    const T = c.input[0].length;
    const ids = new Int32Array(T * B);
    for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) ids[t * B + b] = c.input[b][t];
    const logits = model.forward(ids, T, B, state);
    return Array.from({ length: B }, (_, b) =>
      Array.from({ length: T }, (_, t) => Array.from(logits.subarray((t * B + b) * V, (t * B + b + 1) * V))),
    );
  });
}
