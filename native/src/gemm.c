// Matrix multiply, BLIS-style: op(B) packed into panels of GEMM_NR columns by
// blocks of GEMM_KC rows, op(A) read in place (or pre-packed by the recurrence),
// and a GEMM_MR x GEMM_NR register-blocked micro-kernel. Every element of C is
// computed by the same sequence of operations whatever the thread split, so a
// result does not depend on how many threads produced it.
#include "charrnn.h"

#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define HAVE_X86 1
#endif

/*
 * A micro-kernel reads op(A) in place: element [r, k] of the tile at a[r * rs + k * cs]
 * (a packed panel is rs = 1, cs = GEMM_MR; a row-major A rs = K, cs = 1; a transposed one
 * rs = 1, cs = M). Rows past mr read row 0 again and are dropped, never out of bounds.
 */
typedef void (*micro_fn)(int kc, const float *a, ptrdiff_t rs, ptrdiff_t cs, const float *pb, float *c, int ldc,
                         int mr, int nr, int beta, const float *bias);

/* Writes a finished tile: c = (beta ? c : 0) + acc (+ bias), the same order as the vector path. */
static inline void store_tile(const float acc[GEMM_MR][GEMM_NR], float *c, int ldc, int mr, int nr, int beta,
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

static void micro_generic(int kc, const float *a, ptrdiff_t rs, ptrdiff_t cs, const float *pb, float *c, int ldc,
                          int mr, int nr, int beta, const float *bias) {
  float acc[GEMM_MR][GEMM_NR];
  memset(acc, 0, sizeof acc);
  ptrdiff_t off[GEMM_MR];
  for (int r = 0; r < GEMM_MR; r++) off[r] = r < mr ? r * rs : 0;
  for (int k = 0; k < kc; k++) {
    for (int r = 0; r < GEMM_MR; r++) {
      const float ar = a[off[r]];
      for (int j = 0; j < GEMM_NR; j++) acc[r][j] += ar * pb[j];
    }
    a += cs;
    pb += GEMM_NR;
  }
  store_tile((const float(*)[GEMM_NR])acc, c, ldc, mr, nr, beta, bias);
}

#ifdef HAVE_X86
__attribute__((target("avx2,fma"))) static void micro_avx2(int kc, const float *a, ptrdiff_t rs, ptrdiff_t cs,
                                                           const float *pb, float *c, int ldc, int mr, int nr,
                                                           int beta, const float *bias) {
  const ptrdiff_t o1 = mr > 1 ? rs : 0, o2 = mr > 2 ? 2 * rs : 0, o3 = mr > 3 ? 3 * rs : 0;
  const ptrdiff_t o4 = mr > 4 ? 4 * rs : 0, o5 = mr > 5 ? 5 * rs : 0;
  /* 12 accumulators + 2 B vectors + 1 broadcast = 15 of the 16 ymm registers. */
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
  if (mr == GEMM_MR && nr == GEMM_NR) {
    __m256 acc[GEMM_MR][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}, {c40, c41}, {c50, c51}};
    const __m256 bias0 = bias ? _mm256_loadu_ps(bias) : _mm256_setzero_ps();
    const __m256 bias1 = bias ? _mm256_loadu_ps(bias + 8) : _mm256_setzero_ps();
    for (int r = 0; r < GEMM_MR; r++) {
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
    float acc[GEMM_MR][GEMM_NR] __attribute__((aligned(32)));
    _mm256_store_ps(acc[0], c00); _mm256_store_ps(acc[0] + 8, c01);
    _mm256_store_ps(acc[1], c10); _mm256_store_ps(acc[1] + 8, c11);
    _mm256_store_ps(acc[2], c20); _mm256_store_ps(acc[2] + 8, c21);
    _mm256_store_ps(acc[3], c30); _mm256_store_ps(acc[3] + 8, c31);
    _mm256_store_ps(acc[4], c40); _mm256_store_ps(acc[4] + 8, c41);
    _mm256_store_ps(acc[5], c50); _mm256_store_ps(acc[5] + 8, c51);
    store_tile((const float(*)[GEMM_NR])acc, c, ldc, mr, nr, beta, bias);
  }
}
#endif

static micro_fn micro = NULL;

static micro_fn pick_micro(void) {
  if (!micro) {
    micro = micro_generic;
#ifdef HAVE_X86
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) micro = micro_avx2;
#endif
  }
  return micro;
}

int gemm_uses_avx2(void) {
#ifdef HAVE_X86
  return pick_micro() == micro_avx2;
#else
  return 0;
#endif
}

static inline int panels_of(int N) { return (N + GEMM_NR - 1) / GEMM_NR; }

size_t gemm_packed_b_size(int K, int N) { return (size_t)K * panels_of(N) * GEMM_NR; }

void gemm_pack_b(float *pb, const float *b, int transB, int K, int N, int p0, int p1) {
  const size_t Npad = (size_t)panels_of(N) * GEMM_NR;
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
        for (int k = 0; k < kc; k++) memcpy(dst + k * GEMM_NR, b + (size_t)(k0 + k) * N + j0, (size_t)nr * sizeof(float));
      }
      if (nr < GEMM_NR)
        for (int k = 0; k < kc; k++)
          for (int jj = nr; jj < GEMM_NR; jj++) dst[k * GEMM_NR + jj] = 0.0f;
    }
  }
}

/* Packs rows [i0, i0 + mc) and columns [k0, k0 + kc) of a transposed A (a is [K, M]) as panels [mc/MR][kc][MR]. */
static void pack_a_trans(float *pa, const float *a, int M, int i0, int mc, int k0, int kc) {
  for (int i = 0; i < mc; i += GEMM_MR) {
    float *dst = pa + (size_t)i * kc;
    const int mr = mc - i < GEMM_MR ? mc - i : GEMM_MR;
    for (int k = 0; k < kc; k++) {
      const float *src = a + (size_t)(k0 + k) * M + i0 + i;
      int r = 0;
      for (; r < mr; r++) dst[k * GEMM_MR + r] = src[r];
      for (; r < GEMM_MR; r++) dst[k * GEMM_MR + r] = 0.0f;
    }
  }
}

void gemm_part(const float *a, int transA, int M, int K, const float *pb, int N, float *c, int ldc, int m0, int m1,
               int p0, int p1, int accumulate, const float *bias, float *pa) {
  const micro_fn kern = pick_micro();
  const size_t Npad = (size_t)panels_of(N) * GEMM_NR;
  if (m1 > M) m1 = M;
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
    /* Blocks of GEMM_MC rows of A stay in L2 while every B panel passes over them. */
    for (int i0 = m0; i0 < m1; i0 += GEMM_MC) {
      const int mc = m1 - i0 < GEMM_MC ? m1 - i0 : GEMM_MC;
      if (transA) pack_a_trans(pa, a, M, i0, mc, k0, kc);
      for (int p = p0; p < p1; p++) {
        const float *bp = pb + (size_t)k0 * Npad + (size_t)p * kc * GEMM_NR;
        const int j0 = p * GEMM_NR;
        const int nr = N - j0 < GEMM_NR ? N - j0 : GEMM_NR;
        const float *bb = bias && k0 == 0 ? bias + j0 : NULL;
        for (int i = i0; i < i0 + mc; i += GEMM_MR) {
          const int mr = i0 + mc - i < GEMM_MR ? i0 + mc - i : GEMM_MR;
          float *ct = c + (size_t)i * ldc + j0;
          if (transA) kern(kc, pa + (size_t)(i - i0) * kc, 1, GEMM_MR, bp, ct, ldc, mr, nr, beta, bb);
          else kern(kc, a + i * rs + k0 * cs, rs, cs, bp, ct, ldc, mr, nr, beta, bb);
        }
      }
    }
  }
}

void gemm_prepacked(const float *pa, int M, int K, const float *pb, int N, float *c, int ldc, int p0, int p1,
                    int accumulate, const float *bias) {
  const micro_fn kern = pick_micro();
  const size_t Npad = (size_t)panels_of(N) * GEMM_NR;
  const size_t Mpad = (size_t)(M + GEMM_MR - 1) / GEMM_MR * GEMM_MR;
  for (int k0 = 0; k0 < K; k0 += GEMM_KC) {
    const int kc = K - k0 < GEMM_KC ? K - k0 : GEMM_KC;
    const int beta = accumulate || k0 > 0;
    for (int p = p0; p < p1; p++) {
      const float *bp = pb + (size_t)k0 * Npad + (size_t)p * kc * GEMM_NR;
      const int j0 = p * GEMM_NR;
      const int nr = N - j0 < GEMM_NR ? N - j0 : GEMM_NR;
      const float *bb = bias && k0 == 0 ? bias + j0 : NULL;
      for (int i = 0; i < M; i += GEMM_MR) {
        const int mr = M - i < GEMM_MR ? M - i : GEMM_MR;
        kern(kc, pa + (size_t)k0 * Mpad + (size_t)i * kc, 1, GEMM_MR, bp, c + (size_t)i * ldc + j0, ldc, mr, nr, beta, bb);
      }
    }
  }
}

typedef struct {
  ctx_t *ctx;
  float *c;
  const float *a, *b, *bias;
  float *pb;
  int M, N, K, transA, transB, accumulate, splitM, chunks;
  workq_t q;
} gemm_job_t;

/* Items: first one per B panel to pack, then the chunks of C (GEMM_MC rows, or one panel) once all of B is packed. */
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
      gemm_part(j->a, j->transA, j->M, j->K, j->pb, j->N, j->c, j->N, c * GEMM_MC, (c + 1) * GEMM_MC, 0, panels,
                j->accumulate, j->bias, j->ctx->pack_a[tid]);
    else
      gemm_part(j->a, j->transA, j->M, j->K, j->pb, j->N, j->c, j->N, 0, j->M, c, c + 1, j->accumulate, j->bias,
                j->ctx->pack_a[tid]);
  }
}

/* Below this many multiply-adds a second thread costs more than it saves. */
#define GEMM_PARALLEL_MIN (512 * 1024)

void gemm(ctx_t *ctx, float *c, const float *a, const float *b, int M, int N, int K, int transA, int transB,
          int accumulate, const float *bias) {
  if (M <= 0 || N <= 0) return;
  gemm_job_t j = {ctx, c, a, b, bias, NULL, M, N, K, transA, transB, accumulate, 0, 0, {0, 0}};
  j.pb = ctx_workspace(ctx, gemm_packed_b_size(K, N) + GEMM_NR);
  const int mtiles = (M + GEMM_MR - 1) / GEMM_MR;
  j.splitM = mtiles >= panels_of(N);
  j.chunks = j.splitM ? (M + GEMM_MC - 1) / GEMM_MC : panels_of(N);
  if ((double)M * N * K < GEMM_PARALLEL_MIN || ctx->threads == 1) gemm_job(&j, 0, 1);
  else pool_run(ctx->pool, gemm_job, &j);
}

typedef struct {
  float *dbias;
  const float *dy;
  int rows, cols;
  workq_t q;
} sum_rows_job_t;

#define SUM_ROWS_CHUNK 64

static void sum_rows_job(void *arg, int tid, int n) {
  sum_rows_job_t *j = arg;
  const int chunks = (j->cols + SUM_ROWS_CHUNK - 1) / SUM_ROWS_CHUNK;
  /* Each column is summed in row order within one item, whoever runs it. */
  for (int item; (item = workq_take(&j->q)) < chunks; workq_finish(&j->q)) {
    const int lo = item * SUM_ROWS_CHUNK, hi = lo + SUM_ROWS_CHUNK < j->cols ? lo + SUM_ROWS_CHUNK : j->cols;
    for (int r = 0; r < j->rows; r++) {
      const float *row = j->dy + (size_t)r * j->cols;
      for (int c = lo; c < hi; c++) j->dbias[c] += row[c];
    }
  }
}

void sum_rows(ctx_t *ctx, float *dbias, const float *dy, int rows, int cols) {
  sum_rows_job_t j = {dbias, dy, rows, cols, {0, 0}};
  if ((double)rows * cols < 256 * 1024 || ctx->threads == 1) sum_rows_job(&j, 0, 1);
  else pool_run(ctx->pool, sum_rows_job, &j);
}
