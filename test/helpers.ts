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
