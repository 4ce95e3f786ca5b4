import type { FloatArray } from '../kernels.js';

export function embeddingForward(out: FloatArray, table: FloatArray, ids: Int32Array, n: number, dim: number): void {
  for (let i = 0; i < n; i++) for (let j = 0; j < dim; j++) out[i * dim + j] = table[ids[i] * dim + j];
}

export function embeddingBackward(dTable: FloatArray, dOut: FloatArray, ids: Int32Array, n: number, dim: number): void {
  for (let i = 0; i < n; i++) for (let j = 0; j < dim; j++) dTable[ids[i] * dim + j] += dOut[i * dim + j];
}
