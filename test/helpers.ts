import type { FloatArray } from '../src/kernels/kernels.js';
import type { CharRNN } from '../src/model/charrnn.js';
import { Random } from '../src/util/random.js';

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
