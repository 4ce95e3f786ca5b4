import type { FloatArray, Kernels } from '../kernels/kernels.js';

/** Lookup table from character id to vector: nn.Embedding. */
export class Embedding<F extends FloatArray> {
  constructor(
    private readonly kernels: Kernels<F>,
    private readonly table: F, // [V, E]
    private readonly dTable: F, // [V, E]
    readonly dim: number,
  ) {}

  /** out [n, E] = table[ids] */
  forward(out: F, ids: Int32Array, n: number): void {
    this.kernels.embeddingForward(out, this.table, ids, n, this.dim);
  }

  /** dTable[ids] += dOut */
  backward(dOut: F, ids: Int32Array, n: number): void {
    this.kernels.embeddingBackward(this.dTable, dOut, ids, n, this.dim);
  }
}
