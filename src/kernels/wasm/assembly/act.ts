// The forward cell updates of 1..4 hidden units from their pre-activations: the
// formulas of src/kernels/reference/{lstm,gru,rnn}.ts, written once for the
// chunk forward (cells.ts) and the inference step (step.ts), as native's
// act_avx2.c is for its engine. `gates` is where the gate activations go for a
// backward pass (0: nowhere, and the inlined stores fold away); H4 is the byte
// distance between gates; n the units (1..4) to store.

import { fmadd, splat, st, vsigmoid, vtanh } from './vec';

/** LSTM: i f g o from their pre-activations; c_t = f c_{t-1} + i g to c, h_t = o tanh(c_t) to h. */
// @ts-ignore: decorator
@inline export function lstmUnits(pi: v128, pf: v128, pg: v128, po: v128, cPrev: v128,
  gates: usize, H4: usize, c: usize, h: usize, n: i32): void {
  const iv = vsigmoid(pi), fv = vsigmoid(pf), gv = vtanh(pg), ov = vsigmoid(po);
  if (gates != 0) {
    st(gates, iv, n);
    st(gates + H4, fv, n);
    st(gates + 2 * H4, gv, n);
    st(gates + 3 * H4, ov, n);
  }
  const cv = fmadd(fv, cPrev, f32x4.mul(iv, gv));
  st(c, cv, n);
  st(h, f32x4.mul(ov, vtanh(cv)), n);
}

/**
 * GRU: r = sigmoid(rx + rh), z = sigmoid(zx + zh), n = tanh(nx + r hn) from the
 * input side (x W^T + b_ih) and the recurrent side (h W^T + b_hh; hn is its n
 * part); h_t = (1 - z) n + z h_{t-1} to h.
 */
// @ts-ignore: decorator
@inline export function gruUnits(rx: v128, zx: v128, nx: v128, rh: v128, zh: v128, hn: v128, hPrev: v128,
  gates: usize, H4: usize, h: usize, n: i32): void {
  const rg = vsigmoid(f32x4.add(rx, rh));
  const zg = vsigmoid(f32x4.add(zx, zh));
  const ng = vtanh(fmadd(rg, hn, nx));
  if (gates != 0) {
    st(gates, rg, n);
    st(gates + H4, zg, n);
    st(gates + 2 * H4, ng, n);
  }
  st(h, fmadd(zg, hPrev, f32x4.mul(f32x4.sub(splat(1), zg), ng)), n);
}

/** tanh-RNN: h_t = tanh(pre) to h (and to gates, where the backward pass reads it). */
// @ts-ignore: decorator
@inline export function rnnUnits(pre: v128, gates: usize, h: usize, n: i32): void {
  const v = vtanh(pre);
  if (gates != 0) st(gates, v, n);
  st(h, v, n);
}
