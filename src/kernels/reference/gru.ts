import type { CellBackwardArgs, CellForwardArgs, FloatArray } from '../kernels.js';
import { sigmoid } from './activations.js';
import { recurrentWeightGradients, type RecurrenceArgs } from './lstm.js';
import { addBias, matmul } from './matmul.js';

// GRU as PyTorch's nn.GRU, gates r z n:
//   r = σ(W_ir x + b_ir + W_hr h + b_hr)
//   z = σ(W_iz x + b_iz + W_hz h + b_hz)
//   n = tanh(W_in x + b_in + r (W_hn h + b_hn))
//   h' = (1 - z) n + z h

export function gruForward<F extends FloatArray>(args: CellForwardArgs<F>): void {
  const { shape, weights, x, act } = args;
  const { T, B, I, H } = shape;
  matmul(act.gates, x, weights.wih, T * B, 3 * H, I, false, true, false);
  addBias(act.gates, weights.bih, T * B, 3 * H);
  gruRecurrence(args);
}

/** The recurrence of gruForward, from act.gates already holding the input projections x W_ih^T + b_ih. */
export function gruRecurrence<F extends FloatArray>({ shape, weights, h0, act }: RecurrenceArgs<F>): void {
  const { T, B, H } = shape;
  const G = 3 * H;
  const { gates, aux: hn, h } = act; // gates [T, B, 3H]; hn [T, B, H] = W_hn h + b_hn
  const hh = new Float64Array(B * G); // recurrent projections of one step (reference only: clarity over allocation)
  for (let t = 0; t < T; t++) {
    const hPrev = t === 0 ? h0 : h.subarray((t - 1) * B * H, t * B * H);
    matmul(hh, hPrev, weights.whh, B, G, H, false, true, false);
    addBias(hh, weights.bhh, B, G);
    for (let b = 0; b < B; b++) {
      for (let j = 0; j < H; j++) {
        const r = t * B * G + b * G;
        const q = b * G;
        const s = t * B * H + b * H + j;
        const rg = sigmoid(gates[r + j] + hh[q + j]);
        const zg = sigmoid(gates[r + H + j] + hh[q + H + j]);
        const hnj = hh[q + 2 * H + j];
        const ng = Math.tanh(gates[r + 2 * H + j] + rg * hnj);
        gates[r + j] = rg;
        gates[r + H + j] = zg;
        gates[r + 2 * H + j] = ng;
        hn[s] = hnj;
        h[s] = (1 - zg) * ng + zg * hPrev[b * H + j];
      }
    }
  }
}

export function gruBackward<F extends FloatArray>(args: CellBackwardArgs<F>): void {
  const { shape, weights, h0, act, dh, dhT, dh0, scratch } = args;
  const { T, B, H } = shape;
  const G = 3 * H;
  const { gates, aux: hn, h } = act;
  const { dgates: dgx, dgatesHidden: dgh, dhNext } = scratch; // [T, B, 3H] each; dhNext [B, H]
  const dhDirect = new Float64Array(B * H); // reference only
  for (let k = 0; k < B * H; k++) dhNext[k] = dhT ? dhT[k] : 0;
  for (let t = T - 1; t >= 0; t--) {
    const hPrev = t === 0 ? h0 : h.subarray((t - 1) * B * H, t * B * H);
    for (let b = 0; b < B; b++) {
      for (let j = 0; j < H; j++) {
        const s = t * B * H + b * H + j;
        const r = t * B * G + b * G;
        const rg = gates[r + j],
          zg = gates[r + H + j],
          ng = gates[r + 2 * H + j];
        const dht = dh[s] + dhNext[b * H + j];
        const dn = dht * (1 - zg) * (1 - ng * ng);
        const dz = dht * (hPrev[b * H + j] - ng) * zg * (1 - zg);
        const dr = dn * hn[s] * rg * (1 - rg);
        dgx[r + j] = dr;
        dgx[r + H + j] = dz;
        dgx[r + 2 * H + j] = dn;
        dgh[r + j] = dr;
        dgh[r + H + j] = dz;
        dgh[r + 2 * H + j] = dn * rg;
        dhDirect[b * H + j] = dht * zg;
      }
    }
    matmul(dhNext, dgh.subarray(t * B * G, (t + 1) * B * G), weights.whh, B, H, G, false, false, false);
    for (let k = 0; k < B * H; k++) dhNext[k] += dhDirect[k];
  }
  if (dh0) dh0.set(dhNext);
  recurrentWeightGradients(args, dgx, dgh);
}
