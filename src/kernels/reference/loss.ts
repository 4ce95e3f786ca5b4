import type { FloatArray } from '../kernels.js';

/** Softmax cross-entropy; see Kernels.softmaxCrossEntropy (a negative target is ignored). Max-shifted for stability. */
export function softmaxCrossEntropy(
  logits: FloatArray,
  targets: Int32Array,
  rows: number,
  V: number,
  dLogits: FloatArray | null,
  gradScale: number,
): number {
  let loss = 0;
  for (let r = 0; r < rows; r++) {
    const o = r * V;
    if (targets[r] < 0) {
      if (dLogits) dLogits.fill(0, o, o + V);
      continue;
    }
    let max = -Infinity;
    for (let j = 0; j < V; j++) if (logits[o + j] > max) max = logits[o + j];
    let sum = 0;
    for (let j = 0; j < V; j++) sum += Math.exp(logits[o + j] - max);
    const logSum = Math.log(sum) + max;
    loss += logSum - logits[o + targets[r]];
    if (dLogits) {
      for (let j = 0; j < V; j++) dLogits[o + j] = Math.exp(logits[o + j] - logSum) * gradScale;
      dLogits[o + targets[r]] -= gradScale;
    }
  }
  return loss;
}
