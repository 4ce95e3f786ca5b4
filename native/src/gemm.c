// Matrix multiply, BLIS-style: op(B) packed into panels of GEMM_NR columns by
// blocks of GEMM_KC rows, op(A) read in place (or packed when transposed, or
// pre-packed by the recurrence), and a register-blocked micro-kernel picked for
// the CPU at run time: 10 x 32 with AVX-512, 6 x 16 with AVX2/FMA, 6 x 16 in
// portable C. Every element of C is the same sequence of operations (a chain of
// fused multiply-adds over each K block from zero, added to C, then the bias)
// whatever the tile, kernel width or thread split, so a result does not depend
// on how many threads produced it, nor on whether AVX-512 or AVX2 did.
#include "charrnn.h"

#include <stdlib.h>
#include <string.h>

#if (defined(__x86_64__) || defined(__i386__)) && !defined(CHARRNN_PORTABLE)
#include <immintrin.h>
#define HAVE_X86 1
/* target("avx512f") and the AVX-512 intrinsics: GCC 5+, any clang that has them. */
#if !defined(CHARRNN_NO_AVX512) && (defined(__clang__) || (defined(__GNUC__) && __GNUC__ >= 5))
#define HAVE_AVX512 1
#endif
#endif

/*
 * A micro-kernel reads op(A) in place: element [r, k] of the tile at a[r * rs + k * cs]
 * (a packed panel is rs = 1, cs = mr; a row-major A rs = K, cs = 1). B is np panels
 * of GEMM_NR columns, panel q at pb + q * ps, kc rows each. Rows past mr and columns
 * past nr are neither read from A nor written to C.
 */
typedef void (*micro_fn)(int kc, const float *a, ptrdiff_t rs, ptrdiff_t cs, const float *pb, ptrdiff_t ps, float *c,
                         int ldc, int mr, int nr, int beta, const float *bias);

typedef struct {
  micro_fn fn;
  int mr, np;
  const char *name;
} kernel_t;

#define MR6 6

/* Writes a finished tile: c = (beta ? c : 0) + acc (+ bias), the same order as the vector paths. */
static inline void store_tile(const float acc[MR6][GEMM_NR], float *c, int ldc, int mr, int nr, int beta,
                              const float *bias) {
  for (int r = 0; r < mr; r++) {
    for (int j = 0; j < nr; j++) {
      float v = acc[r][j];
      if (beta) v = c[r * ldc + j] + v;
      if (bias) v = v + bias[j];
      c[r * ldc + j] = v;
    }
  }
}

static void micro_generic(int kc, const float *a, ptrdiff_t rs, ptrdiff_t cs, const float *pb, ptrdiff_t ps, float *c,
                          int ldc, int mr, int nr, int beta, const float *bias) {
  float acc[MR6][GEMM_NR];
  memset(acc, 0, sizeof acc);
  ptrdiff_t off[MR6];
  for (int r = 0; r < MR6; r++) off[r] = r < mr ? r * rs : 0;
  for (int k = 0; k < kc; k++) {
    for (int r = 0; r < MR6; r++) {
      const float ar = a[off[r]];
      for (int j = 0; j < GEMM_NR; j++) acc[r][j] += ar * pb[j];
    }
    a += cs;
    pb += GEMM_NR;
  }
  store_tile((const float(*)[GEMM_NR])acc, c, ldc, mr, nr, beta, bias);
}

#ifdef HAVE_X86
#define AVX2 __attribute__((target("avx2,fma")))

/* Writes rows [0, rows) of a finished 16-column tile: c = (beta ? c : 0) + acc (+ bias). */
AVX2 static inline __attribute__((always_inline)) void store_avx2(__m256 acc[MR6][2], int rows, float *c, int ldc,
                                                                  int nr, int beta, const float *bias) {
  if (nr == GEMM_NR) {
    const __m256 bias0 = bias ? _mm256_loadu_ps(bias) : _mm256_setzero_ps();
    const __m256 bias1 = bias ? _mm256_loadu_ps(bias + 8) : _mm256_setzero_ps();
#pragma GCC unroll 6
    for (int r = 0; r < rows; r++) {
      float *cr = c + (size_t)r * ldc;
      __m256 v0 = acc[r][0], v1 = acc[r][1];
      if (beta) {
        v0 = _mm256_add_ps(_mm256_loadu_ps(cr), v0);
        v1 = _mm256_add_ps(_mm256_loadu_ps(cr + 8), v1);
      }
      if (bias) {
        v0 = _mm256_add_ps(v0, bias0);
        v1 = _mm256_add_ps(v1, bias1);
      }
      _mm256_storeu_ps(cr, v0);
      _mm256_storeu_ps(cr + 8, v1);
    }
  } else {
    float t[MR6][GEMM_NR] __attribute__((aligned(32)));
#pragma GCC unroll 6
    for (int r = 0; r < rows; r++) {
      _mm256_store_ps(t[r], acc[r][0]);
      _mm256_store_ps(t[r] + 8, acc[r][1]);
    }
    store_tile((const float(*)[GEMM_NR])t, c, ldc, rows, nr, beta, bias);
  }
}

/*
 * Six rows x 16 columns, written out (the shape of nearly every tile, and the
 * fastest form of it here): 12 accumulators + 2 B vectors + 1 broadcast = 15 of
 * the 16 ymm registers.
 */
AVX2 static void tile6_avx2(int kc, const float *a, ptrdiff_t rs, ptrdiff_t cs, const float *pb, float *c, int ldc,
                            int nr, int beta, const float *bias) {
  const ptrdiff_t o1 = rs, o2 = 2 * rs, o3 = 3 * rs, o4 = 4 * rs, o5 = 5 * rs;
  __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps();
  __m256 c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
  __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps();
  __m256 c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();
  __m256 c40 = _mm256_setzero_ps(), c41 = _mm256_setzero_ps();
  __m256 c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();
#pragma GCC unroll 4
  for (int k = 0; k < kc; k++) {
    const __m256 b0 = _mm256_load_ps(pb), b1 = _mm256_load_ps(pb + 8);
    __m256 v;
    v = _mm256_broadcast_ss(a); c00 = _mm256_fmadd_ps(v, b0, c00); c01 = _mm256_fmadd_ps(v, b1, c01);
    v = _mm256_broadcast_ss(a + o1); c10 = _mm256_fmadd_ps(v, b0, c10); c11 = _mm256_fmadd_ps(v, b1, c11);
    v = _mm256_broadcast_ss(a + o2); c20 = _mm256_fmadd_ps(v, b0, c20); c21 = _mm256_fmadd_ps(v, b1, c21);
    v = _mm256_broadcast_ss(a + o3); c30 = _mm256_fmadd_ps(v, b0, c30); c31 = _mm256_fmadd_ps(v, b1, c31);
    v = _mm256_broadcast_ss(a + o4); c40 = _mm256_fmadd_ps(v, b0, c40); c41 = _mm256_fmadd_ps(v, b1, c41);
    v = _mm256_broadcast_ss(a + o5); c50 = _mm256_fmadd_ps(v, b0, c50); c51 = _mm256_fmadd_ps(v, b1, c51);
    a += cs;
    pb += GEMM_NR;
  }
  __m256 acc[MR6][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}, {c40, c41}, {c50, c51}};
  store_avx2(acc, MR6, c, ldc, nr, beta, bias);
}

/*
 * ROWS (1 to 5) rows x 16 columns: the last tile of a matrix whose rows do not fill
 * whole six-row tiles (B = 25 or 50) costs its own rows' FMAs, not six rows'. Each
 * element is the same FMA chain as in tile6_avx2.
 */
AVX2 static inline __attribute__((always_inline)) void tile_avx2(int kc, const float *a, ptrdiff_t rs, ptrdiff_t cs,
                                                                 const float *pb, float *c, int ldc, int nr, int beta,
                                                                 const float *bias, const int ROWS) {
  __m256 acc[MR6][2];
#pragma GCC unroll 6
  for (int r = 0; r < ROWS; r++) acc[r][0] = acc[r][1] = _mm256_setzero_ps();
#pragma GCC unroll 4
  for (int k = 0; k < kc; k++) {
    const __m256 b0 = _mm256_load_ps(pb), b1 = _mm256_load_ps(pb + 8);
#pragma GCC unroll 6
    for (int r = 0; r < ROWS; r++) {
      const __m256 v = _mm256_broadcast_ss(a + r * rs);
      acc[r][0] = _mm256_fmadd_ps(v, b0, acc[r][0]);
      acc[r][1] = _mm256_fmadd_ps(v, b1, acc[r][1]);
    }
    a += cs;
    pb += GEMM_NR;
  }
  store_avx2(acc, ROWS, c, ldc, nr, beta, bias);
}

AVX2 static void micro_avx2(int kc, const float *a, ptrdiff_t rs, ptrdiff_t cs, const float *pb, ptrdiff_t ps, float *c,
                            int ldc, int mr, int nr, int beta, const float *bias) {
  (void)ps;
  switch (mr) {
    case 6: tile6_avx2(kc, a, rs, cs, pb, c, ldc, nr, beta, bias); break;
    case 5: tile_avx2(kc, a, rs, cs, pb, c, ldc, nr, beta, bias, 5); break;
    case 4: tile_avx2(kc, a, rs, cs, pb, c, ldc, nr, beta, bias, 4); break;
    case 3: tile_avx2(kc, a, rs, cs, pb, c, ldc, nr, beta, bias, 3); break;
    case 2: tile_avx2(kc, a, rs, cs, pb, c, ldc, nr, beta, bias, 2); break;
    default: tile_avx2(kc, a, rs, cs, pb, c, ldc, nr, beta, bias, 1); break;
  }
}
#endif

#ifdef HAVE_AVX512
#define MR10 10
#define AVX512 __attribute__((target("avx512f")))

/*
 * ROWS (10, or 5 for short tiles) rows x 32 columns (two panels; one when `two` is 0): with
 * ten rows, 20 zmm accumulators, two B vectors and a broadcast; per k 20 FMAs against 12
 * loads, so the FMA ports are the limit. rs, cs: A's strides; the callers pass constants
 * so that the addresses fold. Rows in [mr, ROWS) are read (zero padding of a packed panel)
 * but not stored.
 */
AVX512 static inline __attribute__((always_inline)) void tile512(int kc, const float *a, ptrdiff_t rs, ptrdiff_t cs,
                                                                 const float *pb, ptrdiff_t ps, float *c, int ldc,
                                                                 int mr, int nr, int beta, const float *bias,
                                                                 const int ROWS, const int two) {
  __m512 x0[MR10], x1[MR10];
  /* The C tile is read or written only after the loop: have it on its way meanwhile. */
#pragma GCC unroll 10
  for (int r = 0; r < ROWS; r++) {
    if (r < mr) {
      _mm_prefetch((const char *)(c + (size_t)r * ldc), _MM_HINT_T0);
      _mm_prefetch((const char *)(c + (size_t)r * ldc + nr - 1), _MM_HINT_T0);
      if (two) _mm_prefetch((const char *)(c + (size_t)r * ldc + 16), _MM_HINT_T0);
    }
  }
#pragma GCC unroll 10
  for (int r = 0; r < ROWS; r++) x0[r] = x1[r] = _mm512_setzero_ps();
  for (int k = 0; k < kc; k++) {
    const __m512 b0 = _mm512_load_ps(pb);
    const __m512 b1 = two ? _mm512_load_ps(pb + ps) : b0;
#pragma GCC unroll 10
    for (int r = 0; r < ROWS; r++) {
      const __m512 v = _mm512_set1_ps(a[r * rs]);
      x0[r] = _mm512_fmadd_ps(v, b0, x0[r]);
      if (two) x1[r] = _mm512_fmadd_ps(v, b1, x1[r]);
    }
    a += cs;
    pb += GEMM_NR;
  }
  const __mmask16 m0 = nr >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << nr) - 1);
  const __mmask16 m1 = !two || nr <= 16 ? 0 : nr >= 32 ? (__mmask16)0xFFFF : (__mmask16)((1u << (nr - 16)) - 1);
  const __m512 bias0 = bias ? _mm512_maskz_loadu_ps(m0, bias) : _mm512_setzero_ps();
  const __m512 bias1 = bias && two ? _mm512_maskz_loadu_ps(m1, bias + 16) : _mm512_setzero_ps();
#pragma GCC unroll 10
  for (int r = 0; r < ROWS; r++) {
    if (r >= mr) break;
    float *cr = c + (size_t)r * ldc;
    __m512 v0 = x0[r];
    if (beta) v0 = _mm512_add_ps(_mm512_maskz_loadu_ps(m0, cr), v0);
    if (bias) v0 = _mm512_add_ps(v0, bias0);
    _mm512_mask_storeu_ps(cr, m0, v0);
    if (two) {
      __m512 v1 = x1[r];
      if (beta) v1 = _mm512_add_ps(_mm512_maskz_loadu_ps(m1, cr + 16), v1);
      if (bias) v1 = _mm512_add_ps(v1, bias1);
      _mm512_mask_storeu_ps(cr + 16, m1, v1);
    }
  }
}

/* A packed panel of ten rows, mr of them real: its padding rows hold zeros. */
AVX512 static void micro_avx512_packed(int kc, const float *a, const float *pb, ptrdiff_t ps, float *c, int ldc, int mr,
                                       int nr, int beta, const float *bias) {
  if (mr > 5) {
    if (nr > GEMM_NR) tile512(kc, a, 1, MR10, pb, ps, c, ldc, mr, nr, beta, bias, 10, 1);
    else tile512(kc, a, 1, MR10, pb, ps, c, ldc, mr, nr, beta, bias, 10, 0);
  } else {
    if (nr > GEMM_NR) tile512(kc, a, 1, MR10, pb, ps, c, ldc, mr, nr, beta, bias, 5, 1);
    else tile512(kc, a, 1, MR10, pb, ps, c, ldc, mr, nr, beta, bias, 5, 0);
  }
}

AVX512 static void micro_avx512(int kc, const float *a, ptrdiff_t rs, ptrdiff_t cs, const float *pb, ptrdiff_t ps,
                                float *c, int ldc, int mr, int nr, int beta, const float *bias) {
  if (rs == 1 && cs == MR10) {
    micro_avx512_packed(kc, a, pb, ps, c, ldc, mr, nr, beta, bias);
  } else if (cs == 1 && mr == MR10) {
    /* Ten rows of a row-major A, in place. */
    if (nr > GEMM_NR) tile512(kc, a, rs, 1, pb, ps, c, ldc, mr, nr, beta, bias, 10, 1);
    else tile512(kc, a, rs, 1, pb, ps, c, ldc, mr, nr, beta, bias, 10, 0);
  } else {
    /* A partial tile of an A read in place: pack its rows, zero the rest (same products, same order). */
    float t[GEMM_KC * MR10] __attribute__((aligned(64)));
    for (int k = 0; k < kc; k++) {
      int r = 0;
      for (; r < mr; r++) t[k * MR10 + r] = a[r * rs + k * cs];
      for (; r < MR10; r++) t[k * MR10 + r] = 0.0f;
    }
    micro_avx512_packed(kc, t, pb, ps, c, ldc, mr, nr, beta, bias);
  }
}
#endif

static const kernel_t K_GENERIC = {micro_generic, MR6, 1, "generic"};
#ifdef HAVE_X86
static const kernel_t K_AVX2 = {micro_avx2, MR6, 1, "avx2-fma"};
#endif
#ifdef HAVE_AVX512
static const kernel_t K_AVX512 = {micro_avx512, MR10, 2, "avx512"};
#endif

static const kernel_t *kernel_cache = NULL;

static const kernel_t *choose_kernel(void) {
  const kernel_t *k = &K_GENERIC;
#ifdef HAVE_X86
  /* CHARRNN_NATIVE_SIMD caps the choice (avx2, generic): for tests and comparisons. */
  const char *cap = getenv("CHARRNN_NATIVE_SIMD");
  const int allow512 = !cap || !*cap || strcmp(cap, "avx512") == 0;
  const int allow2 = allow512 || strcmp(cap, "avx2") == 0 || strcmp(cap, "avx2-fma") == 0;
  __builtin_cpu_init();
  if (allow2 && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) k = &K_AVX2;
#ifdef HAVE_AVX512
  if (allow512 && k == &K_AVX2 && __builtin_cpu_supports("avx512f")) k = &K_AVX512;
#endif
#endif
  return k;
}

static inline const kernel_t *kernel(void) {
  const kernel_t *k = __atomic_load_n(&kernel_cache, __ATOMIC_ACQUIRE);
  if (!k) {
    /* Every thread that gets here picks the same one. */
    k = choose_kernel();
    __atomic_store_n(&kernel_cache, k, __ATOMIC_RELEASE);
  }
  return k;
}

int gemm_mr(void) { return kernel()->mr; }
int gemm_np(void) { return kernel()->np; }
const char *gemm_simd(void) { return kernel()->name; }
int gemm_uses_avx2(void) { return kernel() != &K_GENERIC; }
int gemm_uses_avx512(void) {
#ifdef HAVE_AVX512
  return kernel() == &K_AVX512;
#else
  return 0;
#endif
}

static inline int panels_of(int N) { return (N + GEMM_NR - 1) / GEMM_NR; }

size_t gemm_packed_b_size(int K, int N) { return (size_t)K * panels_of(N) * GEMM_NR; }

void gemm_pack_b(float *pb, const float *b, int transB, int K, int N, int p0, int p1) {
  const size_t Npad = (size_t)panels_of(N) * GEMM_NR;
  if (p1 > panels_of(N)) p1 = panels_of(N);
  for (int k0 = 0; k0 < K; k0 += GEMM_KC) {
    const int kc = K - k0 < GEMM_KC ? K - k0 : GEMM_KC;
    for (int p = p0; p < p1; p++) {
      float *dst = pb + (size_t)k0 * Npad + (size_t)p * kc * GEMM_NR; /* [kc][NR] */
      const int j0 = p * GEMM_NR;
      const int nr = N - j0 < GEMM_NR ? N - j0 : GEMM_NR;
      if (transB) {
        /* b is [N, K]: walk each row of b along K, contiguous reads. */
        for (int jj = 0; jj < nr; jj++) {
          const float *src = b + (size_t)(j0 + jj) * K + k0;
          for (int k = 0; k < kc; k++) dst[k * GEMM_NR + jj] = src[k];
        }
      } else {
        /* A whole panel row is a fixed-size copy, which the compiler inlines. */
        if (nr == GEMM_NR)
          for (int k = 0; k < kc; k++) memcpy(dst + k * GEMM_NR, b + (size_t)(k0 + k) * N + j0, GEMM_NR * sizeof(float));
        else
          for (int k = 0; k < kc; k++) memcpy(dst + k * GEMM_NR, b + (size_t)(k0 + k) * N + j0, (size_t)nr * sizeof(float));
      }
      if (nr < GEMM_NR)
        for (int k = 0; k < kc; k++)
          for (int jj = nr; jj < GEMM_NR; jj++) dst[k * GEMM_NR + jj] = 0.0f;
    }
  }
}

/* Packs rows [i0, i0 + mc) and columns [k0, k0 + kc) of a transposed A (a is [K, M]) as panels [mc/MR][kc][MR]. */
static void pack_a_trans(float *pa, const float *a, int M, int i0, int mc, int k0, int kc, int MR) {
  const int full = mc / MR * MR; /* rows in whole panels */
  /* Row by row of a (contiguous reads, the rows ahead prefetched): each row feeds every panel. */
  for (int k = 0; k < kc; k++) {
    const float *src = a + (size_t)(k0 + k) * M + i0;
    if (k + 8 < kc) {
      const char *ahead = (const char *)(src + (size_t)8 * M);
      for (int b = 0; b < mc * (int)sizeof(float); b += 64) __builtin_prefetch(ahead + b, 0, 3);
    }
    float *dst = pa + (size_t)k * MR;
    /* Whole panels: fixed-size copies, which the compiler turns into vector moves. */
    if (MR == 10)
      for (int i = 0; i < full; i += 10) memcpy(dst + (size_t)i * kc, src + i, 10 * sizeof(float));
    else if (MR == 6)
      for (int i = 0; i < full; i += 6) memcpy(dst + (size_t)i * kc, src + i, 6 * sizeof(float));
    else
      for (int i = 0; i < full; i += MR) memcpy(dst + (size_t)i * kc, src + i, (size_t)MR * sizeof(float));
    if (full < mc) {
      float *d = dst + (size_t)full * kc;
      int r = 0;
      for (; r < mc - full; r++) d[r] = src[full + r];
      for (; r < MR; r++) d[r] = 0.0f;
    }
  }
}

void gemm_part(const float *a, int transA, int M, int K, const float *pb, int N, float *c, int ldc, int m0, int m1,
               int p0, int p1, int accumulate, const float *bias, float *pa) {
  const kernel_t *kn = kernel();
  const int MR = kn->mr, NP = kn->np, MC = 16 * kn->mr;
  const size_t Npad = (size_t)panels_of(N) * GEMM_NR;
  if (m1 > M) m1 = M;
  if (p1 > panels_of(N)) p1 = panels_of(N);
  if (m0 >= m1 || p0 >= p1) return;
  if (K == 0) {
    /* An empty sum: C is 0 (+ bias), or unchanged when accumulating. */
    for (int i = m0; i < m1; i++)
      for (int j = p0 * GEMM_NR; j < p1 * GEMM_NR && j < N; j++) {
        float v = accumulate ? c[(size_t)i * ldc + j] : 0.0f;
        c[(size_t)i * ldc + j] = bias ? v + bias[j] : v;
      }
    return;
  }
  /* A row-major A is read in place: packing it cost more than it saved. A transposed A is
     packed, since reading it in place strides by whole rows of M floats, which alias in L1. */
  const ptrdiff_t rs = transA ? 1 : K, cs = transA ? M : 1;
  for (int k0 = 0; k0 < K; k0 += GEMM_KC) {
    const int kc = K - k0 < GEMM_KC ? K - k0 : GEMM_KC;
    const int beta = accumulate || k0 > 0;
    /* Blocks of MC rows of A stay in L2 while every B panel passes over them. */
    for (int i0 = m0; i0 < m1; i0 += MC) {
      const int mc = m1 - i0 < MC ? m1 - i0 : MC;
      if (transA) pack_a_trans(pa, a, M, i0, mc, k0, kc, MR);
      for (int p = p0; p < p1; p += NP) {
        const float *bp = pb + (size_t)k0 * Npad + (size_t)p * kc * GEMM_NR;
        const int j0 = p * GEMM_NR;
        const int pe = p + NP < p1 ? p + NP : p1;
        const int nr = (pe * GEMM_NR < N ? pe * GEMM_NR : N) - j0;
        const float *bb = bias && k0 == 0 ? bias + j0 : NULL;
        for (int i = i0; i < i0 + mc; i += MR) {
          const int mr = i0 + mc - i < MR ? i0 + mc - i : MR;
          float *ct = c + (size_t)i * ldc + j0;
          if (transA) kn->fn(kc, pa + (size_t)(i - i0) * kc, 1, MR, bp, (ptrdiff_t)kc * GEMM_NR, ct, ldc, mr, nr, beta, bb);
          else kn->fn(kc, a + i * rs + k0 * cs, rs, cs, bp, (ptrdiff_t)kc * GEMM_NR, ct, ldc, mr, nr, beta, bb);
        }
      }
    }
  }
}

void gemm_prepacked(const float *pa, int M, int K, const float *pb, int N, float *c, int ldc, int p0, int p1,
                    int accumulate, const float *bias) {
  const kernel_t *kn = kernel();
  const int MR = kn->mr, NP = kn->np;
  const size_t Npad = (size_t)panels_of(N) * GEMM_NR;
  const size_t Mpad = (size_t)packed_a_rows(M, MR);
  if (p1 > panels_of(N)) p1 = panels_of(N);
  for (int k0 = 0; k0 < K; k0 += GEMM_KC) {
    const int kc = K - k0 < GEMM_KC ? K - k0 : GEMM_KC;
    const int beta = accumulate || k0 > 0;
    for (int p = p0; p < p1; p += NP) {
      const float *bp = pb + (size_t)k0 * Npad + (size_t)p * kc * GEMM_NR;
      const int j0 = p * GEMM_NR;
      const int pe = p + NP < p1 ? p + NP : p1;
      const int nr = (pe * GEMM_NR < N ? pe * GEMM_NR : N) - j0;
      const float *bb = bias && k0 == 0 ? bias + j0 : NULL;
      for (int i = 0; i < M; i += MR) {
        const int mr = M - i < MR ? M - i : MR;
        kn->fn(kc, pa + (size_t)k0 * Mpad + (size_t)i * kc, 1, MR, bp, (ptrdiff_t)kc * GEMM_NR, c + (size_t)i * ldc + j0,
               ldc, mr, nr, beta, bb);
      }
    }
  }
}

typedef struct {
  ctx_t *ctx;
  float *c;
  const float *a, *b, *bias;
  float *pb;
  int M, N, K, transA, transB, accumulate, splitM, step, chunks;
  workq_t q;
} gemm_job_t;

/* Items: first one per B panel to pack, then the chunks of C (j->step rows, or j->step panels) once all of B is packed. */
static void gemm_job(void *arg, int tid, int n) {
  gemm_job_t *j = arg;
  const int panels = panels_of(j->N), total = panels + j->chunks;
  for (int item; (item = workq_take(&j->q)) < total; workq_finish(&j->q)) {
    if (item < panels) {
      gemm_pack_b(j->pb, j->b, j->transB, j->K, j->N, item, item + 1);
      continue;
    }
    workq_wait(&j->q, panels);
    const int c = item - panels;
    if (j->splitM)
      gemm_part(j->a, j->transA, j->M, j->K, j->pb, j->N, j->c, j->N, c * j->step, (c + 1) * j->step, 0, panels,
                j->accumulate, j->bias, j->ctx->pack_a[tid]);
    else
      gemm_part(j->a, j->transA, j->M, j->K, j->pb, j->N, j->c, j->N, 0, j->M, c * j->step, (c + 1) * j->step,
                j->accumulate, j->bias, j->ctx->pack_a[tid]);
  }
}

/* Below this many multiply-adds a second thread costs more than it saves. */
#define GEMM_PARALLEL_MIN (512 * 1024)

/* Splits `units` tiles into chunks of about `per` tiles, their count a multiple of the thread count. */
static int chunk_tiles(int units, int per, int threads) {
  int chunks = (units + per - 1) / per;
  chunks = (chunks + threads - 1) / threads * threads;
  if (chunks > units) chunks = units;
  return (units + chunks - 1) / chunks;
}

void gemm(ctx_t *ctx, float *c, const float *a, const float *b, int M, int N, int K, int transA, int transB,
          int accumulate, const float *bias) {
  if (M <= 0 || N <= 0) return;
  const kernel_t *kn = kernel();
  gemm_job_t j = {ctx, c, a, b, bias, NULL, M, N, K, transA, transB, accumulate, 0, 0, 0, {0, 0}};
  j.pb = ctx_workspace(ctx, gemm_packed_b_size(K, N) + GEMM_NR);
  const int parallel = (double)M * N * K >= GEMM_PARALLEL_MIN && ctx->threads > 1;
  const int threads = parallel ? ctx->threads : 1;
  const int mtiles = (M + kn->mr - 1) / kn->mr, ntiles = (panels_of(N) + kn->np - 1) / kn->np;
  /* The chunking changes only who computes what, never the arithmetic of an element. */
  j.splitM = mtiles >= ntiles;
  if (j.splitM) {
    j.step = chunk_tiles(mtiles, 16, threads) * kn->mr;
    j.chunks = (M + j.step - 1) / j.step;
  } else {
    j.step = chunk_tiles(ntiles, 1, threads) * kn->np;
    j.chunks = (panels_of(N) + j.step - 1) / j.step;
  }
  if (!parallel) gemm_job(&j, 0, 1);
  else pool_run(ctx->pool, gemm_job, &j);
}

typedef struct {
  float *dbias, *dbias2;
  const float *dy;
  int rows, cols;
  workq_t q;
} sum_rows_job_t;

#define SUM_ROWS_CHUNK 64

/* Columns [lo, lo + 64) of each sum, in registers while every row is added in order. */
#ifdef HAVE_AVX512
AVX512 static void sum_rows_chunk_avx512(const sum_rows_job_t *j, int lo) {
  __m512 s[4], t[4];
  for (int q = 0; q < 4; q++) {
    s[q] = _mm512_loadu_ps(j->dbias + lo + 16 * q);
    t[q] = j->dbias2 ? _mm512_loadu_ps(j->dbias2 + lo + 16 * q) : s[q];
  }
  for (int r = 0; r < j->rows; r++) {
    const float *row = j->dy + (size_t)r * j->cols + lo;
    for (int q = 0; q < 4; q++) {
      const __m512 v = _mm512_loadu_ps(row + 16 * q);
      s[q] = _mm512_add_ps(s[q], v);
      t[q] = _mm512_add_ps(t[q], v);
    }
  }
  for (int q = 0; q < 4; q++) {
    _mm512_storeu_ps(j->dbias + lo + 16 * q, s[q]);
    if (j->dbias2) _mm512_storeu_ps(j->dbias2 + lo + 16 * q, t[q]);
  }
}
#endif
#ifdef HAVE_X86
__attribute__((target("avx"))) static void sum_rows_chunk_avx(const sum_rows_job_t *j, int lo) {
  __m256 s[8], t[8];
  for (int q = 0; q < 8; q++) {
    s[q] = _mm256_loadu_ps(j->dbias + lo + 8 * q);
    t[q] = j->dbias2 ? _mm256_loadu_ps(j->dbias2 + lo + 8 * q) : s[q];
  }
  for (int r = 0; r < j->rows; r++) {
    const float *row = j->dy + (size_t)r * j->cols + lo;
    for (int q = 0; q < 8; q++) {
      const __m256 v = _mm256_loadu_ps(row + 8 * q);
      s[q] = _mm256_add_ps(s[q], v);
      t[q] = _mm256_add_ps(t[q], v);
    }
  }
  for (int q = 0; q < 8; q++) {
    _mm256_storeu_ps(j->dbias + lo + 8 * q, s[q]);
    if (j->dbias2) _mm256_storeu_ps(j->dbias2 + lo + 8 * q, t[q]);
  }
}
#endif

static void sum_rows_job(void *arg, int tid, int n) {
  sum_rows_job_t *j = arg;
  const int chunks = (j->cols + SUM_ROWS_CHUNK - 1) / SUM_ROWS_CHUNK;
  /* Each column is summed in row order within one item, whoever runs it and however wide its vectors. */
  for (int item; (item = workq_take(&j->q)) < chunks; workq_finish(&j->q)) {
    const int lo = item * SUM_ROWS_CHUNK, hi = lo + SUM_ROWS_CHUNK < j->cols ? lo + SUM_ROWS_CHUNK : j->cols;
    if (hi - lo == SUM_ROWS_CHUNK) {
#ifdef HAVE_AVX512
      if (gemm_uses_avx512()) {
        sum_rows_chunk_avx512(j, lo);
        continue;
      }
#endif
#ifdef HAVE_X86
      if (gemm_uses_avx2()) {
        sum_rows_chunk_avx(j, lo);
        continue;
      }
#endif
    }
    for (int r = 0; r < j->rows; r++) {
      const float *row = j->dy + (size_t)r * j->cols;
      for (int c = lo; c < hi; c++) j->dbias[c] += row[c];
      if (j->dbias2)
        for (int c = lo; c < hi; c++) j->dbias2[c] += row[c];
    }
  }
}

void sum_rows2(ctx_t *ctx, float *dbias, float *dbias2, const float *dy, int rows, int cols) {
  sum_rows_job_t j = {dbias, dbias2, dy, rows, cols, {0, 0}};
  if ((double)rows * cols < 256 * 1024 || ctx->threads == 1) sum_rows_job(&j, 0, 1);
  else pool_run(ctx->pool, sum_rows_job, &j);
}

void sum_rows(ctx_t *ctx, float *dbias, const float *dy, int rows, int cols) { sum_rows2(ctx, dbias, NULL, dy, rows, cols); }
