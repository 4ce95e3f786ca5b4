import type { CellBackwardArgs, CellForwardArgs, FloatArray } from '../kernels.js';
import { recurrentWeightGradients, type RecurrenceArgs } from './lstm.js';
import { addBias, matmul } from './matmul.js';

// Elman RNN as PyTorch's nn.RNN (tanh): h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh)

export function rnnForward<F extends FloatArray>(args: CellForwardArgs<F>): void {
  const { shape, weights, x, act } = args;
  const { T, B, I, H } = shape;
  matmul(act.gates, x, weights.wih, T * B, H, I, false, true, false);
  addBias(act.gates, weights.bih, T * B, H);
  rnnRecurrence(args);
}

/** The recurrence of rnnForward, from act.gates already holding the input projections x W_ih^T + b_ih. */
export function rnnRecurrence<F extends FloatArray>({ shape, weights, h0, act }: RecurrenceArgs<F>): void {
  const { T, B, H } = shape;
  const { gates, h } = act; // gates [T, B, H] hold h_t too: the activation is the output
  for (let t = 0; t < T; t++) {
    const g = gates.subarray(t * B * H, (t + 1) * B * H);
    const hPrev = t === 0 ? h0 : h.subarray((t - 1) * B * H, t * B * H);
    matmul(g, hPrev, weights.whh, B, H, H, false, true, true);
    addBias(g, weights.bhh, B, H);
    for (let k = 0; k < B * H; k++) {
      g[k] = Math.tanh(g[k]);
      h[t * B * H + k] = g[k];
    }
  }
}

export function rnnBackward<F extends FloatArray>(args: CellBackwardArgs<F>): void {
  const { shape, weights, act, dh, dhT, dh0, scratch } = args;
  const { T, B, H } = shape;
  const { dgates, dhNext } = scratch;
  for (let k = 0; k < B * H; k++) dhNext[k] = dhT ? dhT[k] : 0;
  for (let t = T - 1; t >= 0; t--) {
    for (let k = 0; k < B * H; k++) {
      const s = t * B * H + k;
      const ht = act.h[s];
      dgates[s] = (dh[s] + dhNext[k]) * (1 - ht * ht);
    }
    matmul(dhNext, dgates.subarray(t * B * H, (t + 1) * B * H), weights.whh, B, H, H, false, false, false);
  }
  if (dh0) dh0.set(dhNext);
  recurrentWeightGradients(args, dgates, dgates);
}
