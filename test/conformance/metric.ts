// The one error metric of the conformance suite, and its tolerances.
//
// error(actual, expected) = max_i |actual_i - expected_i| / max(|expected_i|, floor),
// floor = a tenth of the largest |expected_j| of the tensor.
//
// Relative error, elementwise, except that entries far below the tensor's scale
// are measured against a tenth of that scale: such an entry comes out of
// cancellation between terms of the tensor's size (a logit of 3e-4 from products
// of order 0.5, a weight gradient summed over T*B rows), so any float32 engine,
// PyTorch's included, carries the rounding of those terms there, not of itself.
// A tensor expected to be all zeros is measured against 1 (an absolute error);
// NaN is an infinite error. Every comparison of every engine goes through this
// function.

import type { FloatArray } from '../../src/kernels/kernels.js';

export function error(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  if (actual.length !== expected.length) throw new Error(`length ${actual.length}, expected ${expected.length}`);
  let scale = 0;
  for (let i = 0; i < expected.length; i++) scale = Math.max(scale, Math.abs(expected[i]));
  const floor = scale > 0 ? 0.1 * scale : 1;
  let worst = 0;
  for (let i = 0; i < expected.length; i++) {
    const e = Math.abs(actual[i] - expected[i]) / Math.max(Math.abs(expected[i]), floor);
    if (!(e <= worst)) worst = Number.isNaN(e) ? Infinity : e;
  }
  return worst;
}

/**
 * Largest error allowed, by the precision the engine computes in:
 * - f32: float32 engines against float64 answers (PyTorch's, or the float64
 *   reference's on the same float32 inputs). Float32 rounding through a few
 *   hundred dependent operations stays near 1e-6 here; 1e-4 leaves room for the
 *   recurrence amplifying it, and still fails any formula mistake.
 * - f64: the float64 reference against PyTorch in float64: what is left is
 *   float64 rounding in a different order.
 * A training run (several optimizer steps, each feeding the last one's error
 * into the next forward pass) is allowed RUN_FACTOR times as much.
 */
export const TOLERANCE: Record<'f32' | 'f64', number> = { f32: 1e-4, f64: 1e-10 };
export const RUN_FACTOR = 5;

export function precisionOf(a: FloatArray): 'f32' | 'f64' {
  return a instanceof Float64Array ? 'f64' : 'f32';
}
