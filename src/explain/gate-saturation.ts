// How often each sigmoid gate is shut (< 0.1) or open (> 0.9): Karpathy,
// Johnson and Fei-Fei (2015), figure 3. A gate that is right-saturated most of
// the time (a forget gate near 1) keeps information for long; one that is
// never saturated acts moment to moment.
import type { CellType } from '../kernels/kernels.js';
import type { GateSaturation } from './explanation.js';

/** The sigmoid gates of each cell, at their place in the gates row [G*H] (an LSTM's g and a GRU's n are tanh, not gates). */
export const SIGMOID_GATES: Record<CellType, { name: string; index: number }[]> = {
  lstm: [
    { name: 'input', index: 0 },
    { name: 'forget', index: 1 },
    { name: 'output', index: 3 },
  ],
  gru: [
    { name: 'reset', index: 0 },
    { name: 'update', index: 1 },
  ],
  rnn: [],
};

/** Counts of saturated gates of one layer, position by position. */
export class SaturationCounter {
  private readonly left: Uint32Array; // [gates, H]
  private readonly right: Uint32Array; // [gates, H]
  private count = 0;

  constructor(
    private readonly cell: CellType,
    private readonly layer: number,
    private readonly hidden: number,
  ) {
    const n = SIGMOID_GATES[cell].length * hidden;
    this.left = new Uint32Array(n);
    this.right = new Uint32Array(n);
  }

  /** Adds one position's gates row: [G*H] in the cell's gate order. */
  add(gates: ArrayLike<number>, offset = 0): void {
    const H = this.hidden;
    SIGMOID_GATES[this.cell].forEach((gate, g) => {
      const from = offset + gate.index * H;
      for (let u = 0; u < H; u++) {
        const v = gates[from + u];
        if (v < 0.1) this.left[g * H + u]++;
        else if (v > 0.9) this.right[g * H + u]++;
      }
    });
    this.count++;
  }

  /** The fractions per gate and unit. */
  result(): GateSaturation[] {
    const H = this.hidden;
    const n = Math.max(1, this.count);
    return SIGMOID_GATES[this.cell].flatMap((gate, g) =>
      Array.from({ length: H }, (_, u) => ({
        layer: this.layer,
        gate: gate.name,
        unit: u,
        left: this.left[g * H + u] / n,
        right: this.right[g * H + u] / n,
      })),
    );
  }
}
