// Matrix multiply: C[M, N] (+)= op(A) · op(B), row-major.
//
// op(B) is packed into panels of NR = 8 columns, zero-padded past N:
// packed[p][k][c] = op(B)[k, p*8 + c], so the micro-kernel reads two contiguous
// vectors per k whatever B's layout, and edge columns need no special case.
// op(A) is read in place through a row stride and a k stride (bytes): op(A) = A
// has rows K floats apart and k 1 float apart, op(A) = A^T the other way round.
// The micro-kernel keeps a 4 x 8 tile of C in registers (8 accumulators, 2 B
// vectors, 1 broadcast). Measured on V8 11.3 / Sapphire Rapids: 5 x 8 with fused
// multiply-add is no faster, 6 x 8 (15 live vectors of V8's 15 allocatable)
// spills and loses a quarter.

import { itemsOf, nextItem, barrier, threadCount } from './threads';
import { fmadd, ld, st } from './vec';

const NR: i32 = 8;
const MR: i32 = 4;
/** Depth of one pass: a 256 x 8 panel of B (8 KiB) stays in L1 while the rows of A stream past it. */
const KC: i32 = 256;
/** Rows of A per pass over the panels (a multiple of MR): MC x KC floats of A stay in L2. */
const MC: i32 = 64;

/** Floats the packed op(B) of an N-column, K-deep product occupies. */
// @ts-ignore: decorator
@inline export function packedSize(K: i32, N: i32): i32 {
  return ((N + NR - 1) / NR) * NR * K;
}

/** Packs op(B) = B, B [K, N] with rows `rowBytes` apart (N floats, or more for a column range of a wider B). */
export function packN(dst: usize, b: usize, K: i32, N: i32, rowBytes: usize): void {
  const panels = (N + NR - 1) / NR;
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

/**
 * Packs rows i..i+rows of op(A), k0..k0+kc, as a micro-panel [kc][MR]: the
 * kernel then reads its MR values of one k at constant offsets from a single
 * pointer. Rows past `rows` are zero.
 */
function packA(dst: usize, a: usize, rsA: usize, csA: usize, rows: i32, kc: i32): void {
  let k0 = 0;
  if (csA == 4 && rows == MR) {
    // op(A) = A: rows are contiguous in k; transpose 4 x 4 blocks in registers.
    const a1 = a + rsA, a2 = a + rsA * 2, a3 = a + rsA * 3;
    for (; k0 + 4 <= kc; k0 += 4) {
      const o = <usize>k0 << 2;
      const r0 = v128.load(a + o), r1 = v128.load(a1 + o), r2 = v128.load(a2 + o), r3 = v128.load(a3 + o);
      const t0 = v128.shuffle<f32>(r0, r1, 0, 4, 1, 5); // a0 b0 a1 b1
      const t1 = v128.shuffle<f32>(r0, r1, 2, 6, 3, 7); // a2 b2 a3 b3
      const t2 = v128.shuffle<f32>(r2, r3, 0, 4, 1, 5); // c0 d0 c1 d1
      const t3 = v128.shuffle<f32>(r2, r3, 2, 6, 3, 7); // c2 d2 c3 d3
      const d = dst + (<usize>k0 << 4);
      v128.store(d, v128.shuffle<f32>(t0, t2, 0, 1, 4, 5));
      v128.store(d, v128.shuffle<f32>(t0, t2, 2, 3, 6, 7), 16);
      v128.store(d, v128.shuffle<f32>(t1, t3, 0, 1, 4, 5), 32);
      v128.store(d, v128.shuffle<f32>(t1, t3, 2, 3, 6, 7), 48);
    }
    if (k0 == kc) return;
  }
  for (let r = 0; r < MR; r++) {
    let d = dst + ((<usize>k0 * MR + <usize>r) << 2);
    if (r < rows) {
      let s = a + <usize>r * rsA + <usize>k0 * csA;
      for (let k = k0; k < kc; k++) {
        store<f32>(d, load<f32>(s));
        d += MR << 2;
        s += csA;
      }
    } else {
      for (let k = k0; k < kc; k++) {
        store<f32>(d, 0);
        d += MR << 2;
      }
    }
  }
}

/**
 * A 4 x 8 tile of C from a micro-panel of B [kc][8] and 4 rows of op(A) whose
 * values for one k are contiguous, `aStride` bytes from one k to the next: a
 * packed micro-panel (16) or, for op(A) = A^T, A itself (its row length).
 */
function kernel4(c: usize, ldc: usize, ap: usize, aStride: usize, bp: usize, kc: i32, rows: i32, cols: i32, acc: bool): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0);
  let c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0);
  let c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  for (let k = 0; k < kc; k++) {
    const b0 = v128.load(bp);
    const b1 = v128.load(bp, 16);
    let x = v128.load32_splat(ap);
    c00 = fmadd(x, b0, c00); c01 = fmadd(x, b1, c01);
    x = v128.load32_splat(ap, 4);
    c10 = fmadd(x, b0, c10); c11 = fmadd(x, b1, c11);
    x = v128.load32_splat(ap, 8);
    c20 = fmadd(x, b0, c20); c21 = fmadd(x, b1, c21);
    x = v128.load32_splat(ap, 12);
    c30 = fmadd(x, b0, c30); c31 = fmadd(x, b1, c31);
    ap += aStride;
    bp += 32;
  }
  storeRow(c, c00, c01, cols, acc);
  if (rows > 1) storeRow(c + ldc, c10, c11, cols, acc);
  if (rows > 2) storeRow(c + ldc * 2, c20, c21, cols, acc);
  if (rows > 3) storeRow(c + ldc * 3, c30, c31, cols, acc);
}

/** Scratch for packed A: MC x KC floats, set once by the loader. */
let aPack: usize = 0;

export function setPackScratch(p: usize): void {
  aPack = p;
}

/** Floats the loader must reserve for setPackScratch. */
export function packScratchFloats(): i32 {
  return MC * KC;
}

/**
 * C[M, N] (+)= op(A) · op(B) with op(B) already packed (K deep). C rows are ldc
 * bytes apart (N floats, or more for a column range of a wider C). With K = 0
 * the product is zero. Loops: k blocks of KC, row blocks of MC (packed into
 * aPack, in L2), then 8-column panels of B (a KC x 8 block stays in L1) across
 * the row block's micro-panels. Each entry of C is the same chain of operations
 * whatever rows and columns a call covers, which is what lets threads split a
 * product by rows and panels without changing a bit of the result.
 */
export function gemm(c: usize, ldc: usize, a: usize, rsA: usize, csA: usize, packed: usize, M: i32, N: i32, K: i32, accumulate: bool): void {
  if (K == 0) {
    if (!accumulate) for (let i = 0; i < M; i++) memory.fill(c + <usize>i * ldc, 0, <usize>N << 2);
    return;
  }
  const panels = (N + NR - 1) / NR;
  const inPlace = rsA == 4;
  for (let k0 = 0; k0 < K; k0 += KC) {
    const kc = min(KC, K - k0);
    const acc = accumulate || k0 > 0;
    const ak = a + <usize>k0 * csA;
    const microBytes = <usize>(kc * MR) << 2;
    for (let i0 = 0; i0 < M; i0 += MC) {
      const iEnd = min(M, i0 + MC);
      // op(A) = A^T already has the layout of a packed panel with a longer stride;
      // only a partial last panel is packed (reading past it could leave memory).
      for (let i = i0, m: usize = 0; i < iEnd; i += MR, m++) {
        const rows = min(MR, iEnd - i);
        if (!inPlace || rows < MR) packA(aPack + m * microBytes, ak + <usize>i * rsA, rsA, csA, rows, kc);
      }
      // Whole micro-panels of rows go through kernel4; a last one of 1-3 rows goes
      // row by row through kernel1x4 (below), which costs a quarter of a kernel4
      // call per row instead of a whole one.
      const fullEnd = i0 + ((iEnd - i0) / MR) * MR;
      for (let p = 0; p < panels; p++) {
        const cols = min(NR, N - p * NR);
        const bp = packed + ((<usize>p * <usize>K + <usize>k0) * NR << 2);
        const cp = c + (<usize>(p * NR) << 2);
        for (let i = i0, m: usize = 0; i < fullEnd; i += MR, m++) {
          if (inPlace) kernel4(cp + <usize>i * ldc, ldc, ak + <usize>i * rsA, csA, bp, kc, MR, cols, acc);
          else kernel4(cp + <usize>i * ldc, ldc, aPack + m * microBytes, MR << 2, bp, kc, MR, cols, acc);
        }
      }
      if (fullEnd < iEnd) {
        const ap = aPack + <usize>((fullEnd - i0) / MR) * microBytes;
        const fullPanels = N / NR;
        const panelBytes = (<usize>K * NR) << 2;
        for (let i = fullEnd; i < iEnd; i++) {
          const a1 = ap + (<usize>(i - fullEnd) << 2);
          const cr = c + <usize>i * ldc;
          let p = 0;
          for (; p + 4 <= fullPanels; p += 4) {
            kernel1x4(cr + (<usize>(p * NR) << 2), a1, packed + ((<usize>p * <usize>K + <usize>k0) * NR << 2), panelBytes, kc, acc);
          }
          for (; p < panels; p++) {
            kernel1(cr + (<usize>(p * NR) << 2), a1, packed + ((<usize>p * <usize>K + <usize>k0) * NR << 2), kc, min(NR, N - p * NR), acc);
          }
        }
      }
    }
  }
}

/**
 * One row of C across four whole panels (32 columns) from a packed micro-panel
 * row (values MR floats apart): eight independent sums, as many as kernel4
 * keeps, so the row runs at kernel4's rate per entry. Each entry is the same
 * chain of multiply-adds over k as in kernel4.
 */
function kernel1x4(c: usize, ap: usize, bp: usize, panelBytes: usize, kc: i32, acc: bool): void {
  let s0 = f32x4.splat(0), s1 = f32x4.splat(0), s2 = f32x4.splat(0), s3 = f32x4.splat(0);
  let s4 = f32x4.splat(0), s5 = f32x4.splat(0), s6 = f32x4.splat(0), s7 = f32x4.splat(0);
  const b1 = bp + panelBytes, b2 = bp + panelBytes * 2, b3 = bp + panelBytes * 3;
  for (let k = 0; k < kc; k++) {
    const o = <usize>k << 5;
    const x = v128.load32_splat(ap);
    s0 = fmadd(x, v128.load(bp + o), s0); s1 = fmadd(x, v128.load(bp + o, 16), s1);
    s2 = fmadd(x, v128.load(b1 + o), s2); s3 = fmadd(x, v128.load(b1 + o, 16), s3);
    s4 = fmadd(x, v128.load(b2 + o), s4); s5 = fmadd(x, v128.load(b2 + o, 16), s5);
    s6 = fmadd(x, v128.load(b3 + o), s6); s7 = fmadd(x, v128.load(b3 + o, 16), s7);
    ap += MR << 2;
  }
  storeRow(c, s0, s1, NR, acc);
  storeRow(c + 32, s2, s3, NR, acc);
  storeRow(c + 64, s4, s5, NR, acc);
  storeRow(c + 96, s6, s7, NR, acc);
}

/** One row of C across one panel (the panels kernel1x4 leaves). */
function kernel1(c: usize, ap: usize, bp: usize, kc: i32, cols: i32, acc: bool): void {
  let s0 = f32x4.splat(0), s1 = f32x4.splat(0);
  for (let k = 0; k < kc; k++) {
    const x = v128.load32_splat(ap);
    s0 = fmadd(x, v128.load(bp), s0);
    s1 = fmadd(x, v128.load(bp, 16), s1);
    ap += MR << 2;
    bp += 32;
  }
  storeRow(c, s0, s1, cols, acc);
}

/** Packs op(B) of Kernels.matmul: B [K, N], or B [N, K] when transB. */
export function packB(ws: usize, b: usize, K: i32, N: i32, transB: bool): void {
  if (transB) packT(ws, b, K, N);
  else packN(ws, b, K, N, <usize>N << 2);
}

/** The whole of Kernels.matmul; ws holds packedSize(K, N) floats. */
export function matmulPacked(c: usize, a: usize, b: usize, M: i32, N: i32, K: i32, transA: bool, transB: bool, accumulate: bool, ws: usize): void {
  packB(ws, b, K, N, transB);
  const rsA: usize = transA ? 4 : <usize>K << 2;
  const csA: usize = transA ? <usize>M << 2 : 4;
  gemm(c, <usize>N << 2, a, rsA, csA, ws, M, N, K, accumulate);
}

// ---------------------------------------------------------------- on several threads
//
// A product splits into tiles of up to MC rows by a group of panels; a tile
// packs its own rows of op(A) into its thread's aPack. Packing op(B) splits into
// items of PACK_PANELS panels. Callers run the packing items, a barrier, then the
// tiles (see matmulThreaded).

/** Panels of op(B) per packing item. */
const PACK_PANELS: i32 = 4;

/** Packing items of an N-wide op(B). */
// @ts-ignore: decorator
@inline export function packItems(N: i32): i32 {
  return itemsOf(itemsOf(N, NR), PACK_PANELS);
}

/** Packs item `item` (PACK_PANELS panels) of op(B) into the packed layout at ws. */
export function packBItem(item: i32, ws: usize, b: usize, K: i32, N: i32, transB: bool): void {
  const j0 = item * PACK_PANELS * NR;
  const cols = min(PACK_PANELS * NR, N - j0);
  const dst = ws + ((<usize>j0 * <usize>K) << 2);
  if (transB) packT(dst, b + ((<usize>j0 * <usize>K) << 2), K, cols);
  else packN(dst, b + (<usize>j0 << 2), K, cols, <usize>N << 2);
}

/** Column groups of an M x N product's tiles: split the panels until there are 4 tiles per thread, where they allow. */
function tileGroups(M: i32, N: i32): i32 {
  const rowBlocks = itemsOf(M, MC);
  const panels = itemsOf(N, NR);
  let groups = 1;
  while (rowBlocks * groups < 4 * threadCount && groups * 2 <= panels) groups <<= 1;
  return groups;
}

/** Tiles of an M x N product. */
export function productTiles(M: i32, N: i32): i32 {
  return itemsOf(M, MC) * tileGroups(M, N);
}

/** Tile `tile` of C[M, N] (+)= op(A) · op(B), op(B) packed; rsA and csA as for gemm. */
export function gemmTile(tile: i32, c: usize, a: usize, rsA: usize, csA: usize, packed: usize, M: i32, N: i32, K: i32, accumulate: bool): void {
  const groups = tileGroups(M, N);
  const panels = itemsOf(N, NR);
  const r = tile / groups, q = tile % groups;
  const p0 = q * panels / groups, p1 = (q + 1) * panels / groups;
  const i0 = r * MC;
  const j0 = p0 * NR;
  const ldc = <usize>N << 2;
  gemm(c + <usize>i0 * ldc + (<usize>j0 << 2), ldc, a + <usize>i0 * rsA, rsA, csA, packed + ((<usize>j0 * <usize>K) << 2),
    min(MC, M - i0), min(N, p1 * NR) - j0, K, accumulate);
}

/** Kernels.matmul on every thread of the job: packing (counter 0), barrier, tiles (counter 1). */
export function matmulThreaded(c: usize, a: usize, b: usize, M: i32, N: i32, K: i32, transA: bool, transB: bool, accumulate: bool, ws: usize): void {
  const packs = packItems(N);
  for (let i = nextItem(0); i < packs; i = nextItem(0)) packBItem(i, ws, b, K, N, transB);
  barrier();
  const rsA: usize = transA ? 4 : <usize>K << 2;
  const csA: usize = transA ? <usize>M << 2 : 4;
  const tiles = productTiles(M, N);
  for (let i = nextItem(1); i < tiles; i = nextItem(1)) gemmTile(i, c, a, rsA, csA, ws, M, N, K, accumulate);
}
