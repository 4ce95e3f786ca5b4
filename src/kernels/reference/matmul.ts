import type { FloatArray } from '../kernels.js';

/** C[M, N] (+)= op(A) · op(B); see Kernels.matmul. Plain loops: the specification, not the fast path. */
export function matmul(
  c: FloatArray,
  a: FloatArray,
  b: FloatArray,
  M: number,
  N: number,
  K: number,
  transA: boolean,
  transB: boolean,
  accumulate: boolean,
): void {
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let s = 0;
      for (let k = 0; k < K; k++) {
        const aik = transA ? a[k * M + i] : a[i * K + k];
        const bkj = transB ? b[j * K + k] : b[k * N + j];
        s += aik * bkj;
      }
      c[i * N + j] = accumulate ? c[i * N + j] + s : s;
    }
  }
}

export function addBias(y: FloatArray, bias: FloatArray, rows: number, cols: number): void {
  for (let r = 0; r < rows; r++) for (let j = 0; j < cols; j++) y[r * cols + j] += bias[j];
}

export function sumRows(dbias: FloatArray, dy: FloatArray, rows: number, cols: number): void {
  for (let r = 0; r < rows; r++) for (let j = 0; j < cols; j++) dbias[j] += dy[r * cols + j];
}
