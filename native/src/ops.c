// Embedding, loss, elementwise and optimiser kernels: src/kernels/reference/{embedding,loss,optim,matmul}.ts.
//
// The loss, the squared norm and the optimisers run over the pool in chunks whose
// bounds depend only on the sizes, never on the thread count; sums are formed per
// chunk and then added in chunk order, so the result is the same whoever ran what.
#include "charrnn.h"

#include <math.h>
#include <string.h>

#include "act.h"

#if (defined(__x86_64__) || defined(__i386__)) && !defined(CHARRNN_PORTABLE)
#include <immintrin.h>
#define HAVE_X86 1
/* AVX only, no FMA: the compiler cannot fuse a multiply and an add, so the vector code rounds as the scalar code. */
#define AVX __attribute__((target("avx")))
#endif

/* ---- chunked jobs ---- */

typedef void (*chunk_fn)(void *arg, int chunk);

typedef struct {
  chunk_fn fn;
  void *arg;
  int chunks;
  workq_t q;
} chunks_job_t;

static void chunks_job(void *arg, int tid, int n) {
  chunks_job_t *j = arg;
  for (int c; (c = workq_take(&j->q)) < j->chunks; workq_finish(&j->q)) j->fn(j->arg, c);
}

/* Runs fn(arg, c) for c in [0, chunks), over the pool when `work` (about the elements touched) is big enough. */
static void run_chunks(ctx_t *ctx, chunk_fn fn, void *arg, int chunks, double work) {
  chunks_job_t j = {fn, arg, chunks, {0, 0}};
  if (ctx->threads == 1 || chunks < 2 || work < 64 * 1024) chunks_job(&j, 0, 1);
  else pool_run(ctx->pool, chunks_job, &j);
}

/* At most this many chunks per call, so that partial sums fit on the stack. */
#define MAX_CHUNKS 256

static int chunk_size(long n, int min) {
  long c = (n + MAX_CHUNKS - 1) / MAX_CHUNKS;
  if (c < min) c = min;
  return (int)((c + 15) & ~15L);
}

/* ---- simple kernels ---- */

void add_bias(float *y, const float *bias, int rows, int cols) {
  for (int r = 0; r < rows; r++) {
    float *row = y + (size_t)r * cols;
    for (int j = 0; j < cols; j++) row[j] += bias[j];
  }
}

void embedding_forward(float *out, const float *table, const int32_t *ids, int n, int dim) {
  for (int i = 0; i < n; i++) memcpy(out + (size_t)i * dim, table + (size_t)ids[i] * dim, (size_t)dim * sizeof(float));
}

void embedding_backward(float *dtable, const float *dout, const int32_t *ids, int n, int dim) {
  for (int i = 0; i < n; i++) {
    float *row = dtable + (size_t)ids[i] * dim;
    const float *src = dout + (size_t)i * dim;
    for (int j = 0; j < dim; j++) row[j] += src[j];
  }
}

void multiply(float *out, const float *x, const float *mask, int n) {
  for (int i = 0; i < n; i++) out[i] = x[i] * mask[i];
}

void scale(float *x, int n, float s) {
  for (int i = 0; i < n; i++) x[i] *= s;
}

/* ---- softmax cross-entropy ---- */

/* One row: writes the exponentials into d (when not NULL), returns the loss; the normaliser in double.
   A negative target is PyTorch's ignore_index. */
static double softmax_row(const float *l, int target, int V, float *d, float scale) {
  if (target < 0) { /* ignored (padding): no loss, a zero gradient row */
    if (d) memset(d, 0, (size_t)V * sizeof *d);
    return 0;
  }
  float max = -INFINITY;
  for (int j = 0; j < V; j++) max = l[j] > max ? l[j] : max;
  const float lt = l[target]; /* read before d is written, should it alias the logits */
  double sum;
#ifdef HAVE_X86
  if (gemm_uses_avx2()) {
    sum = softmax_exp_row_avx2(l, V, max, d);
  } else
#endif
  {
    /* The exponentials go straight into d, which then only needs scaling by 1 / sum. */
    sum = 0;
    for (int j = 0; j < V; j++) {
      const float e = expf(l[j] - max);
      if (d) d[j] = e;
      sum += e;
    }
  }
  if (d) {
    const float k = (float)(scale / sum);
    for (int j = 0; j < V; j++) d[j] *= k;
    d[target] -= scale;
  }
  return log(sum) + max - lt;
}

typedef struct {
  const float *logits;
  const int32_t *targets;
  int rows, V, per;
  float *dlogits, scale;
  double part[MAX_CHUNKS];
} softmax_job_t;

static void softmax_chunk(void *arg, int c) {
  softmax_job_t *j = arg;
  const int r0 = c * j->per, r1 = r0 + j->per < j->rows ? r0 + j->per : j->rows;
  double loss = 0;
  for (int r = r0; r < r1; r++)
    loss += softmax_row(j->logits + (size_t)r * j->V, j->targets[r], j->V, j->dlogits ? j->dlogits + (size_t)r * j->V : NULL,
                        j->scale);
  j->part[c] = loss;
}

double softmax_xent(ctx_t *ctx, const float *logits, const int32_t *targets, int rows, int V, float *dlogits,
                    float scale) {
  if (rows <= 0) return 0;
  softmax_job_t j;
  j.logits = logits;
  j.targets = targets;
  j.rows = rows;
  j.V = V;
  j.per = chunk_size(rows, 16);
  j.dlogits = dlogits;
  j.scale = scale;
  const int chunks = (rows + j.per - 1) / j.per;
  run_chunks(ctx, softmax_chunk, &j, chunks, (double)rows * V * 4);
  double loss = 0;
  for (int c = 0; c < chunks; c++) loss += j.part[c];
  return loss;
}

/* ---- squared norm ---- */

#ifdef HAVE_X86
/* Sixteen floats a step into four double accumulators; a float's square is exact in double. */
AVX static double sum_squares_avx(const float *x, int n) {
  __m256d s0 = _mm256_setzero_pd(), s1 = _mm256_setzero_pd(), s2 = _mm256_setzero_pd(), s3 = _mm256_setzero_pd();
  int i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m256d a = _mm256_cvtps_pd(_mm_loadu_ps(x + i)), b = _mm256_cvtps_pd(_mm_loadu_ps(x + i + 4));
    const __m256d c = _mm256_cvtps_pd(_mm_loadu_ps(x + i + 8)), d = _mm256_cvtps_pd(_mm_loadu_ps(x + i + 12));
    s0 = _mm256_add_pd(s0, _mm256_mul_pd(a, a));
    s1 = _mm256_add_pd(s1, _mm256_mul_pd(b, b));
    s2 = _mm256_add_pd(s2, _mm256_mul_pd(c, c));
    s3 = _mm256_add_pd(s3, _mm256_mul_pd(d, d));
  }
  double lanes[4] __attribute__((aligned(32)));
  _mm256_store_pd(lanes, _mm256_add_pd(_mm256_add_pd(s0, s1), _mm256_add_pd(s2, s3)));
  double s = (lanes[0] + lanes[1]) + (lanes[2] + lanes[3]);
  for (; i < n; i++) s += (double)x[i] * x[i];
  return s;
}
#endif

typedef struct {
  const float *x;
  int n, per;
  double part[MAX_CHUNKS];
} sumsq_job_t;

static void sumsq_chunk(void *arg, int c) {
  sumsq_job_t *j = arg;
  const int i0 = c * j->per, len = i0 + j->per < j->n ? j->per : j->n - i0;
#ifdef HAVE_X86
  if (gemm_uses_avx2()) {
    j->part[c] = sum_squares_avx(j->x + i0, len);
    return;
  }
#endif
  double s = 0;
  for (int i = 0; i < len; i++) s += (double)j->x[i0 + i] * j->x[i0 + i];
  j->part[c] = s;
}

double sum_squares(ctx_t *ctx, const float *x, int n) {
  if (n <= 0) return 0;
  sumsq_job_t j;
  j.x = x;
  j.n = n;
  j.per = chunk_size(n, 4096);
  const int chunks = (n + j.per - 1) / j.per;
  run_chunks(ctx, sumsq_chunk, &j, chunks, n);
  double s = 0;
  for (int c = 0; c < chunks; c++) s += j.part[c];
  return s;
}

/* ---- optimisers ---- */

typedef struct {
  float *p, *m, *v;
  const float *g;
  int n, per;
  float stepSize, bc2Sqrt, b1, b2, c1, c2, eps;
} adam_job_t;

static void adam_range(const adam_job_t *j, int i0, int i1) {
  for (int i = i0; i < i1; i++) {
    const float gi = j->g[i];
    const float mi = j->b1 * j->m[i] + j->c1 * gi;
    const float vi = j->b2 * j->v[i] + j->c2 * gi * gi;
    j->m[i] = mi;
    j->v[i] = vi;
    j->p[i] -= j->stepSize * mi / (sqrtf(vi) / j->bc2Sqrt + j->eps);
  }
}

#ifdef HAVE_X86
/* The scalar formula eight at a time, operation for operation (no FMA: the same rounding). */
AVX static void adam_range_avx(const adam_job_t *j, int i0, int i1) {
  const __m256 b1 = _mm256_set1_ps(j->b1), b2 = _mm256_set1_ps(j->b2), c1 = _mm256_set1_ps(j->c1);
  const __m256 c2 = _mm256_set1_ps(j->c2), st = _mm256_set1_ps(j->stepSize), bc = _mm256_set1_ps(j->bc2Sqrt);
  const __m256 eps = _mm256_set1_ps(j->eps);
  int i = i0;
  for (; i + 8 <= i1; i += 8) {
    const __m256 gi = _mm256_loadu_ps(j->g + i);
    const __m256 mi = _mm256_add_ps(_mm256_mul_ps(b1, _mm256_loadu_ps(j->m + i)), _mm256_mul_ps(c1, gi));
    const __m256 vi =
        _mm256_add_ps(_mm256_mul_ps(b2, _mm256_loadu_ps(j->v + i)), _mm256_mul_ps(_mm256_mul_ps(c2, gi), gi));
    _mm256_storeu_ps(j->m + i, mi);
    _mm256_storeu_ps(j->v + i, vi);
    const __m256 den = _mm256_add_ps(_mm256_div_ps(_mm256_sqrt_ps(vi), bc), eps);
    _mm256_storeu_ps(j->p + i, _mm256_sub_ps(_mm256_loadu_ps(j->p + i), _mm256_div_ps(_mm256_mul_ps(st, mi), den)));
  }
  adam_range(j, i, i1);
}
#endif

static void adam_chunk(void *arg, int c) {
  const adam_job_t *j = arg;
  const int i0 = c * j->per, i1 = i0 + j->per < j->n ? i0 + j->per : j->n;
#ifdef HAVE_X86
  if (gemm_uses_avx2()) {
    adam_range_avx(j, i0, i1);
    return;
  }
#endif
  adam_range(j, i0, i1);
}

void adam(ctx_t *ctx, float *p, const float *g, float *m, float *v, int n, double lr, double b1, double b2, double eps,
          double step) {
  if (n <= 0) return;
  /* Bias corrections once per call in double, as the reference computes them. */
  adam_job_t j = {p, m, v, g, n, chunk_size(n, 8192), (float)(lr / (1 - pow(b1, step))), (float)sqrt(1 - pow(b2, step)),
                  (float)b1, (float)b2, (float)(1 - b1), (float)(1 - b2), (float)eps};
  run_chunks(ctx, adam_chunk, &j, (n + j.per - 1) / j.per, (double)n * 5);
}

void rmsprop(float *p, const float *g, float *v, int n, double lr, double alpha, double eps) {
  const float fa = (float)alpha, ca = (float)(1 - alpha), flr = (float)lr, feps = (float)eps;
  for (int i = 0; i < n; i++) {
    const float gi = g[i];
    const float vi = fa * v[i] + ca * gi * gi;
    v[i] = vi;
    p[i] -= flr * gi / (sqrtf(vi) + feps);
  }
}

void sgd(float *p, const float *g, float *buf, int n, double lr, double momentum, int first) {
  const float mu = (float)momentum, flr = (float)lr;
  for (int i = 0; i < n; i++) {
    const float b = momentum == 0 || first ? g[i] : mu * buf[i] + g[i];
    buf[i] = b;
    p[i] -= flr * b;
  }
}
