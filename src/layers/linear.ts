import type { FloatArray, Kernels } from '../kernels/kernels.js';

/** y = x W^T + b: nn.Linear. */
export class Linear<F extends FloatArray> {
  constructor(
    private readonly kernels: Kernels<F>,
    private readonly weight: F, // [out, in]
    private readonly bias: F, // [out]
    private readonly dWeight: F,
    private readonly dBias: F,
    readonly inFeatures: number,
    readonly outFeatures: number,
  ) {}

  /** y [rows, out] = x [rows, in] W^T + b */
  forward(y: F, x: F, rows: number): void {
    this.kernels.matmul(y, x, this.weight, rows, this.outFeatures, this.inFeatures, false, true, false);
    this.kernels.addBias(y, this.bias, rows, this.outFeatures);
  }

  /** dW += dy^T x, db += column sums of dy, dx = dy W. */
  backward(dy: F, x: F, rows: number, dx: F): void {
    const k = this.kernels;
    k.matmul(this.dWeight, dy, x, this.outFeatures, this.inFeatures, rows, true, false, true);
    k.sumRows(this.dBias, dy, rows, this.outFeatures);
    k.matmul(dx, dy, this.weight, rows, this.inFeatures, this.outFeatures, false, false, false);
  }
}
