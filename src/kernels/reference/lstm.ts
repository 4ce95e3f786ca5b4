import { GATES, type CellBackwardArgs, type CellForwardArgs, type FloatArray } from '../kernels.js';
import { sigmoid } from './activations.js';
import { addBias, matmul, sumRows } from './matmul.js';

/** A cell's forward arguments minus the input: its recurrence starts from projections already in act.gates. */
export type RecurrenceArgs<F extends FloatArray> = Omit<CellForwardArgs<F>, 'x'>;

// LSTM as PyTorch's nn.LSTM, gates i f g o:
//   [i f g o] = x W_ih^T + b_ih + h W_hh^T + b_hh  (then sigmoid, sigmoid, tanh, sigmoid)
//   c' = f c + i g,   h' = o tanh(c')

export function lstmForward<F extends FloatArray>(args: CellForwardArgs<F>): void {
  const { shape, weights, x, act } = args;
  const { T, B, I, H } = shape;
  // Input projections for all steps at once.
  matmul(act.gates, x, weights.wih, T * B, 4 * H, I, false, true, false);
  addBias(act.gates, weights.bih, T * B, 4 * H);
  lstmRecurrence(args);
}

/** The recurrence of lstmForward, from act.gates already holding the input projections x W_ih^T + b_ih. */
export function lstmRecurrence<F extends FloatArray>({ shape, weights, h0, c0, act }: RecurrenceArgs<F>): void {
  const { T, B, H } = shape;
  const G = 4 * H;
  const { gates, aux: c, h } = act; // gates [T, B, 4H], c [T, B, H], h [T, B, H]
  for (let t = 0; t < T; t++) {
    const g = gates.subarray(t * B * G, (t + 1) * B * G);
    const hPrev = t === 0 ? h0 : h.subarray((t - 1) * B * H, t * B * H);
    const cPrev = t === 0 ? c0! : c.subarray((t - 1) * B * H, t * B * H);
    matmul(g, hPrev, weights.whh, B, G, H, false, true, true);
    addBias(g, weights.bhh, B, G);
    for (let b = 0; b < B; b++) {
      for (let j = 0; j < H; j++) {
        const r = b * G;
        const ig = sigmoid(g[r + j]);
        const fg = sigmoid(g[r + H + j]);
        const gg = Math.tanh(g[r + 2 * H + j]);
        const og = sigmoid(g[r + 3 * H + j]);
        g[r + j] = ig;
        g[r + H + j] = fg;
        g[r + 2 * H + j] = gg;
        g[r + 3 * H + j] = og;
        const ct = fg * cPrev[b * H + j] + ig * gg;
        c[t * B * H + b * H + j] = ct;
        h[t * B * H + b * H + j] = og * Math.tanh(ct);
      }
    }
  }
}

export function lstmBackward<F extends FloatArray>(args: CellBackwardArgs<F>): void {
  const { shape, weights, c0, act, dh, dhT, dcT, dh0, dc0, scratch } = args;
  const { T, B, H } = shape;
  const G = 4 * H;
  const { gates, aux: c } = act;
  const { dgates, dhNext, dcNext } = scratch; // dgates [T, B, 4H]; dhNext, dcNext [B, H]
  for (let k = 0; k < B * H; k++) {
    dhNext[k] = dhT ? dhT[k] : 0;
    dcNext[k] = dcT ? dcT[k] : 0;
  }
  for (let t = T - 1; t >= 0; t--) {
    const cPrev = t === 0 ? c0! : c.subarray((t - 1) * B * H, t * B * H);
    for (let b = 0; b < B; b++) {
      for (let j = 0; j < H; j++) {
        const s = t * B * H + b * H + j; // index into [T, B, H]
        const r = t * B * G + b * G; // row start in [T, B, 4H]
        const ig = gates[r + j],
          fg = gates[r + H + j],
          gg = gates[r + 2 * H + j],
          og = gates[r + 3 * H + j];
        const tc = Math.tanh(c[s]);
        const dht = dh[s] + dhNext[b * H + j];
        const dct = dcNext[b * H + j] + dht * og * (1 - tc * tc);
        dgates[r + j] = dct * gg * ig * (1 - ig);
        dgates[r + H + j] = dct * cPrev[b * H + j] * fg * (1 - fg);
        dgates[r + 2 * H + j] = dct * ig * (1 - gg * gg);
        dgates[r + 3 * H + j] = dht * tc * og * (1 - og);
        dcNext[b * H + j] = dct * fg;
      }
    }
    // dh_{t-1} = dgates_t · W_hh  ([B, 4H] x [4H, H])
    matmul(dhNext, dgates.subarray(t * B * G, (t + 1) * B * G), weights.whh, B, H, G, false, false, false);
  }
  if (dh0) dh0.set(dhNext);
  if (dc0) dc0.set(dcNext);
  recurrentWeightGradients(args, dgates, dgates);
}

/**
 * The weight gradients every cell shares once the pre-activation gradients are
 * known: dW_ih += dgx^T x, dW_hh += dgh^T h_prev, biases the column sums, dx = dgx W_ih.
 */
export function recurrentWeightGradients<F extends FloatArray>(args: CellBackwardArgs<F>, dgx: F, dgh: F): void {
  const { shape, weights, x, h0, act, grads, dx } = args;
  const { T, B, I, H } = shape;
  const G = GATES[shape.cell] * H;
  matmul(grads.wih, dgx, x, G, I, T * B, true, false, true);
  sumRows(grads.bih, dgx, T * B, G);
  sumRows(grads.bhh, dgh, T * B, G);
  // h_prev is h0 for the first step and h_{t-1} after it: two products, no copy.
  matmul(grads.whh, dgh.subarray(0, B * G), h0, G, H, B, true, false, true);
  if (T > 1) matmul(grads.whh, dgh.subarray(B * G), act.h.subarray(0, (T - 1) * B * H), G, H, (T - 1) * B, true, false, true);
  if (dx) matmul(dx, dgx, weights.wih, T * B, I, G, false, false, false);
}
