import type { FloatArray, Kernels } from '../kernels/kernels.js';
import type { Random } from '../util/random.js';

/** Inverted dropout: keeps each value with probability 1 - p, scaled by 1 / (1 - p). */
export class Dropout<F extends FloatArray> {
  private mask: F;

  constructor(
    private readonly kernels: Kernels<F>,
    readonly p: number,
  ) {
    this.mask = kernels.alloc(0);
  }

  /** out = x * mask, with a fresh mask of n values drawn from rng. */
  forward(out: F, x: F, n: number, rng: Random): void {
    if (this.mask.length < n) this.mask = this.kernels.alloc(n);
    const keep = 1 - this.p;
    rng.fillBernoulli(this.mask, n, keep, 1 / keep);
    this.kernels.multiply(out, x, this.mask, n);
  }

  /** dx = dy * mask, the mask of the last forward. */
  backward(dx: F, dy: F, n: number): void {
    this.kernels.multiply(dx, dy, this.mask, n);
  }
}
