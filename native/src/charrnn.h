// Shared declarations of the native kernels. Every matrix is row-major float32;
// sequences are time-major [T, B, features], as in src/kernels/kernels.ts.
#ifndef CHARRNN_NATIVE_H
#define CHARRNN_NATIVE_H

#include <stddef.h>
#include <stdint.h>

/* ---- thread pool (pool.c) ---- */

typedef struct pool pool_t;
/*
 * A job runs on the caller (tid 0) and on each worker (tid in [1, n)) that wakes
 * in time to take part: a job must hand out its work through a workq_t, never
 * by a fixed split over n, since a worker may not run it at all.
 */
typedef void (*job_fn)(void *arg, int tid, int n);

pool_t *pool_create(int threads);
void pool_destroy(pool_t *p);
int pool_threads(const pool_t *p);
void pool_run(pool_t *p, job_fn fn, void *arg);
/*
 * Work handed out item by item, in order, to whichever thread asks next. Items
 * come in rounds of equal size; an item of round r may start once every item of
 * the rounds before it is done. A thread that loses its core to another process
 * then delays only the item it holds, not a fixed share of the job. Which thread
 * runs an item never changes what the item computes, so results stay
 * bit-identical whatever the thread count and timing.
 */
typedef struct {
  int next; /* next item to hand out; only touched through __atomic builtins */
  int done; /* items finished */
} workq_t;
static inline int workq_take(workq_t *q) { return __atomic_fetch_add(&q->next, 1, __ATOMIC_RELAXED); }
/* Publishes everything the item wrote to threads that see the count. */
static inline void workq_finish(workq_t *q) { __atomic_fetch_add(&q->done, 1, __ATOMIC_RELEASE); }
/* Waits until at least `count` items are done. */
void workq_wait(workq_t *q, int count);

/*
 * Work in rounds of `per_round` items where each thread prefers the same share of every round
 * (thread s first takes items [s * per_round / slots, (s + 1) * per_round / slots) of it), so
 * that the data an item reads again round after round (a panel of W_hh) stays in that thread's
 * caches. A thread whose share is taken helps with the others' (a thread that never shows up
 * costs nothing); a thread moves to the next round only once every item of its round is
 * taken, so items are taken round by round, as from a workq_t. Which thread runs an item never
 * changes what it computes.
 */
#define AFFQ_MAX_SLOTS 64
typedef struct {
  int per_round, rounds, slots;
  int cur[AFFQ_MAX_SLOTS]; /* items taken from each share, over all rounds; __atomic builtins only */
  workq_t q;               /* its done count orders the rounds (workq_wait, workq_finish) */
} affq_t;
/* slots: the job's thread count, at most AFFQ_MAX_SLOTS. */
void affq_init(affq_t *q, int per_round, int rounds, int slots);
/* The next item for thread tid (round * per_round + index), or -1 when all are taken. *round starts at 0. */
int affq_take(affq_t *q, int tid, int *round);

/* ---- context: a pool plus the scratch memory the kernels reuse ---- */

typedef struct {
  pool_t *pool;
  int threads;
  float **pack_a; /* per thread, GEMM_MC_MAX * GEMM_KC floats */
  float *ws;      /* growable workspace (packed B, cell scratch) */
  size_t ws_cap;  /* floats */
} ctx_t;

ctx_t *ctx_create(int threads);
void ctx_destroy(ctx_t *c);
/* A workspace of at least n floats, 64-byte aligned; contents undefined. */
float *ctx_workspace(ctx_t *c, size_t n);
void *aligned_floats(size_t n);

/* ---- GEMM (gemm.c) ---- */

/*
 * op(B) is packed in panels of GEMM_NR columns by blocks of GEMM_KC rows. The
 * micro-kernel, picked once at run time for the CPU, computes a tile of
 * gemm_mr() rows by gemm_np() panels (AVX-512: 10 x 32, AVX2/FMA and portable
 * C: 6 x 16); packed A comes in panels of gemm_mr() rows. Every element of C is
 * the same FMA chain over each K block whichever kernel, tile or thread computes
 * it, so the AVX-512 and AVX2 kernels give bit-identical results.
 */
#define GEMM_NR 16
#define GEMM_KC 256
#define GEMM_MR_MAX 10
/* Rows of A per L2 block: gemm_mr() * 16, at most this. */
#define GEMM_MC_MAX (16 * GEMM_MR_MAX)

/* Rows of a micro-kernel tile and of a packed-A panel. */
int gemm_mr(void);
/* GEMM_NR-column panels per micro-kernel tile. */
int gemm_np(void);
/* "avx512", "avx2-fma" or "generic". CHARRNN_NATIVE_SIMD=avx2|generic picks a lesser one (for testing). */
const char *gemm_simd(void);
/* 1 when the AVX2/FMA (or AVX-512) kernels are in use: the vectorised cell updates are too. */
int gemm_uses_avx2(void);
/* 1 when the AVX-512 kernels are in use. */
int gemm_uses_avx512(void);

/* Floats needed by gemm_pack_b for op(B) of [K, N]. */
size_t gemm_packed_b_size(int K, int N);
/*
 * Packs panels [p0, p1) of op(B) ([K, N]; b is [K, N], or [N, K] when transB)
 * into `pb`, laid out by K blocks of GEMM_KC rows, then by panels of GEMM_NR
 * columns, zero-padded past N.
 */
void gemm_pack_b(float *pb, const float *b, int transB, int K, int N, int p0, int p1);
/*
 * C[m0:m1, panels p0..p1) (+)= op(A) · packed B (+ bias[col] when bias is not
 * NULL). op(A) is [M, K]: a is [M, K], or [K, M] when transA. pa is this
 * thread's GEMM_MC_MAX * GEMM_KC scratch.
 */
void gemm_part(const float *a, int transA, int M, int K, const float *pb, int N, float *c, int ldc,
               int m0, int m1, int p0, int p1, int accumulate, const float *bias, float *pa);

/* M rounded up to whole packed-A panels. */
static inline int packed_a_rows(int M, int mr) { return (M + mr - 1) / mr * mr; }
/*
 * Offset of element [i, k] of an [M, K] matrix packed whole the way gemm_part
 * packs A: by K blocks of GEMM_KC, then panels of mr = gemm_mr() rows stored
 * [kc][mr]. Mpad is packed_a_rows(M, mr); padding rows must hold zeros.
 */
static inline size_t packed_a_index(int i, int k, int Mpad, int K, int mr) {
  const int k0 = k - k % GEMM_KC;
  const int kc = K - k0 < GEMM_KC ? K - k0 : GEMM_KC;
  return (size_t)k0 * Mpad + (size_t)(i / mr) * kc * mr + (size_t)(k - k0) * mr + i % mr;
}
/* C[:, panels p0..p1) (+)= A · packed B with A already packed whole (packed_a_index); same arithmetic as gemm_part. */
void gemm_prepacked(const float *pa, int M, int K, const float *pb, int N, float *c, int ldc, int p0, int p1,
                    int accumulate, const float *bias);

/* The whole C = op(A) · op(B) (+ C) (+ bias), spread over the context's threads. */
void gemm(ctx_t *ctx, float *c, const float *a, const float *b, int M, int N, int K,
          int transA, int transB, int accumulate, const float *bias);

/* dbias[cols] += sum over rows of dy[rows, cols], over the context's threads. */
void sum_rows(ctx_t *ctx, float *dbias, const float *dy, int rows, int cols);
/* The same into two sums at once (dbias2 may be NULL): one pass over dy. */
void sum_rows2(ctx_t *ctx, float *dbias, float *dbias2, const float *dy, int rows, int cols);

/* ---- recurrent cells (cells.c) ---- */

enum { CELL_LSTM = 0, CELL_GRU = 1, CELL_RNN = 2 };

typedef struct {
  int cell, T, B, I, H;
  const float *wih, *whh, *bih, *bhh; /* [G*H, I], [G*H, H], [G*H], [G*H] */
  const float *x, *h0, *c0;           /* [T, B, I], [B, H], [B, H] or NULL */
  float *gates, *aux, *h;             /* [T, B, G*H], [T, B, H], [T, B, H] */
  /* backward only */
  const float *dh, *dhT, *dcT;        /* [T, B, H], [B, H] or NULL, [B, H] or NULL */
  float *gwih, *gwhh, *gbih, *gbhh;   /* accumulated */
  float *dx, *dh0, *dc0;              /* written when not NULL */
  float *dgates, *dgatesHidden, *dhNext, *dcNext;
} cell_args_t;

int cell_gates(int cell);
void cell_forward(ctx_t *ctx, const cell_args_t *a);
void cell_backward(ctx_t *ctx, const cell_args_t *a);

/* ---- elementwise, loss, optimisers (ops.c) ---- */

void add_bias(float *y, const float *bias, int rows, int cols);
void embedding_forward(float *out, const float *table, const int32_t *ids, int n, int dim);
void embedding_backward(float *dtable, const float *dout, const int32_t *ids, int n, int dim);
/* The loss, the squared norm and Adam run over the context's threads, in chunks set by the sizes alone. */
double softmax_xent(ctx_t *ctx, const float *logits, const int32_t *targets, int rows, int V, float *dlogits,
                    float scale);
void multiply(float *out, const float *x, const float *mask, int n);
double sum_squares(ctx_t *ctx, const float *x, int n);
void scale(float *x, int n, float s);
void adam(ctx_t *ctx, float *p, const float *g, float *m, float *v, int n, double lr, double b1, double b2, double eps,
          double step);
void rmsprop(float *p, const float *g, float *v, int n, double lr, double alpha, double eps);
void sgd(float *p, const float *g, float *buf, int n, double lr, double momentum, int first);

/* ---- activations ---- */

#include <math.h>
static inline float sigmoidf(float x) { return 1.0f / (1.0f + expf(-x)); }

#endif
