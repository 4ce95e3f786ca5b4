import type { FloatArray } from '../kernels/kernels.js';
import type { Parameters } from '../model/parameters.js';

/**
 * An exponential moving average of the weights, as PyTorch's
 * AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(decay)) keeps it: the
 * first update copies the weights, each later one moves the average toward them,
 * a <- a + (1 - decay) (p - a) (torch's lerp_). Validation and the saved model
 * use the average; training goes on from the raw weights.
 */
export class WeightAverage<F extends FloatArray> {
  /** The averaged weights, in the parameters' flat layout. */
  readonly values: F;
  private swapped = false;

  constructor(
    private readonly params: Parameters<F>,
    readonly decay: number,
    alloc: (n: number) => F,
  ) {
    if (!(decay > 0 && decay < 1)) throw new RangeError(`the average's decay must be between 0 and 1, got ${decay}`);
    this.values = alloc(params.size);
  }

  /** After the optimizer's `step`-th update (1-based). */
  update(step: number): void {
    const a = this.values;
    const p = this.params.data;
    if (step <= 1) {
      a.set(p);
      return;
    }
    const w = 1 - this.decay;
    // A plain loop: ~1 ns per weight here (see docs/training.md, Training techniques), well
    // under 1% of a training step at every model size the recipe picks.
    for (let i = 0; i < a.length; i++) a[i] += w * (p[i] - a[i]);
  }

  /** True while the parameters hold the average (between `swap` calls). */
  get inUse(): boolean {
    return this.swapped;
  }

  /**
   * Exchanges the parameters and the average in place (call again to undo, bit
   * for bit): validation and saving run between two swaps.
   */
  swap(): void {
    const a = this.values;
    const p = this.params.data;
    for (let i = 0; i < a.length; i++) {
      const t = p[i];
      p[i] = a[i];
      a[i] = t;
    }
    this.swapped = !this.swapped;
    this.params.changed();
  }
}
