// LSTM, GRU and tanh-RNN layers over a chunk of T steps, forward and backward,
// exactly the reference's algorithm (src/kernels/reference/{lstm,gru,rnn}.ts):
// input projections for all steps as one product, the recurrence step by step,
// weight gradients as products after the loop. Pointers are byte offsets into
// memory; 0 stands for a null buffer. W_hh is packed once per chunk into the
// workspace `ws` and reused by every step.
//
// The recurrence of one stream never reads another stream's rows, so the step
// functions take a range of streams [r0, r1): the single-threaded kernels run
// all of them, the threaded ones (end of file) hand out ranges of streams to
// threads with no synchronisation inside the T loop.

import { addVectors, sumRowsStrided, sumRowsTwice } from './elementwise';
import { gemm, gemmTile, matmulPacked, packBItem, packedSize, packItems, packN, packT, productTiles } from './gemm';
import { barrier, itemsOf, nextItem, threadCount } from './threads';
import { gruUnits, lstmUnits, rnnUnits } from './act';
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

/** As copyOrZero for rows [r0, r1) of [B, H] buffers (dst and src both [B, H]). */
// @ts-ignore: decorator
@inline function copyOrZeroRows(dst: usize, src: usize, H: i32, r0: i32, r1: i32): void {
  const o = bytes(r0 * H);
  copyOrZero(dst + o, src == 0 ? 0 : src + o, (r1 - r0) * H);
}

/** Copies rows [r0, r1) of a [B, H] buffer to dst unless dst is null. */
// @ts-ignore: decorator
@inline function copyRows(dst: usize, src: usize, H: i32, r0: i32, r1: i32): void {
  if (dst != 0) memory.copy(dst + bytes(r0 * H), src + bytes(r0 * H), bytes((r1 - r0) * H));
}

/**
 * dW_ih += dgx^T x, dW_hh += dgh^T h_prev, the bias gradients the column sums,
 * dx = dgx W_ih. dgx, dgh [T, B, G]; h_prev is h0 for step 0 and h_{t-1} after.
 */
function weightGradients(T: i32, B: i32, I: i32, H: i32, G: i32, wih: usize, x: usize, h0: usize, h: usize,
  dgx: usize, dgh: usize, gWih: usize, gWhh: usize, gBih: usize, gBhh: usize, dx: usize, ws: usize): void {
  const TB = T * B;
  matmulPacked(gWih, dgx, x, G, I, TB, true, false, true, ws);
  if (dgx == dgh) sumRowsTwice(gBih, gBhh, dgx, TB, G, bytes(G));
  else {
    sumRowsStrided(gBih, dgx, TB, G, bytes(G));
    sumRowsStrided(gBhh, dgh, TB, G, bytes(G));
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
  lstmSteps(T, B, H, ws, bias, h0, c0, gates, c, h, 0, B);
}

/** The forward recurrence of streams [r0, r1): gates hold x W_ih^T; pw is W_hh^T packed, bias [4H] b_ih + b_hh. */
function lstmSteps(T: i32, B: i32, H: i32, pw: usize, bias: usize, h0: usize, c0: usize, gates: usize, c: usize, h: usize, r0: i32, r1: i32): void {
  const G = 4 * H;
  const H4 = bytes(H);
  const stepG = bytes(B * G), stepH = bytes(B * H);
  const rg = bytes(r0 * G), rh = bytes(r0 * H); // the range's first row in [B, 4H] and [B, H]
  for (let t = 0; t < T; t++) {
    const g = gates + <usize>t * stepG + rg; // [r1 - r0, 4H] of [T, B, 4H]
    const hPrev = (t == 0 ? h0 : h + <usize>(t - 1) * stepH) + rh; // rows of [B, H]
    const cPrev = (t == 0 ? c0 : c + <usize>(t - 1) * stepH) + rh;
    const ct = c + <usize>t * stepH + rh, ht = h + <usize>t * stepH + rh;
    gemm(g, bytes(G), hPrev, H4, 4, pw, r1 - r0, G, H, true);
    for (let b = 0; b < r1 - r0; b++) {
      const gr = g + bytes(b * G);
      const sr = bytes(b * H);
      for (let j = 0; j < H; j += 4) {
        const n = min(4, H - j);
        const o = bytes(j);
        lstmUnits(f32x4.add(ld(gr + o, n), ld(bias + o, n)), f32x4.add(ld(gr + H4 + o, n), ld(bias + H4 + o, n)),
          f32x4.add(ld(gr + 2 * H4 + o, n), ld(bias + 2 * H4 + o, n)), f32x4.add(ld(gr + 3 * H4 + o, n), ld(bias + 3 * H4 + o, n)),
          ld(cPrev + sr + o, n), gr + o, H4, ct + sr + o, ht + sr + o, n);
      }
    }
  }
}

export function lstmBackward(T: i32, B: i32, I: i32, H: i32, wih: usize, whh: usize,
  x: usize, h0: usize, c0: usize, gates: usize, c: usize, h: usize,
  dh: usize, dhT: usize, dcT: usize, gWih: usize, gWhh: usize, gBih: usize, gBhh: usize,
  dx: usize, dh0: usize, dc0: usize, dgates: usize, dgatesHidden: usize, dhNext: usize, dcNext: usize, ws: usize): void {
  const G = 4 * H;
  packN(ws, whh, G, H, bytes(H)); // W_hh [4H, H]
  lstmBackSteps(T, B, H, ws, c0, gates, c, dh, dhT, dcT, dh0, dc0, dgates, dhNext, dcNext, 0, B);
  weightGradients(T, B, I, H, G, wih, x, h0, h, dgates, dgates, gWih, gWhh, gBih, gBhh, dx, ws);
}

/** The backward recurrence of streams [r0, r1), from dhT, dcT to dh0, dc0; pw is W_hh packed. */
function lstmBackSteps(T: i32, B: i32, H: i32, pw: usize, c0: usize, gates: usize, c: usize,
  dh: usize, dhT: usize, dcT: usize, dh0: usize, dc0: usize, dgates: usize, dhNext: usize, dcNext: usize, r0: i32, r1: i32): void {
  const G = 4 * H;
  copyOrZeroRows(dhNext, dhT, H, r0, r1);
  copyOrZeroRows(dcNext, dcT, H, r0, r1);
  const H4 = bytes(H);
  const stepG = bytes(B * G), stepH = bytes(B * H);
  for (let t = T - 1; t >= 0; t--) {
    const cPrev = t == 0 ? c0 : c + <usize>(t - 1) * stepH;
    for (let b = r0; b < r1; b++) {
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
    // dh_{t-1} = dgates_t [B, 4H] W_hh [4H, H], rows r0..r1
    gemm(dhNext + bytes(r0 * H), H4, dgates + <usize>t * stepG + bytes(r0 * G), bytes(G), 4, pw, r1 - r0, H, G, false);
  }
  copyRows(dh0, dhNext, H, r0, r1);
  copyRows(dc0, dcNext, H, r0, r1);
}

// ---------------------------------------------------------------- GRU, gates r z n

export function gruForward(T: i32, B: i32, I: i32, H: i32, wih: usize, whh: usize, bih: usize, bhh: usize,
  x: usize, h0: usize, c0: usize, gates: usize, hn: usize, h: usize, ws: usize): void {
  const G = 3 * H;
  // gates [T, B, 3H] = x W_ih^T; b_ih joins in each step's activation pass, b_hh
  // belongs to the recurrent part (r scales W_hn h + b_hn).
  matmulPacked(gates, x, wih, T * B, G, I, false, true, false, ws);
  packT(ws, whh, H, G); // W_hh^T [H, 3H]
  gruSteps(T, B, H, ws, ws + bytes(packedSize(H, G)), bih, bhh, h0, gates, hn, h, 0, B);
}

/** The forward recurrence of streams [r0, r1); pw is W_hh^T packed, hh [B, 3H] scratch for h_{t-1} W_hh^T. */
function gruSteps(T: i32, B: i32, H: i32, pw: usize, hh: usize, bih: usize, bhh: usize, h0: usize, gates: usize, hn: usize, h: usize,
  r0: i32, r1: i32): void {
  const G = 3 * H;
  const H4 = bytes(H);
  const stepG = bytes(B * G), stepH = bytes(B * H);
  for (let t = 0; t < T; t++) {
    const hPrev = t == 0 ? h0 : h + <usize>(t - 1) * stepH;
    gemm(hh + bytes(r0 * G), bytes(G), hPrev + bytes(r0 * H), H4, 4, pw, r1 - r0, G, H, false);
    for (let b = r0; b < r1; b++) {
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
        const hnv = f32x4.add(ld(q + 2 * H4 + o, n), ld(bhh + 2 * H4 + o, n));
        st(hn + s + o, hnv, n);
        gruUnits(rx, zx, nx, f32x4.add(ld(q + o, n), ld(bhh + o, n)), f32x4.add(ld(q + H4 + o, n), ld(bhh + H4 + o, n)), hnv,
          ld(hPrev + sr + o, n), gr + o, H4, h + s + o, n);
      }
    }
  }
}

export function gruBackward(T: i32, B: i32, I: i32, H: i32, wih: usize, whh: usize,
  x: usize, h0: usize, c0: usize, gates: usize, hn: usize, h: usize,
  dh: usize, dhT: usize, dcT: usize, gWih: usize, gWhh: usize, gBih: usize, gBhh: usize,
  dx: usize, dh0: usize, dc0: usize, dgx: usize, dgh: usize, dhNext: usize, dcNext: usize, ws: usize): void {
  const G = 3 * H;
  packN(ws, whh, G, H, bytes(H)); // W_hh [3H, H]
  gruBackSteps(T, B, H, ws, h0, gates, hn, h, dh, dhT, dh0, dgx, dgh, dhNext, 0, B);
  weightGradients(T, B, I, H, G, wih, x, h0, h, dgx, dgh, gWih, gWhh, gBih, gBhh, dx, ws);
}

/** The backward recurrence of streams [r0, r1); pw is W_hh packed. */
function gruBackSteps(T: i32, B: i32, H: i32, pw: usize, h0: usize, gates: usize, hn: usize, h: usize,
  dh: usize, dhT: usize, dh0: usize, dgx: usize, dgh: usize, dhNext: usize, r0: i32, r1: i32): void {
  const G = 3 * H;
  copyOrZeroRows(dhNext, dhT, H, r0, r1);
  const H4 = bytes(H);
  const stepG = bytes(B * G), stepH = bytes(B * H);
  for (let t = T - 1; t >= 0; t--) {
    const hPrev = t == 0 ? h0 : h + <usize>(t - 1) * stepH;
    for (let b = r0; b < r1; b++) {
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
    gemm(dhNext + bytes(r0 * H), H4, dgh + <usize>t * stepG + bytes(r0 * G), bytes(G), 4, pw, r1 - r0, H, G, true);
  }
  copyRows(dh0, dhNext, H, r0, r1);
}

// ---------------------------------------------------------------- tanh RNN

export function rnnForward(T: i32, B: i32, I: i32, H: i32, wih: usize, whh: usize, bih: usize, bhh: usize,
  x: usize, h0: usize, c0: usize, gates: usize, aux: usize, h: usize, ws: usize): void {
  // gates [T, B, H] = x W_ih^T, then per step + h W_hh^T + b_ih + b_hh and the activation in place
  matmulPacked(gates, x, wih, T * B, H, I, false, true, false, ws);
  packT(ws, whh, H, H); // W_hh^T [H, H]
  const bias = ws + bytes(packedSize(H, H)); // [H] b_ih + b_hh
  addVectors(bias, bih, bhh, H);
  rnnSteps(T, B, H, ws, bias, h0, gates, h, 0, B);
}

/** The forward recurrence of streams [r0, r1); pw is W_hh^T packed, bias [H] b_ih + b_hh. */
function rnnSteps(T: i32, B: i32, H: i32, pw: usize, bias: usize, h0: usize, gates: usize, h: usize, r0: i32, r1: i32): void {
  const stepH = bytes(B * H);
  const rh = bytes(r0 * H);
  for (let t = 0; t < T; t++) {
    const g = gates + <usize>t * stepH + rh;
    const hPrev = (t == 0 ? h0 : h + <usize>(t - 1) * stepH) + rh;
    const ht = h + <usize>t * stepH + rh;
    gemm(g, bytes(H), hPrev, bytes(H), 4, pw, r1 - r0, H, H, true);
    for (let b = 0; b < r1 - r0; b++) {
      const row = bytes(b * H);
      for (let j = 0; j < H; j += 4) {
        const n = min(4, H - j);
        const o = row + bytes(j);
        rnnUnits(f32x4.add(ld(g + o, n), ld(bias + bytes(j), n)), g + o, ht + o, n);
      }
    }
  }
}

export function rnnBackward(T: i32, B: i32, I: i32, H: i32, wih: usize, whh: usize,
  x: usize, h0: usize, c0: usize, gates: usize, aux: usize, h: usize,
  dh: usize, dhT: usize, dcT: usize, gWih: usize, gWhh: usize, gBih: usize, gBhh: usize,
  dx: usize, dh0: usize, dc0: usize, dgates: usize, dgatesHidden: usize, dhNext: usize, dcNext: usize, ws: usize): void {
  packN(ws, whh, H, H, bytes(H)); // W_hh [H, H]
  rnnBackSteps(T, B, H, ws, h, dh, dhT, dh0, dgates, dhNext, 0, B);
  weightGradients(T, B, I, H, H, wih, x, h0, h, dgates, dgates, gWih, gWhh, gBih, gBhh, dx, ws);
}

/** The backward recurrence of streams [r0, r1); pw is W_hh packed. */
function rnnBackSteps(T: i32, B: i32, H: i32, pw: usize, h: usize, dh: usize, dhT: usize, dh0: usize, dgates: usize, dhNext: usize,
  r0: i32, r1: i32): void {
  copyOrZeroRows(dhNext, dhT, H, r0, r1);
  const stepH = bytes(B * H);
  const rh = bytes(r0 * H);
  const n0 = (r1 - r0) * H; // the range's floats of one [B, H] step
  for (let t = T - 1; t >= 0; t--) {
    const base = <usize>t * stepH + rh;
    for (let k = 0; k < n0; k += 4) {
      const n = min(4, n0 - k);
      const o = bytes(k);
      const hv = ld(h + base + o, n);
      const d = f32x4.add(ld(dh + base + o, n), ld(dhNext + rh + o, n));
      st(dgates + base + o, f32x4.mul(d, oneMinus(f32x4.mul(hv, hv))), n);
    }
    gemm(dhNext + rh, bytes(H), dgates + base, bytes(H), 4, pw, r1 - r0, H, H, false);
  }
  copyRows(dh0, dhNext, H, r0, r1);
}

// ---------------------------------------------------------------- on several threads
//
// Every thread of a job calls the same export with the same arguments. Phases,
// separated by barriers, hand out items through counters 0, 1, 2:
//   forward:  pack W_ih^T and W_hh^T (and sum the biases) | x W_ih^T by tiles | the recurrence by stream ranges
//   backward: pack W_hh and every weight-gradient operand | the recurrence by stream ranges | weight-gradient
//             tiles, dx tiles and bias column blocks
// Every entry is computed as the single-threaded kernel computes it, so the
// results are the same bit for bit, whatever the thread count or timing. The
// workspaces hold all packed operands at once (sizes in ../index.ts).

/**
 * Recurrence items per thread: the streams are split into threadCount *
 * STREAM_ITEMS ranges of equal size (to a stream). One range per thread
 * measured fastest on 2 idle cores (2x128 LSTM, B = 50: 54.3 ms a step, against
 * 56.3 ms with 2 ranges a thread and 58.5 ms with 4): a step's product for a
 * few streams rereads the whole packed W_hh from L2, and a smaller range
 * rereads it more often. The price is that a thread which loses its core holds
 * up the others for the recurrence; every other phase is claimed in small items.
 */
const STREAM_ITEMS: i32 = 1;

/** Fewest streams in a range: a whole micro-kernel row block. */
const MIN_RANGE: i32 = 4;

/**
 * Stream ranges of a recurrence: one per thread (STREAM_ITEMS), but none under
 * MIN_RANGE streams; with more threads than that allows, the rest wait at the
 * barrier (and work in the phases before and after).
 */
// @ts-ignore: decorator
@inline function streamItems(B: i32): i32 {
  return max(1, min(threadCount * STREAM_ITEMS, B / MIN_RANGE));
}

/** First stream of range i of n (ranges differ in size by at most one stream). */
// @ts-ignore: decorator
@inline function rangeStart(i: i32, n: i32, B: i32): i32 {
  return <i32>((<i64>i * <i64>B) / <i64>n);
}

const LSTM: i32 = 0;
const GRU: i32 = 1;
const RNN: i32 = 2;

/**
 * A threaded forward: ws holds W_ih^T packed [I, G], W_hh^T packed [H, G], then
 * [G] summed biases (LSTM, RNN) or the [B, G] step scratch (GRU).
 */
function forwardThreaded(cell: i32, T: i32, B: i32, I: i32, H: i32, G: i32, wih: usize, whh: usize, bih: usize, bhh: usize,
  x: usize, h0: usize, c0: usize, gates: usize, aux: usize, h: usize, ws: usize): void {
  const pih = ws;
  const phh = pih + bytes(packedSize(I, G));
  const tail = phh + bytes(packedSize(H, G));
  const ni = packItems(G);
  const packs = 2 * ni + 1;
  for (let i = nextItem(0); i < packs; i = nextItem(0)) {
    if (i < ni) packBItem(i, pih, wih, I, G, true);
    else if (i < 2 * ni) packBItem(i - ni, phh, whh, H, G, true);
    else if (cell != GRU) addVectors(tail, bih, bhh, G);
  }
  barrier();
  const TB = T * B;
  const tiles = productTiles(TB, G);
  for (let i = nextItem(1); i < tiles; i = nextItem(1)) gemmTile(i, gates, x, bytes(I), 4, pih, TB, G, I, false);
  barrier();
  const groups = streamItems(B);
  for (let i = nextItem(2); i < groups; i = nextItem(2)) {
    const r0 = rangeStart(i, groups, B), r1 = rangeStart(i + 1, groups, B);
    if (cell == LSTM) lstmSteps(T, B, H, phh, tail, h0, c0, gates, aux, h, r0, r1);
    else if (cell == GRU) gruSteps(T, B, H, phh, tail, bih, bhh, h0, gates, aux, h, r0, r1);
    else rnnSteps(T, B, H, phh, tail, h0, gates, h, r0, r1);
  }
}

export function lstmForwardThreaded(T: i32, B: i32, I: i32, H: i32, wih: usize, whh: usize, bih: usize, bhh: usize,
  x: usize, h0: usize, c0: usize, gates: usize, c: usize, h: usize, ws: usize): void {
  forwardThreaded(LSTM, T, B, I, H, 4 * H, wih, whh, bih, bhh, x, h0, c0, gates, c, h, ws);
}

export function gruForwardThreaded(T: i32, B: i32, I: i32, H: i32, wih: usize, whh: usize, bih: usize, bhh: usize,
  x: usize, h0: usize, c0: usize, gates: usize, hn: usize, h: usize, ws: usize): void {
  forwardThreaded(GRU, T, B, I, H, 3 * H, wih, whh, bih, bhh, x, h0, c0, gates, hn, h, ws);
}

export function rnnForwardThreaded(T: i32, B: i32, I: i32, H: i32, wih: usize, whh: usize, bih: usize, bhh: usize,
  x: usize, h0: usize, c0: usize, gates: usize, aux: usize, h: usize, ws: usize): void {
  forwardThreaded(RNN, T, B, I, H, H, wih, whh, bih, bhh, x, h0, c0, gates, aux, h, ws);
}

/**
 * A threaded backward: ws holds W_hh packed [G, H], then the packed second
 * operands of the weight-gradient products: x [T*B, I], h0 [B, H],
 * h_0..h_{T-2} [(T-1)*B, H] and W_ih [G, I].
 */
function backwardThreaded(cell: i32, T: i32, B: i32, I: i32, H: i32, G: i32, wih: usize, whh: usize,
  x: usize, h0: usize, c0: usize, gates: usize, aux: usize, h: usize,
  dh: usize, dhT: usize, dcT: usize, gWih: usize, gWhh: usize, gBih: usize, gBhh: usize,
  dx: usize, dh0: usize, dc0: usize, dgx: usize, dgh: usize, dhNext: usize, dcNext: usize, ws: usize): void {
  const TB = T * B;
  const pw = ws;
  const px = pw + bytes(packedSize(G, H));
  const ph0 = px + bytes(packedSize(TB, I));
  const ph = ph0 + bytes(packedSize(B, H));
  const pwih = ph + bytes(packedSize((T - 1) * B, H));

  const nw = packItems(H), nx = packItems(I), nh = packItems(H);
  const nh1 = T > 1 ? nh : 0;
  const nwih = dx != 0 ? nx : 0;
  const packs = nw + nx + nh + nh1 + nwih;
  for (let i = nextItem(0); i < packs; i = nextItem(0)) {
    let k = i;
    if (k < nw) { packBItem(k, pw, whh, G, H, false); continue; }
    k -= nw;
    if (k < nx) { packBItem(k, px, x, TB, I, false); continue; }
    k -= nx;
    if (k < nh) { packBItem(k, ph0, h0, B, H, false); continue; }
    k -= nh;
    if (k < nh1) { packBItem(k, ph, h, (T - 1) * B, H, false); continue; }
    packBItem(k - nh1, pwih, wih, G, I, false);
  }
  barrier();

  const groups = streamItems(B);
  for (let i = nextItem(1); i < groups; i = nextItem(1)) {
    const r0 = rangeStart(i, groups, B), r1 = rangeStart(i + 1, groups, B);
    if (cell == LSTM) lstmBackSteps(T, B, H, pw, c0, gates, aux, dh, dhT, dcT, dh0, dc0, dgx, dhNext, dcNext, r0, r1);
    else if (cell == GRU) gruBackSteps(T, B, H, pw, h0, gates, aux, h, dh, dhT, dh0, dgx, dgh, dhNext, r0, r1);
    else rnnBackSteps(T, B, H, pw, h, dh, dhT, dh0, dgx, dhNext, r0, r1);
  }
  barrier();

  // The longest items first: dW_ih and dW_hh tiles (K = T*B deep), then dx, then the bias sums.
  const ti = productTiles(G, I), th = productTiles(G, H);
  const tx = dx != 0 ? productTiles(TB, I) : 0;
  const tb = itemsOf(G, 16);
  const items = ti + th + tx + tb;
  const gRow = bytes(G);
  for (let i = nextItem(2); i < items; i = nextItem(2)) {
    let k = i;
    if (k < ti) { gemmTile(k, gWih, dgx, 4, gRow, px, G, I, TB, true); continue; }
    k -= ti;
    if (k < th) {
      // dW_hh += dgh_0^T h0, then += dgh_{1..}^T h_{0..T-2}, in that order as in weightGradients.
      gemmTile(k, gWhh, dgh, 4, gRow, ph0, G, H, B, true);
      if (T > 1) gemmTile(k, gWhh, dgh + bytes(B * G), 4, gRow, ph, G, H, (T - 1) * B, true);
      continue;
    }
    k -= th;
    if (k < tx) { gemmTile(k, dx, dgx, gRow, 4, pwih, TB, I, G, false); continue; }
    k -= tx;
    const o = bytes(k * 16);
    const cols = min(16, G - k * 16);
    if (dgx == dgh) sumRowsTwice(gBih + o, gBhh + o, dgx + o, TB, cols, gRow);
    else {
      sumRowsStrided(gBih + o, dgx + o, TB, cols, gRow);
      sumRowsStrided(gBhh + o, dgh + o, TB, cols, gRow);
    }
  }
}

export function lstmBackwardThreaded(T: i32, B: i32, I: i32, H: i32, wih: usize, whh: usize,
  x: usize, h0: usize, c0: usize, gates: usize, c: usize, h: usize,
  dh: usize, dhT: usize, dcT: usize, gWih: usize, gWhh: usize, gBih: usize, gBhh: usize,
  dx: usize, dh0: usize, dc0: usize, dgates: usize, dgatesHidden: usize, dhNext: usize, dcNext: usize, ws: usize): void {
  backwardThreaded(LSTM, T, B, I, H, 4 * H, wih, whh, x, h0, c0, gates, c, h, dh, dhT, dcT, gWih, gWhh, gBih, gBhh,
    dx, dh0, dc0, dgates, dgates, dhNext, dcNext, ws);
}

export function gruBackwardThreaded(T: i32, B: i32, I: i32, H: i32, wih: usize, whh: usize,
  x: usize, h0: usize, c0: usize, gates: usize, hn: usize, h: usize,
  dh: usize, dhT: usize, dcT: usize, gWih: usize, gWhh: usize, gBih: usize, gBhh: usize,
  dx: usize, dh0: usize, dc0: usize, dgx: usize, dgh: usize, dhNext: usize, dcNext: usize, ws: usize): void {
  backwardThreaded(GRU, T, B, I, H, 3 * H, wih, whh, x, h0, c0, gates, hn, h, dh, dhT, dcT, gWih, gWhh, gBih, gBhh,
    dx, dh0, dc0, dgx, dgh, dhNext, dcNext, ws);
}

export function rnnBackwardThreaded(T: i32, B: i32, I: i32, H: i32, wih: usize, whh: usize,
  x: usize, h0: usize, c0: usize, gates: usize, aux: usize, h: usize,
  dh: usize, dhT: usize, dcT: usize, gWih: usize, gWhh: usize, gBih: usize, gBhh: usize,
  dx: usize, dh0: usize, dc0: usize, dgates: usize, dgatesHidden: usize, dhNext: usize, dcNext: usize, ws: usize): void {
  backwardThreaded(RNN, T, B, I, H, H, wih, whh, x, h0, c0, gates, aux, h, dh, dhT, dcT, gWih, gWhh, gBih, gBhh,
    dx, dh0, dc0, dgates, dgates, dhNext, dcNext, ws);
}
