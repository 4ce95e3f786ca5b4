// Inference steps: one time step of a layer (cellStep) or of a whole model
// (modelStep: every layer, then the logits) for B streams, as native/src/step.c
// does it. A step is a few matrix-vector products that read every weight once,
// so PyTorch's row-major [G*H, K] matrices are read in place as dot products (no
// packing), each row against every stream's input. Layer 0 may take its input
// projection from a per-character table instead of multiplying by W_ih.
//
// Each row's dot product is accumulated in 4 lanes and reduced by one fixed tree
// ((l0 + l2) + (l1 + l3)), whatever rows and streams are blocked with it, so a
// stream's results do not depend on B.
//
// Pointers are byte offsets into memory; 0 stands for "none".

import { gruUnits, lstmUnits, rnnUnits } from './act';
import { fmadd, ld, splat, st } from './vec';

const LSTM = 0;
const GRU = 1;

// @ts-ignore: decorator
@inline function bytes(n: i32): usize {
  return <usize>n << 2;
}

/** Four rows' sums from their lane accumulators, by the fixed tree. */
// @ts-ignore: decorator
@inline function reduce4(a0: v128, a1: v128, a2: v128, a3: v128): v128 {
  const p01 = f32x4.add(f32x4.shuffle(a0, a1, 0, 1, 4, 5), f32x4.shuffle(a0, a1, 2, 3, 6, 7));
  const p23 = f32x4.add(f32x4.shuffle(a2, a3, 0, 1, 4, 5), f32x4.shuffle(a2, a3, 2, 3, 6, 7));
  return f32x4.add(f32x4.shuffle(p01, p23, 0, 2, 4, 6), f32x4.shuffle(p01, p23, 1, 3, 5, 7));
}

/** Row r of a [R, k] matrix; rows past R repeat the last one (computed, never stored), so tails need no other code. */
// @ts-ignore: decorator
@inline function row(w: usize, k: i32, r: i32, R: i32): usize {
  return w + bytes(min(r, R - 1) * k);
}

/** y[i] += s[i] for the first n (1..4) lanes. */
// @ts-ignore: decorator
@inline function addInto(y: usize, s: v128, n: i32): void {
  st(y, f32x4.add(ld(y, n), s), n);
}

// Two kinds of blocks compute the same sums (every accumulator takes its columns
// in order, four at a time, then the fixed tree). Whole blocks (all rows real,
// widths a multiple of 4) take the call-free functions: V8 keeps a vector that
// lives across a call in memory, stored at every definition, so one call in a
// function (a partial load) would put the accumulators on the stack inside the
// hot loop. The rest takes the general ones, with partial loads.

/** Eight whole rows (w1 rows k1 floats apart, w2 rows k2 apart; w2 = 0: none) for one stream: eight chains. */
function whole8x1(y: usize, w1: usize, k1: i32, x1: usize, w2: usize, k2: i32, x2: usize): void {
  let a0 = splat(0), a1 = splat(0), a2 = splat(0), a3 = splat(0), a4 = splat(0), a5 = splat(0), a6 = splat(0), a7 = splat(0);
  for (let m = 0; m < 2; m++) {
    const w = m == 0 ? w1 : w2;
    if (w == 0) break;
    const K = m == 0 ? k1 : k2;
    const x = m == 0 ? x1 : x2;
    const stride = bytes(K);
    // The rows walked with one pointer: few live values leave V8's 16 vector registers to the
    // accumulators (unrolling over columns would need more and spill them to the stack).
    for (let k = 0; k < K; k += 4) {
      const o = bytes(k);
      const xv = v128.load(x + o);
      let a = w + o;
      a0 = fmadd(v128.load(a), xv, a0);
      a += stride;
      a1 = fmadd(v128.load(a), xv, a1);
      a += stride;
      a2 = fmadd(v128.load(a), xv, a2);
      a += stride;
      a3 = fmadd(v128.load(a), xv, a3);
      a += stride;
      a4 = fmadd(v128.load(a), xv, a4);
      a += stride;
      a5 = fmadd(v128.load(a), xv, a5);
      a += stride;
      a6 = fmadd(v128.load(a), xv, a6);
      a += stride;
      a7 = fmadd(v128.load(a), xv, a7);
    }
  }
  v128.store(y, f32x4.add(v128.load(y), reduce4(a0, a1, a2, a3)));
  v128.store(y, f32x4.add(v128.load(y, 16), reduce4(a4, a5, a6, a7)), 16);
}

/** Four whole rows for two streams (inputs ldx1 / ldx2 floats apart, outputs ldy apart): the weights read once for both. */
function whole4x2(y: usize, ldy: i32, w1: usize, k1: i32, x1: usize, ldx1: i32, w2: usize, k2: i32, x2: usize, ldx2: i32): void {
  let a0 = splat(0), a1 = splat(0), a2 = splat(0), a3 = splat(0);
  let c0 = splat(0), c1 = splat(0), c2 = splat(0), c3 = splat(0);
  for (let m = 0; m < 2; m++) {
    const w = m == 0 ? w1 : w2;
    if (w == 0) break;
    const K = m == 0 ? k1 : k2;
    const x = m == 0 ? x1 : x2;
    const xs = bytes(m == 0 ? ldx1 : ldx2);
    const stride = bytes(K);
    for (let k = 0; k < K; k += 4) {
      const o = bytes(k);
      const xv = v128.load(x + o), xw = v128.load(x + xs + o);
      let a = w + o;
      let v = v128.load(a);
      a0 = fmadd(v, xv, a0); c0 = fmadd(v, xw, c0);
      a += stride;
      v = v128.load(a);
      a1 = fmadd(v, xv, a1); c1 = fmadd(v, xw, c1);
      a += stride;
      v = v128.load(a);
      a2 = fmadd(v, xv, a2); c2 = fmadd(v, xw, c2);
      a += stride;
      v = v128.load(a);
      a3 = fmadd(v, xv, a3); c3 = fmadd(v, xw, c3);
    }
  }
  v128.store(y, f32x4.add(v128.load(y), reduce4(a0, a1, a2, a3)));
  const y2 = y + bytes(ldy);
  v128.store(y2, f32x4.add(v128.load(y2), reduce4(c0, c1, c2, c3)));
}

/** Rows r..r+7 (nr of them real) for one stream, any widths: partial loads for the last columns. */
function block8x1(y: usize, nr: i32, r: i32, R: i32, w1: usize, k1: i32, x1: usize, w2: usize, k2: i32, x2: usize): void {
  let a0 = splat(0), a1 = splat(0), a2 = splat(0), a3 = splat(0), a4 = splat(0), a5 = splat(0), a6 = splat(0), a7 = splat(0);
  for (let m = 0; m < 2; m++) {
    const w = m == 0 ? w1 : w2;
    if (w == 0) break;
    const K = m == 0 ? k1 : k2;
    const x = m == 0 ? x1 : x2;
    const q0 = row(w, K, r, R), q1 = row(w, K, r + 1, R), q2 = row(w, K, r + 2, R), q3 = row(w, K, r + 3, R);
    const q4 = row(w, K, r + 4, R), q5 = row(w, K, r + 5, R), q6 = row(w, K, r + 6, R), q7 = row(w, K, r + 7, R);
    for (let k = 0; k < K; k += 4) {
      const n = min(4, K - k);
      const o = bytes(k);
      const xv = ld(x + o, n);
      a0 = fmadd(ld(q0 + o, n), xv, a0);
      a1 = fmadd(ld(q1 + o, n), xv, a1);
      a2 = fmadd(ld(q2 + o, n), xv, a2);
      a3 = fmadd(ld(q3 + o, n), xv, a3);
      a4 = fmadd(ld(q4 + o, n), xv, a4);
      a5 = fmadd(ld(q5 + o, n), xv, a5);
      a6 = fmadd(ld(q6 + o, n), xv, a6);
      a7 = fmadd(ld(q7 + o, n), xv, a7);
    }
  }
  const s0 = reduce4(a0, a1, a2, a3), s1 = reduce4(a4, a5, a6, a7);
  addInto(y, s0, min(nr, 4));
  if (nr > 4) addInto(y + 16, s1, nr - 4);
}

/** Rows r..r+3 (nr real) for two streams, any widths. */
function block4x2(y: usize, ldy: i32, nr: i32, r: i32, R: i32, w1: usize, k1: i32, x1: usize, ldx1: i32,
  w2: usize, k2: i32, x2: usize, ldx2: i32): void {
  let a0 = splat(0), a1 = splat(0), a2 = splat(0), a3 = splat(0);
  let c0 = splat(0), c1 = splat(0), c2 = splat(0), c3 = splat(0);
  for (let m = 0; m < 2; m++) {
    const w = m == 0 ? w1 : w2;
    if (w == 0) break;
    const K = m == 0 ? k1 : k2;
    const x = m == 0 ? x1 : x2;
    const xs = bytes(m == 0 ? ldx1 : ldx2);
    const q0 = row(w, K, r, R), q1 = row(w, K, r + 1, R), q2 = row(w, K, r + 2, R), q3 = row(w, K, r + 3, R);
    for (let k = 0; k < K; k += 4) {
      const n = min(4, K - k);
      const o = bytes(k);
      const xv = ld(x + o, n), xw = ld(x + xs + o, n);
      const v0 = ld(q0 + o, n), v1 = ld(q1 + o, n), v2 = ld(q2 + o, n), v3 = ld(q3 + o, n);
      a0 = fmadd(v0, xv, a0); a1 = fmadd(v1, xv, a1); a2 = fmadd(v2, xv, a2); a3 = fmadd(v3, xv, a3);
      c0 = fmadd(v0, xw, c0); c1 = fmadd(v1, xw, c1); c2 = fmadd(v2, xw, c2); c3 = fmadd(v3, xw, c3);
    }
  }
  const s0 = reduce4(a0, a1, a2, a3), s1 = reduce4(c0, c1, c2, c3);
  addInto(y, s0, nr);
  addInto(y + bytes(ldy), s1, nr);
}

/**
 * y[b * ldy + r] += w1[r, :] . x1[b, :] + w2[r, :] . x2[b, :] for r < R, b < B;
 * w1 [R, k1] and w2 [R, k2] row-major (w2 = 0: none), inputs ldx1 / ldx2 apart.
 */
export function rowsDot(y: usize, ldy: i32, R: i32, w1: usize, k1: i32, x1: usize, ldx1: i32,
  w2: usize, k2: i32, x2: usize, ldx2: i32, B: i32): void {
  const wholeWidths = k1 % 4 == 0 && (w2 == 0 || k2 % 4 == 0);
  for (let r = 0; r < R; r += 8) {
    const nr = min(8, R - r);
    const whole = wholeWidths && nr == 8;
    const r1 = w1 + bytes(r * k1), r2 = w2 == 0 ? 0 : w2 + bytes(r * k2);
    let b = 0;
    for (; b + 2 <= B; b += 2) {
      const yb = y + bytes(b * ldy + r);
      const xb1 = x1 + bytes(b * ldx1), xb2 = x2 + bytes(b * ldx2);
      if (whole) {
        whole4x2(yb, ldy, r1, k1, xb1, ldx1, r2, k2, xb2, ldx2);
        whole4x2(yb + 16, ldy, r1 + bytes(4 * k1), k1, xb1, ldx1, r2 == 0 ? 0 : r2 + bytes(4 * k2), k2, xb2, ldx2);
      } else {
        block4x2(yb, ldy, min(nr, 4), r, R, w1, k1, xb1, ldx1, w2, k2, xb2, ldx2);
        if (nr > 4) block4x2(yb + 16, ldy, nr - 4, r + 4, R, w1, k1, xb1, ldx1, w2, k2, xb2, ldx2);
      }
    }
    if (b < B) {
      const yb = y + bytes(b * ldy + r), xb1 = x1 + bytes(b * ldx1), xb2 = x2 + bytes(b * ldx2);
      if (whole) whole8x1(yb, r1, k1, xb1, r2, k2, xb2);
      else block8x1(yb, nr, r, R, w1, k1, xb1, w2, k2, xb2);
    }
  }
}

// @ts-ignore: decorator
@inline function gatesOf(cell: i32): i32 {
  return cell == LSTM ? 4 : cell == GRU ? 3 : 1;
}

/**
 * One layer's step into hn [B, H] (h [B, H] is read only: every unit's gates read
 * all of it). gx, gh: [B, G] scratch. With table != 0 the input projection of
 * stream b is row ids[b] of table [rows, G] and wih, bih, x are not read.
 */
function layerStep(cell: i32, B: i32, I: i32, H: i32, wih: usize, whh: usize, bih: usize, bhh: usize,
  x: usize, table: usize, ids: usize, h: usize, c: usize, gx: usize, gh: usize, hn: usize): void {
  const G = gatesOf(cell) * H;
  const gru = cell == GRU;
  for (let b = 0; b < B; b++) {
    const src = table != 0 ? table + bytes(load<i32>(ids + bytes(b)) * G) : bih; // [G]
    const yx = gx + bytes(b * G), yh = gh + bytes(b * G);
    for (let r = 0; r < G; r += 4) {
      const n = min(4, G - r);
      const o = bytes(r);
      if (gru) {
        // GRU keeps the recurrent side apart: r scales W_hn h + b_hn in the n gate.
        st(yx + o, ld(src + o, n), n);
        st(yh + o, ld(bhh + o, n), n);
      } else {
        st(yx + o, f32x4.add(ld(src + o, n), ld(bhh + o, n)), n);
      }
    }
  }
  const w1 = table != 0 ? 0 : wih;
  if (gru) {
    if (w1 != 0) rowsDot(gx, G, G, w1, I, x, I, 0, 0, 0, 0, B);
    rowsDot(gh, G, G, whh, H, h, H, 0, 0, 0, 0, B);
  } else if (w1 != 0) {
    rowsDot(gx, G, G, w1, I, x, I, whh, H, h, H, B);
  } else {
    rowsDot(gx, G, G, whh, H, h, H, 0, 0, 0, 0, B);
  }
  for (let b = 0; b < B; b++) {
    const g = gx + bytes(b * G), q = gh + bytes(b * G), s = bytes(b * H);
    // Whole vectors in a call-free loop (see rowsDot), then the last units with partial loads.
    const whole = H & ~3;
    for (let j = 0; j < whole; j += 4) activate(cell, H, g, q, h + s, c + s, hn + s, j, 4);
    if (whole < H) activate(cell, H, g, q, h + s, c + s, hn + s, whole, H - whole);
  }
}

/**
 * The cell update of units j .. j+n (n = 1..4) of one stream: g [G] and q [G]
 * its pre-activations (input side, and recurrent side for a GRU), hp [H] h_{t-1},
 * c [H] the LSTM state (updated), hn [H] where h_t goes.
 */
// @ts-ignore: decorator
@inline function activate(cell: i32, H: i32, g: usize, q: usize, hp: usize, c: usize, hn: usize, j: i32, n: i32): void {
  const H4 = bytes(H);
  const o = bytes(j);
  if (cell == LSTM) {
    lstmUnits(ld(g + o, n), ld(g + H4 + o, n), ld(g + 2 * H4 + o, n), ld(g + 3 * H4 + o, n), ld(c + o, n), 0, H4, c + o, hn + o, n);
  } else if (cell == GRU) {
    gruUnits(ld(g + o, n), ld(g + H4 + o, n), ld(g + 2 * H4 + o, n), ld(q + o, n), ld(q + H4 + o, n), ld(q + 2 * H4 + o, n),
      ld(hp + o, n), 0, H4, hn + o, n);
  } else {
    rnnUnits(ld(g + o, n), 0, hn + o, n);
  }
}

/**
 * Kernels.cellStep: one layer's step, h and c updated in place. cell 0 LSTM,
 * 1 GRU, 2 RNN. x = 0 means the input is table rows picked by ids. scratch holds
 * gx [B, G], gh [B, G], hn [B, H].
 */
export function cellStep(cell: i32, B: i32, I: i32, H: i32, wih: usize, whh: usize, bih: usize, bhh: usize,
  x: usize, table: usize, ids: usize, h: usize, c: usize, scratch: usize): void {
  const G = gatesOf(cell) * H;
  const gh = scratch + bytes(B * G), hn = gh + bytes(B * G);
  layerStep(cell, B, I, H, wih, whh, bih, bhh, x, table, ids, h, c, scratch, gh, hn);
  memory.copy(h, hn, bytes(B * H));
}

/**
 * Kernels.bindModelStep's run: every layer, then logits [B, V] = h_top W_out^T +
 * b_out. layers points at L descriptors of 7 i32 each: I, wih, whh, bih, bhh,
 * h, c (layer 0's wih and bih unused: its input is table rows picked by ids).
 */
export function modelStep(cell: i32, L: i32, B: i32, H: i32, V: i32, table: usize, layers: usize,
  wout: usize, bout: usize, ids: usize, logits: usize, scratch: usize): void {
  const G = gatesOf(cell) * H;
  const gh = scratch + bytes(B * G), hn = gh + bytes(B * G);
  let below: usize = 0;
  for (let l = 0; l < L; l++) {
    const d = layers + bytes(7 * l);
    const h = <usize>load<i32>(d, 20);
    layerStep(cell, B, load<i32>(d), H, <usize>load<i32>(d, 4), <usize>load<i32>(d, 8), <usize>load<i32>(d, 12),
      <usize>load<i32>(d, 16), below, l == 0 ? table : 0, ids, h, <usize>load<i32>(d, 24), scratch, gh, hn);
    // One thread: once the layer is done nothing reads its old h, and the next layer reads the new one from here.
    memory.copy(h, hn, bytes(B * H));
    below = h;
  }
  for (let b = 0; b < B; b++) memory.copy(logits + bytes(b * V), bout, bytes(V));
  rowsDot(logits, V, V, wout, H, below, H, 0, 0, 0, 0, B);
}
