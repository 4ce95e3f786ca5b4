// Row-wise and elementwise kernels: bias, embedding, loss, dropout mask, optimisers.
// Loops run 4 lanes at a time; the last partial vector of a row goes through ld/st.

import { itemsOf, nextItem } from './threads';
import { fmadd, ld, splat, st, vexp } from './vec';

/** y[r, :] += bias, y [rows, cols]. */
export function addBias(y: usize, bias: usize, rows: i32, cols: i32): void {
  for (let r = 0; r < rows; r++) {
    const row = y + ((<usize>r * <usize>cols) << 2);
    for (let j = 0; j < cols; j += 4) {
      const n = min(4, cols - j);
      const o = <usize>j << 2;
      st(row + o, f32x4.add(ld(row + o, n), ld(bias + o, n)), n);
    }
  }
}

/**
 * dbias += column sums of dy [rows, cols], rows `rowBytes` apart (cols floats,
 * or more for a column range of a wider dy). Sixteen columns (one cache line of
 * a row) at a time, accumulated in registers down all rows, in row order as the
 * reference adds them; each column's sum is the same whatever range it is in.
 */
export function sumRowsStrided(dbias: usize, dy: usize, rows: i32, cols: i32, rowBytes: usize): void {
  let j = 0;
  for (; j + 16 <= cols; j += 16) {
    const o = <usize>j << 2;
    let s0 = v128.load(dbias + o), s1 = v128.load(dbias + o, 16), s2 = v128.load(dbias + o, 32), s3 = v128.load(dbias + o, 48);
    let p = dy + o;
    for (let r = 0; r < rows; r++) {
      s0 = f32x4.add(s0, v128.load(p));
      s1 = f32x4.add(s1, v128.load(p, 16));
      s2 = f32x4.add(s2, v128.load(p, 32));
      s3 = f32x4.add(s3, v128.load(p, 48));
      p += rowBytes;
    }
    v128.store(dbias + o, s0); v128.store(dbias + o, s1, 16); v128.store(dbias + o, s2, 32); v128.store(dbias + o, s3, 48);
  }
  for (; j < cols; j += 4) {
    const n = min(4, cols - j);
    const o = <usize>j << 2;
    let s = ld(dbias + o, n);
    let p = dy + o;
    for (let r = 0; r < rows; r++) {
      s = f32x4.add(s, ld(p, n));
      p += rowBytes;
    }
    st(dbias + o, s, n);
  }
}

/** dbias += column sums of dy [rows, cols]. */
export function sumRows(dbias: usize, dy: usize, rows: i32, cols: i32): void {
  sumRowsStrided(dbias, dy, rows, cols, <usize>cols << 2);
}

/**
 * d1 += column sums of dy and d2 += the same sums: the two bias gradients of an
 * LSTM or RNN layer (equal pre-activation gradients) in one pass over dy.
 * Rows `rowBytes` apart, as sumRowsStrided.
 */
export function sumRowsTwice(d1: usize, d2: usize, dy: usize, rows: i32, cols: i32, rowBytes: usize): void {
  let j = 0;
  for (; j + 16 <= cols; j += 16) {
    const o = <usize>j << 2;
    let s0 = f32x4.splat(0), s1 = f32x4.splat(0), s2 = f32x4.splat(0), s3 = f32x4.splat(0);
    let p = dy + o;
    for (let r = 0; r < rows; r++) {
      s0 = f32x4.add(s0, v128.load(p));
      s1 = f32x4.add(s1, v128.load(p, 16));
      s2 = f32x4.add(s2, v128.load(p, 32));
      s3 = f32x4.add(s3, v128.load(p, 48));
      p += rowBytes;
    }
    for (let q = 0; q < 2; q++) {
      const d = (q == 0 ? d1 : d2) + o;
      v128.store(d, f32x4.add(v128.load(d), s0));
      v128.store(d, f32x4.add(v128.load(d, 16), s1), 16);
      v128.store(d, f32x4.add(v128.load(d, 32), s2), 32);
      v128.store(d, f32x4.add(v128.load(d, 48), s3), 48);
    }
  }
  for (; j < cols; j += 4) {
    const n = min(4, cols - j);
    const o = <usize>j << 2;
    let s = f32x4.splat(0);
    let p = dy + o;
    for (let r = 0; r < rows; r++) {
      s = f32x4.add(s, ld(p, n));
      p += rowBytes;
    }
    st(d1 + o, f32x4.add(ld(d1 + o, n), s), n);
    st(d2 + o, f32x4.add(ld(d2 + o, n), s), n);
  }
}

/** out[j] = a[j] + b[j], j < n. */
export function addVectors(out: usize, a: usize, b: usize, n: i32): void {
  for (let j = 0; j < n; j += 4) {
    const m = min(4, n - j);
    const o = <usize>j << 2;
    st(out + o, f32x4.add(ld(a + o, m), ld(b + o, m)), m);
  }
}

/** out[i, :] = table[ids[i], :], rows of dim floats. */
export function embeddingForward(out: usize, table: usize, ids: usize, n: i32, dim: i32): void {
  const rowBytes = <usize>dim << 2;
  for (let i = 0; i < n; i++) {
    const id = <usize>load<i32>(ids + (<usize>i << 2));
    memory.copy(out + <usize>i * rowBytes, table + id * rowBytes, rowBytes);
  }
}

/** dTable[ids[i], :] += dOut[i, :]. */
export function embeddingBackward(dTable: usize, dOut: usize, ids: usize, n: i32, dim: i32): void {
  const rowBytes = <usize>dim << 2;
  for (let i = 0; i < n; i++) {
    const id = <usize>load<i32>(ids + (<usize>i << 2));
    const d = dTable + id * rowBytes;
    const s = dOut + <usize>i * rowBytes;
    for (let j = 0; j < dim; j += 4) {
      const m = min(4, dim - j);
      const o = <usize>j << 2;
      st(d + o, f32x4.add(ld(d + o, m), ld(s + o, m)), m);
    }
  }
}

/**
 * Softmax cross-entropy summed over rows (f64), see Kernels.softmaxCrossEntropy.
 * dLogits = 0 means no gradient.
 */
export function softmaxCrossEntropy(logits: usize, targets: usize, rows: i32, V: i32, dLogits: usize, gradScale: f32): f64 {
  let loss: f64 = 0;
  for (let r = 0; r < rows; r++) loss += softmaxRow(logits, targets, r, V, dLogits, gradScale);
  return loss;
}

/**
 * Row r's cross-entropy, log(sum exp) + max - logit[target], and its gradient
 * row when dLogits is not 0. The row's exponentials are stored in dLogits on
 * the way and scaled in a second pass.
 */
function softmaxRow(logits: usize, targets: usize, r: i32, V: i32, dLogits: usize, gradScale: f32): f64 {
  const rowBytes = <usize>V << 2;
  const row = logits + <usize>r * rowBytes;
  const drow = dLogits + <usize>r * rowBytes;
  const target = load<i32>(targets + (<usize>r << 2));
  // A negative target is ignored (padding): no loss, a zero gradient row.
  if (target < 0) {
    if (dLogits != 0) memory.fill(drow, 0, rowBytes);
    return 0;
  }
  let mv = splat(-Infinity);
  let j = 0;
  for (; j + 4 <= V; j += 4) mv = f32x4.max(mv, v128.load(row + (<usize>j << 2)));
  let m = max(max(f32x4.extract_lane(mv, 0), f32x4.extract_lane(mv, 1)), max(f32x4.extract_lane(mv, 2), f32x4.extract_lane(mv, 3)));
  for (; j < V; j++) m = max(m, load<f32>(row + (<usize>j << 2)));
  const mvec = splat(m);
  let sv = splat(0);
  for (j = 0; j < V; j += 4) {
    const n = min(4, V - j);
    const o = <usize>j << 2;
    const e = vexp(f32x4.sub(ld(row + o, n), mvec));
    // Lanes past n must add nothing.
    const ez = n == 4 ? e : v128.and(e, lanesBelow(n));
    sv = f32x4.add(sv, ez);
    if (dLogits != 0) st(drow + o, ez, n);
  }
  const sum = (f32x4.extract_lane(sv, 0) + f32x4.extract_lane(sv, 1)) + (f32x4.extract_lane(sv, 2) + f32x4.extract_lane(sv, 3));
  const t = <usize>target;
  if (dLogits != 0) {
    const f = splat(gradScale / sum);
    for (j = 0; j < V; j += 4) {
      const n = min(4, V - j);
      const o = <usize>j << 2;
      st(drow + o, f32x4.mul(ld(drow + o, n), f), n);
    }
    store<f32>(drow + (t << 2), load<f32>(drow + (t << 2)) - gradScale);
  }
  return Math.log(<f64>sum) + <f64>m - <f64>load<f32>(row + (t << 2));
}

/** All-ones bits in lanes below n (1..3), zero above. */
function lanesBelow(n: i32): v128 {
  return i32x4.lt_s(i32x4(0, 1, 2, 3), i32x4.splat(n));
}

/** out = x * mask. */
export function multiply(out: usize, x: usize, mask: usize, n: i32): void {
  for (let i = 0; i < n; i += 4) {
    const m = min(4, n - i);
    const o = <usize>i << 2;
    st(out + o, f32x4.mul(ld(x + o, m), ld(mask + o, m)), m);
  }
}

/** Sum of squares in f64: squares of f32 are exact in f64, so only the additions round. */
export function sumSquares(x: usize, n: i32): f64 {
  let s0 = f64x2.splat(0), s1 = f64x2.splat(0);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const v = v128.load(x + (<usize>i << 2));
    const lo = f64x2.promote_low_f32x4(v);
    const hi = f64x2.promote_low_f32x4(v128.shuffle<f32>(v, v, 2, 3, 2, 3));
    s0 = f64x2.add(s0, f64x2.mul(lo, lo));
    s1 = f64x2.add(s1, f64x2.mul(hi, hi));
  }
  const s = f64x2.add(s0, s1);
  let total = f64x2.extract_lane(s, 0) + f64x2.extract_lane(s, 1);
  for (; i < n; i++) {
    const v = <f64>load<f32>(x + (<usize>i << 2));
    total += v * v;
  }
  return total;
}

/** x *= s. */
export function scale(x: usize, n: i32, s: f32): void {
  const sv = splat(s);
  for (let i = 0; i < n; i += 4) {
    const m = min(4, n - i);
    const o = <usize>i << 2;
    st(x + o, f32x4.mul(ld(x + o, m), sv), m);
  }
}

/**
 * Adam, PyTorch's formulation: p -= stepSize m / (sqrt(v) / bc2Sqrt + eps) with
 * stepSize = lr / (1 - beta1^step), bc2Sqrt = sqrt(1 - beta2^step), from the caller.
 */
export function adam(param: usize, grad: usize, mBuf: usize, vBuf: usize, n: i32,
  beta1: f32, beta2: f32, stepSize: f32, invBc2Sqrt: f32, eps: f32): void {
  const b1 = splat(beta1), b1c = splat(1 - beta1), b2 = splat(beta2), b2c = splat(1 - beta2);
  const ss = splat(stepSize), ib = splat(invBc2Sqrt), ev = splat(eps);
  for (let i = 0; i < n; i += 4) {
    const k = min(4, n - i);
    const o = <usize>i << 2;
    const g = ld(grad + o, k);
    const m = f32x4.add(f32x4.mul(b1, ld(mBuf + o, k)), f32x4.mul(b1c, g));
    const v = f32x4.add(f32x4.mul(b2, ld(vBuf + o, k)), f32x4.mul(f32x4.mul(b2c, g), g));
    st(mBuf + o, m, k);
    st(vBuf + o, v, k);
    const denom = f32x4.add(f32x4.mul(f32x4.sqrt(v), ib), ev);
    st(param + o, f32x4.sub(ld(param + o, k), f32x4.div(f32x4.mul(ss, m), denom)), k);
  }
}

/** RMSprop: v = alpha v + (1 - alpha) g^2; p -= lr g / (sqrt(v) + eps). */
export function rmsprop(param: usize, grad: usize, vBuf: usize, n: i32, lr: f32, alpha: f32, eps: f32): void {
  const a = splat(alpha), ac = splat(1 - alpha), l = splat(lr), ev = splat(eps);
  for (let i = 0; i < n; i += 4) {
    const k = min(4, n - i);
    const o = <usize>i << 2;
    const g = ld(grad + o, k);
    const v = f32x4.add(f32x4.mul(a, ld(vBuf + o, k)), f32x4.mul(f32x4.mul(ac, g), g));
    st(vBuf + o, v, k);
    st(param + o, f32x4.sub(ld(param + o, k), f32x4.div(f32x4.mul(l, g), f32x4.add(f32x4.sqrt(v), ev))), k);
  }
}

/** SGD with momentum: b = mu b + g (b = g on the first step or without momentum); p -= lr b. */
export function sgd(param: usize, grad: usize, buf: usize, n: i32, lr: f32, momentum: f32, first: bool): void {
  const mu = splat(momentum), l = splat(lr);
  const plain = first || momentum == 0;
  for (let i = 0; i < n; i += 4) {
    const k = min(4, n - i);
    const o = <usize>i << 2;
    const g = ld(grad + o, k);
    const b = plain ? g : fmadd(mu, ld(buf + o, k), g);
    st(buf + o, b, k);
    st(param + o, f32x4.sub(ld(param + o, k), f32x4.mul(l, b)), k);
  }
}

// ---------------------------------------------------------------- on several threads
//
// Each splits its output into items (rows, column blocks or ranges) that every
// thread claims in turn; an entry is computed exactly as the single-threaded
// kernel computes it. Every kernel below is a single phase.

/** Rows per item of the row-wise kernels. */
const ROWS: i32 = 64;
/** Floats per item of the elementwise kernels (a multiple of 4). */
const RANGE: i32 = 8192;

export function addBiasThreaded(y: usize, bias: usize, rows: i32, cols: i32): void {
  const items = itemsOf(rows, ROWS);
  for (let i = nextItem(0); i < items; i = nextItem(0)) {
    const r0 = i * ROWS;
    addBias(y + ((<usize>r0 * <usize>cols) << 2), bias, min(ROWS, rows - r0), cols);
  }
}

export function sumRowsThreaded(dbias: usize, dy: usize, rows: i32, cols: i32): void {
  const items = itemsOf(cols, 16);
  for (let i = nextItem(0); i < items; i = nextItem(0)) {
    const o = <usize>(i * 16) << 2;
    sumRowsStrided(dbias + o, dy + o, rows, min(16, cols - i * 16), <usize>cols << 2);
  }
}

/** The sum of n f64 values in order: the threaded cross-entropy's per-row losses. */
export function sumF64(p: usize, n: i32): f64 {
  let s: f64 = 0;
  for (let i = 0; i < n; i++) s += load<f64>(p + (<usize>i << 3));
  return s;
}

/** Row r's loss goes to losses[r] (f64); the caller adds them in row order, as the single-threaded kernel does. */
export function softmaxCrossEntropyThreaded(logits: usize, targets: usize, rows: i32, V: i32, dLogits: usize, gradScale: f32, losses: usize): void {
  const items = itemsOf(rows, ROWS);
  for (let i = nextItem(0); i < items; i = nextItem(0)) {
    const end = min(rows, (i + 1) * ROWS);
    for (let r = i * ROWS; r < end; r++) store<f64>(losses + (<usize>r << 3), softmaxRow(logits, targets, r, V, dLogits, gradScale));
  }
}

export function multiplyThreaded(out: usize, x: usize, mask: usize, n: i32): void {
  const items = itemsOf(n, RANGE);
  for (let i = nextItem(0); i < items; i = nextItem(0)) {
    const o = <usize>(i * RANGE) << 2;
    multiply(out + o, x + o, mask + o, min(RANGE, n - i * RANGE));
  }
}

export function scaleThreaded(x: usize, n: i32, s: f32): void {
  const items = itemsOf(n, RANGE);
  for (let i = nextItem(0); i < items; i = nextItem(0)) scale(x + (<usize>(i * RANGE) << 2), min(RANGE, n - i * RANGE), s);
}

export function adamThreaded(param: usize, grad: usize, mBuf: usize, vBuf: usize, n: i32,
  beta1: f32, beta2: f32, stepSize: f32, invBc2Sqrt: f32, eps: f32): void {
  const items = itemsOf(n, RANGE);
  for (let i = nextItem(0); i < items; i = nextItem(0)) {
    const o = <usize>(i * RANGE) << 2;
    adam(param + o, grad + o, mBuf + o, vBuf + o, min(RANGE, n - i * RANGE), beta1, beta2, stepSize, invBc2Sqrt, eps);
  }
}

export function rmspropThreaded(param: usize, grad: usize, vBuf: usize, n: i32, lr: f32, alpha: f32, eps: f32): void {
  const items = itemsOf(n, RANGE);
  for (let i = nextItem(0); i < items; i = nextItem(0)) {
    const o = <usize>(i * RANGE) << 2;
    rmsprop(param + o, grad + o, vBuf + o, min(RANGE, n - i * RANGE), lr, alpha, eps);
  }
}

export function sgdThreaded(param: usize, grad: usize, buf: usize, n: i32, lr: f32, momentum: f32, first: bool): void {
  const items = itemsOf(n, RANGE);
  for (let i = nextItem(0); i < items; i = nextItem(0)) {
    const o = <usize>(i * RANGE) << 2;
    sgd(param + o, grad + o, buf + o, min(RANGE, n - i * RANGE), lr, momentum, first);
  }
}
