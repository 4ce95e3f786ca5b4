// LSTM, GRU and tanh-RNN layers over a chunk of T steps, forward and backward,
// exactly the reference's algorithm (src/kernels/reference/{lstm,gru,rnn}.ts):
// input projections for all steps as one product, the recurrence step by step,
// weight gradients as products after the loop. Pointers are byte offsets into
// memory; 0 stands for a null buffer. W_hh is packed once per chunk into the
// workspace `ws` and reused by every step.

import { addVectors, sumRows, sumRowsTwice } from './elementwise';
import { gemm, matmulPacked, packedSize, packN, packT } from './gemm';
import { fmadd, ld, splat, st, vsigmoid, vtanh } from './vec';

// @ts-ignore: decorator
@inline function bytes(n: i32): usize {
  return <usize>n << 2;
}

// @ts-ignore: decorator
@inline function oneMinus(v: v128): v128 {
  return f32x4.sub(splat(1), v);
}

/** Copies n floats from src, or zeroes them when src is null. */
function copyOrZero(dst: usize, src: usize, n: i32): void {
  if (src != 0) memory.copy(dst, src, bytes(n));
  else memory.fill(dst, 0, bytes(n));
}

/**
 * dW_ih += dgx^T x, dW_hh += dgh^T h_prev, the bias gradients the column sums,
 * dx = dgx W_ih. dgx, dgh [T, B, G]; h_prev is h0 for step 0 and h_{t-1} after.
 */
function weightGradients(T: i32, B: i32, I: i32, H: i32, G: i32, wih: usize, x: usize, h0: usize, h: usize,
  dgx: usize, dgh: usize, gWih: usize, gWhh: usize, gBih: usize, gBhh: usize, dx: usize, ws: usize): void {
  const TB = T * B;
  matmulPacked(gWih, dgx, x, G, I, TB, true, false, true, ws);
  if (dgx == dgh) sumRowsTwice(gBih, gBhh, dgx, TB, G);
  else {
    sumRows(gBih, dgx, TB, G);
    sumRows(gBhh, dgh, TB, G);
  }
  matmulPacked(gWhh, dgh, h0, G, H, B, true, false, true, ws);
  if (T > 1) matmulPacked(gWhh, dgh + bytes(B * G), h, G, H, (T - 1) * B, true, false, true, ws);
  if (dx != 0) matmulPacked(dx, dgx, wih, TB, I, G, false, false, false, ws);
}

// ---------------------------------------------------------------- LSTM, gates i f g o

export function lstmForward(T: i32, B: i32, I: i32, H: i32, wih: usize, whh: usize, bih: usize, bhh: usize,
  x: usize, h0: usize, c0: usize, gates: usize, c: usize, h: usize, ws: usize): void {
  const G = 4 * H;
  // gates [T, B, 4H] = x [T*B, I] W_ih^T; the biases join in each step's activation pass.
  matmulPacked(gates, x, wih, T * B, G, I, false, true, false, ws);
  packT(ws, whh, H, G); // W_hh^T [H, 4H]
  const bias = ws + bytes(packedSize(H, G)); // [4H] b_ih + b_hh
  addVectors(bias, bih, bhh, G);
  const H4 = bytes(H);
  const stepG = bytes(B * G), stepH = bytes(B * H);
  for (let t = 0; t < T; t++) {
    const g = gates + <usize>t * stepG; // [B, 4H]
    const hPrev = t == 0 ? h0 : h + <usize>(t - 1) * stepH; // [B, H]
    const cPrev = t == 0 ? c0 : c + <usize>(t - 1) * stepH;
    const ct = c + <usize>t * stepH, ht = h + <usize>t * stepH;
    gemm(g, hPrev, H4, 4, ws, B, G, H, true);
    for (let b = 0; b < B; b++) {
      const gr = g + bytes(b * G);
      const sr = bytes(b * H);
      for (let j = 0; j < H; j += 4) {
        const n = min(4, H - j);
        const o = bytes(j);
        const iv = vsigmoid(f32x4.add(ld(gr + o, n), ld(bias + o, n)));
        const fv = vsigmoid(f32x4.add(ld(gr + H4 + o, n), ld(bias + H4 + o, n)));
        const gv = vtanh(f32x4.add(ld(gr + 2 * H4 + o, n), ld(bias + 2 * H4 + o, n)));
        const ov = vsigmoid(f32x4.add(ld(gr + 3 * H4 + o, n), ld(bias + 3 * H4 + o, n)));
        st(gr + o, iv, n);
        st(gr + H4 + o, fv, n);
        st(gr + 2 * H4 + o, gv, n);
        st(gr + 3 * H4 + o, ov, n);
        const cv = fmadd(fv, ld(cPrev + sr + o, n), f32x4.mul(iv, gv));
        st(ct + sr + o, cv, n);
        st(ht + sr + o, f32x4.mul(ov, vtanh(cv)), n);
      }
    }
  }
}

export function lstmBackward(T: i32, B: i32, I: i32, H: i32, wih: usize, whh: usize,
  x: usize, h0: usize, c0: usize, gates: usize, c: usize, h: usize,
  dh: usize, dhT: usize, dcT: usize, gWih: usize, gWhh: usize, gBih: usize, gBhh: usize,
  dx: usize, dh0: usize, dc0: usize, dgates: usize, dgatesHidden: usize, dhNext: usize, dcNext: usize, ws: usize): void {
  const G = 4 * H;
  copyOrZero(dhNext, dhT, B * H);
  copyOrZero(dcNext, dcT, B * H);
  packN(ws, whh, G, H); // W_hh [4H, H]
  const H4 = bytes(H);
  const stepG = bytes(B * G), stepH = bytes(B * H);
  for (let t = T - 1; t >= 0; t--) {
    const cPrev = t == 0 ? c0 : c + <usize>(t - 1) * stepH;
    for (let b = 0; b < B; b++) {
      const gr = gates + <usize>t * stepG + bytes(b * G); // row of [T, B, 4H]
      const dr = dgates + <usize>t * stepG + bytes(b * G);
      const sr = bytes(b * H); // row of [B, H]
      const s = <usize>t * stepH + sr; // row of [T, B, H]
      for (let j = 0; j < H; j += 4) {
        const n = min(4, H - j);
        const o = bytes(j);
        const ig = ld(gr + o, n), fg = ld(gr + H4 + o, n), gg = ld(gr + 2 * H4 + o, n), og = ld(gr + 3 * H4 + o, n);
        const tc = vtanh(ld(c + s + o, n));
        const dht = f32x4.add(ld(dh + s + o, n), ld(dhNext + sr + o, n));
        const dct = fmadd(f32x4.mul(dht, og), oneMinus(f32x4.mul(tc, tc)), ld(dcNext + sr + o, n));
        st(dr + o, f32x4.mul(f32x4.mul(dct, gg), f32x4.mul(ig, oneMinus(ig))), n);
        st(dr + H4 + o, f32x4.mul(f32x4.mul(dct, ld(cPrev + sr + o, n)), f32x4.mul(fg, oneMinus(fg))), n);
        st(dr + 2 * H4 + o, f32x4.mul(f32x4.mul(dct, ig), oneMinus(f32x4.mul(gg, gg))), n);
        st(dr + 3 * H4 + o, f32x4.mul(f32x4.mul(dht, tc), f32x4.mul(og, oneMinus(og))), n);
        st(dcNext + sr + o, f32x4.mul(dct, fg), n);
      }
    }
    // dh_{t-1} = dgates_t [B, 4H] W_hh [4H, H]
    gemm(dhNext, dgates + <usize>t * stepG, bytes(G), 4, ws, B, H, G, false);
  }
  if (dh0 != 0) memory.copy(dh0, dhNext, bytes(B * H));
  if (dc0 != 0) memory.copy(dc0, dcNext, bytes(B * H));
  weightGradients(T, B, I, H, G, wih, x, h0, h, dgates, dgates, gWih, gWhh, gBih, gBhh, dx, ws);
}

// ---------------------------------------------------------------- GRU, gates r z n

export function gruForward(T: i32, B: i32, I: i32, H: i32, wih: usize, whh: usize, bih: usize, bhh: usize,
  x: usize, h0: usize, c0: usize, gates: usize, hn: usize, h: usize, ws: usize): void {
  const G = 3 * H;
  // gates [T, B, 3H] = x W_ih^T; b_ih joins in each step's activation pass, b_hh
  // belongs to the recurrent part (r scales W_hn h + b_hn).
  matmulPacked(gates, x, wih, T * B, G, I, false, true, false, ws);
  packT(ws, whh, H, G); // W_hh^T [H, 3H]
  const hh = ws + bytes(packedSize(H, G)); // [B, 3H]: h_{t-1} W_hh^T of one step
  const H4 = bytes(H);
  const stepG = bytes(B * G), stepH = bytes(B * H);
  for (let t = 0; t < T; t++) {
    const hPrev = t == 0 ? h0 : h + <usize>(t - 1) * stepH;
    gemm(hh, hPrev, H4, 4, ws, B, G, H, false);
    for (let b = 0; b < B; b++) {
      const gr = gates + <usize>t * stepG + bytes(b * G);
      const q = hh + bytes(b * G);
      const sr = bytes(b * H);
      const s = <usize>t * stepH + sr;
      for (let j = 0; j < H; j += 4) {
        const n = min(4, H - j);
        const o = bytes(j);
        const rx = f32x4.add(ld(gr + o, n), ld(bih + o, n));
        const zx = f32x4.add(ld(gr + H4 + o, n), ld(bih + H4 + o, n));
        const nx = f32x4.add(ld(gr + 2 * H4 + o, n), ld(bih + 2 * H4 + o, n));
        const rg = vsigmoid(f32x4.add(rx, f32x4.add(ld(q + o, n), ld(bhh + o, n))));
        const zg = vsigmoid(f32x4.add(zx, f32x4.add(ld(q + H4 + o, n), ld(bhh + H4 + o, n))));
        const hnv = f32x4.add(ld(q + 2 * H4 + o, n), ld(bhh + 2 * H4 + o, n));
        const ng = vtanh(fmadd(rg, hnv, nx));
        st(gr + o, rg, n);
        st(gr + H4 + o, zg, n);
        st(gr + 2 * H4 + o, ng, n);
        st(hn + s + o, hnv, n);
        // (1 - z) n + z h_prev
        st(h + s + o, fmadd(zg, ld(hPrev + sr + o, n), f32x4.mul(oneMinus(zg), ng)), n);
      }
    }
  }
}

export function gruBackward(T: i32, B: i32, I: i32, H: i32, wih: usize, whh: usize,
  x: usize, h0: usize, c0: usize, gates: usize, hn: usize, h: usize,
  dh: usize, dhT: usize, dcT: usize, gWih: usize, gWhh: usize, gBih: usize, gBhh: usize,
  dx: usize, dh0: usize, dc0: usize, dgx: usize, dgh: usize, dhNext: usize, dcNext: usize, ws: usize): void {
  const G = 3 * H;
  copyOrZero(dhNext, dhT, B * H);
  packN(ws, whh, G, H); // W_hh [3H, H]
  const H4 = bytes(H);
  const stepG = bytes(B * G), stepH = bytes(B * H);
  for (let t = T - 1; t >= 0; t--) {
    const hPrev = t == 0 ? h0 : h + <usize>(t - 1) * stepH;
    for (let b = 0; b < B; b++) {
      const row = <usize>t * stepG + bytes(b * G);
      const gr = gates + row, xr = dgx + row, hr = dgh + row;
      const sr = bytes(b * H);
      const s = <usize>t * stepH + sr;
      for (let j = 0; j < H; j += 4) {
        const n = min(4, H - j);
        const o = bytes(j);
        const rg = ld(gr + o, n), zg = ld(gr + H4 + o, n), ng = ld(gr + 2 * H4 + o, n);
        const dht = f32x4.add(ld(dh + s + o, n), ld(dhNext + sr + o, n));
        const dn = f32x4.mul(f32x4.mul(dht, oneMinus(zg)), oneMinus(f32x4.mul(ng, ng)));
        const dz = f32x4.mul(f32x4.mul(dht, f32x4.sub(ld(hPrev + sr + o, n), ng)), f32x4.mul(zg, oneMinus(zg)));
        const dr = f32x4.mul(f32x4.mul(dn, ld(hn + s + o, n)), f32x4.mul(rg, oneMinus(rg)));
        st(xr + o, dr, n);
        st(xr + H4 + o, dz, n);
        st(xr + 2 * H4 + o, dn, n);
        st(hr + o, dr, n);
        st(hr + H4 + o, dz, n);
        st(hr + 2 * H4 + o, f32x4.mul(dn, rg), n);
        // The direct path z dh; the product below adds the path through the gates.
        st(dhNext + sr + o, f32x4.mul(dht, zg), n);
      }
    }
    gemm(dhNext, dgh + <usize>t * stepG, bytes(G), 4, ws, B, H, G, true);
  }
  if (dh0 != 0) memory.copy(dh0, dhNext, bytes(B * H));
  weightGradients(T, B, I, H, G, wih, x, h0, h, dgx, dgh, gWih, gWhh, gBih, gBhh, dx, ws);
}

// ---------------------------------------------------------------- tanh RNN

export function rnnForward(T: i32, B: i32, I: i32, H: i32, wih: usize, whh: usize, bih: usize, bhh: usize,
  x: usize, h0: usize, c0: usize, gates: usize, aux: usize, h: usize, ws: usize): void {
  // gates [T, B, H] = x W_ih^T, then per step + h W_hh^T + b_ih + b_hh and the activation in place
  matmulPacked(gates, x, wih, T * B, H, I, false, true, false, ws);
  packT(ws, whh, H, H); // W_hh^T [H, H]
  const bias = ws + bytes(packedSize(H, H)); // [H] b_ih + b_hh
  addVectors(bias, bih, bhh, H);
  const stepH = bytes(B * H);
  const BH = B * H;
  for (let t = 0; t < T; t++) {
    const g = gates + <usize>t * stepH;
    const hPrev = t == 0 ? h0 : h + <usize>(t - 1) * stepH;
    const ht = h + <usize>t * stepH;
    gemm(g, hPrev, bytes(H), 4, ws, B, H, H, true);
    for (let b = 0; b < B; b++) {
      const row = bytes(b * H);
      for (let j = 0; j < H; j += 4) {
        const n = min(4, H - j);
        const o = row + bytes(j);
        const v = vtanh(f32x4.add(ld(g + o, n), ld(bias + bytes(j), n)));
        st(g + o, v, n);
        st(ht + o, v, n);
      }
    }
  }
}

export function rnnBackward(T: i32, B: i32, I: i32, H: i32, wih: usize, whh: usize,
  x: usize, h0: usize, c0: usize, gates: usize, aux: usize, h: usize,
  dh: usize, dhT: usize, dcT: usize, gWih: usize, gWhh: usize, gBih: usize, gBhh: usize,
  dx: usize, dh0: usize, dc0: usize, dgates: usize, dgatesHidden: usize, dhNext: usize, dcNext: usize, ws: usize): void {
  const BH = B * H;
  copyOrZero(dhNext, dhT, BH);
  packN(ws, whh, H, H); // W_hh [H, H]
  const stepH = bytes(BH);
  for (let t = T - 1; t >= 0; t--) {
    const base = <usize>t * stepH;
    for (let k = 0; k < BH; k += 4) {
      const n = min(4, BH - k);
      const o = bytes(k);
      const hv = ld(h + base + o, n);
      const d = f32x4.add(ld(dh + base + o, n), ld(dhNext + o, n));
      st(dgates + base + o, f32x4.mul(d, oneMinus(f32x4.mul(hv, hv))), n);
    }
    gemm(dhNext, dgates + base, bytes(H), 4, ws, B, H, H, false);
  }
  if (dh0 != 0) memory.copy(dh0, dhNext, bytes(BH));
  weightGradients(T, B, I, H, H, wih, x, h0, h, dgates, dgates, gWih, gWhh, gBih, gBhh, dx, ws);
}
