/**
 * An exponential moving average of the training loss, bias-corrected so the
 * first steps are not pulled towards zero (as Adam corrects its moments): what a
 * display and a plot show, since one chunk's loss is noisy.
 */
export class SmoothedLoss {
  private average: number;
  private weight: number;

  /** @param resumed the state a resumed run had reached (`state`), or null for a new run */
  constructor(
    resumed: SmoothedLossState | null,
    private readonly decay = 0.98,
  ) {
    this.average = resumed?.average ?? 0;
    this.weight = resumed?.weight ?? 0;
  }

  /** What a checkpoint keeps, so a resumed run smooths exactly as if it had never stopped. */
  get state(): SmoothedLossState {
    return { average: this.average, weight: this.weight };
  }

  /** Adds one step's loss; returns the smoothed value. */
  add(loss: number): number {
    this.average = this.decay * this.average + (1 - this.decay) * loss;
    this.weight = this.decay * this.weight + (1 - this.decay);
    return this.value!;
  }

  /** The smoothed loss, or null before the first step. */
  get value(): number | null {
    return this.weight > 0 ? this.average / this.weight : null;
  }
}

export interface SmoothedLossState {
  average: number;
  weight: number;
}
