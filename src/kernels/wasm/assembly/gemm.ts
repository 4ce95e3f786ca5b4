// Matrix multiply: C[M, N] (+)= op(A) · op(B), row-major.
//
// op(B) is packed into panels of NR = 8 columns, zero-padded past N:
// packed[p][k][c] = op(B)[k, p*8 + c], so the micro-kernel reads two contiguous
// vectors per k whatever B's layout, and edge columns need no special case.
// op(A) is read in place through a row stride and a k stride (bytes): op(A) = A
// has rows K floats apart and k 1 float apart, op(A) = A^T the other way round.
// The micro-kernel keeps an MR x 8 tile of C in registers: 4 x 8 (8 accumulators)
// with separate multiply and add, 6 x 8 (12 accumulators) with fused
// multiply-add, which frees the temporaries; V8 has 16 vector registers.

import { fmadd, ld, st } from './vec';

const NR: i32 = 8;
const MR: i32 = ASC_FEATURE_RELAXED_SIMD ? 6 : 4;
/** Depth of one pass: a 256 x 8 panel of B (8 KiB) stays in L1 while the rows of A stream past it. */
const KC: i32 = 256;
/** Rows of A per pass over the panels (a multiple of MR): MC x KC floats of A stay in L2. */
const MC: i32 = ASC_FEATURE_RELAXED_SIMD ? 48 : 64;

/** Floats the packed op(B) of an N-column, K-deep product occupies. */
// @ts-ignore: decorator
@inline export function packedSize(K: i32, N: i32): i32 {
  return ((N + NR - 1) / NR) * NR * K;
}

/** Packs op(B) = B, B [K, N]. */
export function packN(dst: usize, b: usize, K: i32, N: i32): void {
  const panels = (N + NR - 1) / NR;
  const rowBytes = <usize>N << 2;
  for (let p = 0; p < panels; p++) {
    const j0 = p * NR;
    const cols = min(NR, N - j0);
    let d = dst + ((<usize>p * <usize>K * NR) << 2);
    let s = b + (<usize>j0 << 2);
    if (cols == NR) {
      for (let k = 0; k < K; k++) {
        v128.store(d, v128.load(s));
        v128.store(d, v128.load(s, 16), 16);
        d += 32;
        s += rowBytes;
      }
    } else {
      const n0 = min(cols, 4);
      const n1 = cols - 4;
      for (let k = 0; k < K; k++) {
        v128.store(d, ld(s, n0));
        v128.store(d, n1 > 0 ? ld(s + 16, n1) : f32x4.splat(0), 16);
        d += 32;
        s += rowBytes;
      }
    }
  }
}

/** Packs op(B) = B^T, B [N, K]. */
export function packT(dst: usize, b: usize, K: i32, N: i32): void {
  const panels = (N + NR - 1) / NR;
  for (let p = 0; p < panels; p++) {
    const base = dst + ((<usize>p * <usize>K * NR) << 2);
    for (let c = 0; c < NR; c++) {
      const j = p * NR + c;
      let d = base + (<usize>c << 2);
      if (j < N) {
        let s = b + ((<usize>j * <usize>K) << 2);
        for (let k = 0; k < K; k++) {
          store<f32>(d, load<f32>(s));
          d += 32;
          s += 4;
        }
      } else {
        for (let k = 0; k < K; k++) {
          store<f32>(d, 0);
          d += 32;
        }
      }
    }
  }
}

// @ts-ignore: decorator
@inline function storeRow(c: usize, v0: v128, v1: v128, cols: i32, acc: bool): void {
  if (cols == NR) {
    if (acc) {
      v0 = f32x4.add(v0, v128.load(c));
      v1 = f32x4.add(v1, v128.load(c, 16));
    }
    v128.store(c, v0);
    v128.store(c, v1, 16);
  } else {
    const n0 = min(cols, 4);
    if (acc) v0 = f32x4.add(v0, ld(c, n0));
    st(c, v0, n0);
    const n1 = cols - 4;
    if (n1 > 0) {
      if (acc) v1 = f32x4.add(v1, ld(c + 16, n1));
      st(c + 16, v1, n1);
    }
  }
}

/** A 4 x 8 tile of C; rows past `rows` re-read row 0 of A and are not stored. */
function kernel4(c: usize, ldc: usize, a: usize, rsA: usize, csA: usize, bp: usize, kc: i32, rows: i32, cols: i32, acc: bool): void {
  const a0 = a;
  const a1 = rows > 1 ? a + rsA : a;
  const a2 = rows > 2 ? a + rsA * 2 : a;
  const a3 = rows > 3 ? a + rsA * 3 : a;
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0);
  let c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0);
  let c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  let off: usize = 0;
  for (let k = 0; k < kc; k++) {
    const b0 = v128.load(bp);
    const b1 = v128.load(bp, 16);
    let x = v128.load32_splat(a0 + off);
    c00 = fmadd(x, b0, c00); c01 = fmadd(x, b1, c01);
    x = v128.load32_splat(a1 + off);
    c10 = fmadd(x, b0, c10); c11 = fmadd(x, b1, c11);
    x = v128.load32_splat(a2 + off);
    c20 = fmadd(x, b0, c20); c21 = fmadd(x, b1, c21);
    x = v128.load32_splat(a3 + off);
    c30 = fmadd(x, b0, c30); c31 = fmadd(x, b1, c31);
    off += csA;
    bp += 32;
  }
  storeRow(c, c00, c01, cols, acc);
  if (rows > 1) storeRow(c + ldc, c10, c11, cols, acc);
  if (rows > 2) storeRow(c + ldc * 2, c20, c21, cols, acc);
  if (rows > 3) storeRow(c + ldc * 3, c30, c31, cols, acc);
}

/** A 6 x 8 tile of C, for fused multiply-add builds. */
function kernel6(c: usize, ldc: usize, a: usize, rsA: usize, csA: usize, bp: usize, kc: i32, rows: i32, cols: i32, acc: bool): void {
  const a0 = a;
  const a1 = rows > 1 ? a + rsA : a;
  const a2 = rows > 2 ? a + rsA * 2 : a;
  const a3 = rows > 3 ? a + rsA * 3 : a;
  const a4 = rows > 4 ? a + rsA * 4 : a;
  const a5 = rows > 5 ? a + rsA * 5 : a;
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0);
  let c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0);
  let c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  let c40 = f32x4.splat(0), c41 = f32x4.splat(0);
  let c50 = f32x4.splat(0), c51 = f32x4.splat(0);
  let off: usize = 0;
  for (let k = 0; k < kc; k++) {
    const b0 = v128.load(bp);
    const b1 = v128.load(bp, 16);
    let x = v128.load32_splat(a0 + off);
    c00 = fmadd(x, b0, c00); c01 = fmadd(x, b1, c01);
    x = v128.load32_splat(a1 + off);
    c10 = fmadd(x, b0, c10); c11 = fmadd(x, b1, c11);
    x = v128.load32_splat(a2 + off);
    c20 = fmadd(x, b0, c20); c21 = fmadd(x, b1, c21);
    x = v128.load32_splat(a3 + off);
    c30 = fmadd(x, b0, c30); c31 = fmadd(x, b1, c31);
    x = v128.load32_splat(a4 + off);
    c40 = fmadd(x, b0, c40); c41 = fmadd(x, b1, c41);
    x = v128.load32_splat(a5 + off);
    c50 = fmadd(x, b0, c50); c51 = fmadd(x, b1, c51);
    off += csA;
    bp += 32;
  }
  storeRow(c, c00, c01, cols, acc);
  if (rows > 1) storeRow(c + ldc, c10, c11, cols, acc);
  if (rows > 2) storeRow(c + ldc * 2, c20, c21, cols, acc);
  if (rows > 3) storeRow(c + ldc * 3, c30, c31, cols, acc);
  if (rows > 4) storeRow(c + ldc * 4, c40, c41, cols, acc);
  if (rows > 5) storeRow(c + ldc * 5, c50, c51, cols, acc);
}

/**
 * C[M, N] (+)= op(A) · op(B) with op(B) already packed (K deep). C rows are N
 * floats apart. With K = 0 the product is zero.
 */
export function gemm(c: usize, a: usize, rsA: usize, csA: usize, packed: usize, M: i32, N: i32, K: i32, accumulate: bool): void {
  const ldc = <usize>N << 2;
  if (K == 0) {
    if (!accumulate) memory.fill(c, 0, ldc * <usize>M);
    return;
  }
  const panels = (N + NR - 1) / NR;
  for (let k0 = 0; k0 < K; k0 += KC) {
    const kc = min(KC, K - k0);
    const acc = accumulate || k0 > 0;
    const ak = a + <usize>k0 * csA;
    for (let i0 = 0; i0 < M; i0 += MC) {
      const iEnd = min(M, i0 + MC);
      for (let p = 0; p < panels; p++) {
        const cols = min(NR, N - p * NR);
        const bp = packed + ((<usize>p * <usize>K + <usize>k0) * NR << 2);
        const cp = c + (<usize>(p * NR) << 2);
        for (let i = i0; i < iEnd; i += MR) {
          const rows = min(MR, iEnd - i);
          if (MR == 6) kernel6(cp + <usize>i * ldc, ldc, ak + <usize>i * rsA, rsA, csA, bp, kc, rows, cols, acc);
          else kernel4(cp + <usize>i * ldc, ldc, ak + <usize>i * rsA, rsA, csA, bp, kc, rows, cols, acc);
        }
      }
    }
  }
}

/** The whole of Kernels.matmul; ws holds packedSize(K, N) floats. */
export function matmulPacked(c: usize, a: usize, b: usize, M: i32, N: i32, K: i32, transA: bool, transB: bool, accumulate: bool, ws: usize): void {
  if (transB) packT(ws, b, K, N);
  else packN(ws, b, K, N);
  const rsA: usize = transA ? 4 : <usize>K << 2;
  const csA: usize = transA ? <usize>M << 2 : 4;
  gemm(c, a, rsA, csA, ws, M, N, K, accumulate);
}
