// Inference steps: one time step of a layer, or of a whole model, for B streams.
//
// Generation feeds one character at a time, so a step is a handful of
// matrix-vector products: each weight is read once per step and used for B
// streams. The bottleneck is reading the weights (about 800 KB for a 2x128 LSTM,
// 3 MB for 2x256), so the kernels read PyTorch's row-major [G*H, K] matrices in
// place, row by row as dot products: no packing, no copies, one pass. Layer 0
// takes its input projection from a per-character table (the model's, rebuilt
// when the weights change), so it only multiplies by W_hh.
//
// Each output row's dot product is accumulated lane-wise and reduced by one fixed
// tree (pairs, then pairs of pairs, then the two halves), whatever the rows and
// streams blocked with it, so every stream's result is bit-identical whatever B,
// the thread count and the split between threads (they only differ by ISA).
//
// A model step runs its phases (each layer, then the output layer) on the
// context's pool when the weights are large enough: a phase's hidden units are
// cut into parts of 16, each thread starts with its own parts (the same every
// step, so each core keeps its share of the weights in its own L2: 2x256 does
// not fit one core's L2, each half does) and then takes any part no one has
// claimed, so a thread that lost its core delays at most the part it holds.
// Threads wait between phases by spinning: a phase takes microseconds.
#define _GNU_SOURCE
#include "step.h"

#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "act.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define HAVE_X86 1
#define CPU_RELAX() _mm_pause()
#else
#define CPU_RELAX() ((void)0)
#endif

#define AI static inline __attribute__((always_inline))

int step_isa_best(void) {
#ifdef HAVE_X86
  static int best = -1;
  if (best < 0) {
    /* CHARRNN_NATIVE_SIMD caps the choice (avx2, generic) as it does the matmul's (gemm.c). */
    const char *cap = getenv("CHARRNN_NATIVE_SIMD");
    const int allow512 = !cap || !*cap || strcmp(cap, "avx512") == 0;
    const int allow2 = allow512 || strcmp(cap, "avx2") == 0 || strcmp(cap, "avx2-fma") == 0;
    __builtin_cpu_init();
    /* libgcc's avx512f also checks that the OS saves the ZMM state (XCR0). */
    if (allow512 && __builtin_cpu_supports("avx512f")) best = STEP_AVX512;
    else if (allow2 && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) best = STEP_AVX2;
    else best = STEP_GENERIC;
  }
  return best;
#else
  return STEP_GENERIC;
#endif
}

/*
 * y[b * ldy + r] += w1[r, :] . x1[b, :] + w2[r, :] . x2[b, :] for rows r < R and
 * streams b < B; w1 is [R, k1] row-major, x1 rows ldx1 apart; w2 may be NULL.
 */
typedef void rows_dot_fn(float *y, int ldy, int R, const float *w1, int k1, const float *x1, int ldx1,
                         const float *w2, int k2, const float *x2, int ldx2, int B);

static void rows_dot_generic(float *y, int ldy, int R, const float *w1, int k1, const float *x1, int ldx1,
                             const float *w2, int k2, const float *x2, int ldx2, int B) {
  for (int b = 0; b < B; b++)
    for (int r = 0; r < R; r++) {
      float s = 0;
      const float *w = w1 + (size_t)r * k1, *x = x1 + (size_t)b * ldx1;
      for (int k = 0; k < k1; k++) s += w[k] * x[k];
      if (w2) {
        w = w2 + (size_t)r * k2;
        x = x2 + (size_t)b * ldx2;
        for (int k = 0; k < k2; k++) s += w[k] * x[k];
      }
      y[(size_t)b * ldy + r] += s;
    }
}

#ifdef HAVE_X86
#define AVX2 __attribute__((target("avx2,fma")))
#define AVX512 __attribute__((target("avx512f,avx2,fma")))

/* Sums of 8 rows' 8 lanes: lane pairs, pairs of pairs, then the 128-bit halves (the fixed tree). */
AVX2 AI __m256 reduce8(__m256 f0, __m256 f1, __m256 f2, __m256 f3, __m256 f4, __m256 f5, __m256 f6, __m256 f7) {
  const __m256 u0 = _mm256_hadd_ps(_mm256_hadd_ps(f0, f1), _mm256_hadd_ps(f2, f3));
  const __m256 u1 = _mm256_hadd_ps(_mm256_hadd_ps(f4, f5), _mm256_hadd_ps(f6, f7));
  return _mm256_add_ps(_mm256_permute2f128_ps(u0, u1, 0x20), _mm256_permute2f128_ps(u0, u1, 0x31));
}

/* The same tree for 4 rows: each row's sum is computed exactly as reduce8 computes it. */
AVX2 AI __m128 reduce4(__m256 f0, __m256 f1, __m256 f2, __m256 f3) {
  const __m256 u = _mm256_hadd_ps(_mm256_hadd_ps(f0, f1), _mm256_hadd_ps(f2, f3));
  return _mm_add_ps(_mm256_castps256_ps128(u), _mm256_extractf128_ps(u, 1));
}

AVX2 AI __m256i tail_mask8(int n) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

/* acc[i][b] += lanes of w[i] * x[b] over K columns (RB rows, NB streams; both constants once inlined). */
AVX2 AI void mac8(const int RB, const int NB, __m256 acc[8][2], const float *const *w, int K, const float *x, int ldx) {
  int k = 0;
  for (; k + 8 <= K; k += 8) {
    __m256 xv[2];
    for (int b = 0; b < NB; b++) xv[b] = _mm256_loadu_ps(x + (size_t)b * ldx + k);
    for (int i = 0; i < RB; i++) {
      __m256 wv = _mm256_loadu_ps(w[i] + k);
      if (NB > 1) __asm__("" : "+x"(wv)); /* one load per weight line (see mac16) */
      for (int b = 0; b < NB; b++) acc[i][b] = _mm256_fmadd_ps(wv, xv[b], acc[i][b]);
    }
  }
  if (k < K) { /* masked loads never touch memory past the row */
    const __m256i m = tail_mask8(K - k);
    __m256 xv[2];
    for (int b = 0; b < NB; b++) xv[b] = _mm256_maskload_ps(x + (size_t)b * ldx + k, m);
    for (int i = 0; i < RB; i++) {
      const __m256 wv = _mm256_maskload_ps(w[i] + k, m);
      for (int b = 0; b < NB; b++) acc[i][b] = _mm256_fmadd_ps(wv, xv[b], acc[i][b]);
    }
  }
}

AVX2 AI void block_avx2(const int RB, const int NB, float *y, int ldy, int nr, const float *const *w1, int k1,
                        const float *x1, int ldx1, const float *const *w2, int k2, const float *x2, int ldx2) {
  __m256 acc[8][2];
  for (int i = 0; i < RB; i++)
    for (int b = 0; b < NB; b++) acc[i][b] = _mm256_setzero_ps();
  mac8(RB, NB, acc, w1, k1, x1, ldx1);
  if (w2) mac8(RB, NB, acc, w2, k2, x2, ldx2);
  for (int b = 0; b < NB; b++) {
    float *yb = y + (size_t)b * ldy;
    float s[8];
    if (RB == 8) _mm256_storeu_ps(s, reduce8(acc[0][b], acc[1][b], acc[2][b], acc[3][b], acc[4][b], acc[5][b], acc[6][b], acc[7][b]));
    else _mm_storeu_ps(s, reduce4(acc[0][b], acc[1][b], acc[2][b], acc[3][b]));
    for (int i = 0; i < nr; i++) yb[i] += s[i];
  }
}

/* Row pointers of a block; rows past R repeat the last row (computed, never stored), so tails need no other code. */
AI void block_rows(const float **p, int n, const float *w, int k, int r, int R) {
  for (int i = 0; i < n; i++) p[i] = w ? w + (size_t)(r + i < R ? r + i : R - 1) * k : NULL;
}

/* One stream: 8 rows at a time (8 independent FMA chains); two streams: 4 rows, to stay within 16 registers. */
AVX2 static void rows_dot_avx2(float *y, int ldy, int R, const float *w1, int k1, const float *x1, int ldx1,
                               const float *w2, int k2, const float *x2, int ldx2, int B) {
  for (int r = 0; r < R; r += 8) {
    const float *p1[8], *p2[8];
    block_rows(p1, 8, w1, k1, r, R);
    block_rows(p2, 8, w2, k2, r, R);
    const int nr = R - r < 8 ? R - r : 8;
    int b = 0;
    for (; b + 2 <= B; b += 2) {
      float *yb = y + (size_t)b * ldy + r;
      const float *xb1 = x1 + (size_t)b * ldx1, *xb2 = w2 ? x2 + (size_t)b * ldx2 : NULL;
      block_avx2(4, 2, yb, ldy, nr < 4 ? nr : 4, p1, k1, xb1, ldx1, w2 ? p2 : NULL, k2, xb2, ldx2);
      if (nr > 4) block_avx2(4, 2, yb + 4, ldy, nr - 4, p1 + 4, k1, xb1, ldx1, w2 ? p2 + 4 : NULL, k2, xb2, ldx2);
    }
    if (b < B)
      block_avx2(8, 1, y + (size_t)b * ldy + r, ldy, nr, p1, k1, x1 + (size_t)b * ldx1, ldx1, w2 ? p2 : NULL, k2,
                 w2 ? x2 + (size_t)b * ldx2 : NULL, ldx2);
  }
}

/* 16 lanes folded to 8 (lane j + lane j + 8), then the tree of reduce8. */
AVX512 AI __m256 fold16(__m512 a) {
  return _mm256_add_ps(_mm512_castps512_ps256(a), _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(a), 1)));
}

/* acc[i][b] += lanes of w[i] * x[b] over K columns, RB rows by NB streams (constants once inlined). */
AVX512 AI void mac16(const int RB, const int NB, __m512 acc[8][4], const float *const *w, int K, const float *x, int ldx) {
  int k = 0;
  for (; k + 16 <= K; k += 16) {
    __m512 xv[4];
    for (int b = 0; b < NB; b++) xv[b] = _mm512_loadu_ps(x + (size_t)b * ldx + k);
    for (int i = 0; i < RB; i++) {
      __m512 wv = _mm512_loadu_ps(w[i] + k);
      /* One load per weight line: left alone, GCC folds the load into every stream's FMA. */
      if (NB > 1) __asm__("" : "+v"(wv));
      for (int b = 0; b < NB; b++) acc[i][b] = _mm512_fmadd_ps(wv, xv[b], acc[i][b]);
    }
  }
  if (k < K) {
    const __mmask16 m = (__mmask16)((1u << (K - k)) - 1);
    __m512 xv[4];
    for (int b = 0; b < NB; b++) xv[b] = _mm512_maskz_loadu_ps(m, x + (size_t)b * ldx + k);
    for (int i = 0; i < RB; i++) {
      const __m512 wv = _mm512_maskz_loadu_ps(m, w[i] + k);
      for (int b = 0; b < NB; b++) acc[i][b] = _mm512_fmadd_ps(wv, xv[b], acc[i][b]);
    }
  }
}

AVX512 AI void block_avx512(const int RB, const int NB, float *y, int ldy, int nr, const float *const *w1, int k1,
                            const float *x1, int ldx1, const float *const *w2, int k2, const float *x2, int ldx2) {
  __m512 acc[8][4];
  for (int i = 0; i < RB; i++)
    for (int b = 0; b < NB; b++) acc[i][b] = _mm512_setzero_ps();
  mac16(RB, NB, acc, w1, k1, x1, ldx1);
  if (w2) mac16(RB, NB, acc, w2, k2, x2, ldx2);
  for (int b = 0; b < NB; b++) {
    float *yb = y + (size_t)b * ldy;
    float s[8];
    if (RB == 8)
      _mm256_storeu_ps(s, reduce8(fold16(acc[0][b]), fold16(acc[1][b]), fold16(acc[2][b]), fold16(acc[3][b]),
                                  fold16(acc[4][b]), fold16(acc[5][b]), fold16(acc[6][b]), fold16(acc[7][b])));
    else _mm_storeu_ps(s, reduce4(fold16(acc[0][b]), fold16(acc[1][b]), fold16(acc[2][b]), fold16(acc[3][b])));
    for (int i = 0; i < nr; i++) yb[i] += s[i];
  }
}

/*
 * One or two streams: 8 rows at a time (8 or 16 accumulators; the weights are
 * the bottleneck). Three or four: 4 rows by 4 streams (16 accumulators), where
 * the multiply-adds are: 8 rows by 3 would not fit the 32 registers.
 */
AVX512 static void rows_dot_avx512(float *y, int ldy, int R, const float *w1, int k1, const float *x1, int ldx1,
                                   const float *w2, int k2, const float *x2, int ldx2, int B) {
  for (int r = 0; r < R; r += 8) {
    const float *p1[8], *p2[8];
    block_rows(p1, 8, w1, k1, r, R);
    block_rows(p2, 8, w2, k2, r, R);
    const int nr = R - r < 8 ? R - r : 8;
    const float *const *q2 = w2 ? p2 : NULL;
    for (int b = 0; b < B;) {
      float *yb = y + (size_t)b * ldy + r;
      const float *xb1 = x1 + (size_t)b * ldx1, *xb2 = w2 ? x2 + (size_t)b * ldx2 : NULL;
      const int nb = B - b < 4 ? B - b : 4;
      if (nb >= 3) {
        for (int h = 0; h < nr; h += 4) {
          const int n4 = nr - h < 4 ? nr - h : 4;
          if (nb == 4) block_avx512(4, 4, yb + h, ldy, n4, p1 + h, k1, xb1, ldx1, q2 ? q2 + h : NULL, k2, xb2, ldx2);
          else block_avx512(4, 3, yb + h, ldy, n4, p1 + h, k1, xb1, ldx1, q2 ? q2 + h : NULL, k2, xb2, ldx2);
        }
      } else if (nb == 2) {
        block_avx512(8, 2, yb, ldy, nr, p1, k1, xb1, ldx1, q2, k2, xb2, ldx2);
      } else {
        block_avx512(8, 1, yb, ldy, nr, p1, k1, xb1, ldx1, q2, k2, xb2, ldx2);
      }
      b += nb;
    }
  }
}

#endif

static rows_dot_fn *rows_dot_for(int isa) {
#ifdef HAVE_X86
  if (isa >= STEP_AVX512 && step_isa_best() >= STEP_AVX512) return rows_dot_avx512;
  if (isa >= STEP_AVX2 && step_isa_best() >= STEP_AVX2) return rows_dot_avx2;
#endif
  return rows_dot_generic;
}

/*
 * Hidden units [j0, j1) of one layer's step, all streams: the rows of every gate
 * for those units, then the cell update of those units. Reads all of h (every
 * unit's gates depend on all of h_{t-1}) and writes only columns [j0, j1) of
 * gx, gh, c and hn, so parts of a layer can run at once.
 */
static void layer_part(const step_cell_t *a, int isa, int j0, int j1) {
  const int B = a->B, I = a->I, H = a->H, NG = cell_gates(a->cell), G = NG * H, R = j1 - j0;
  const int gru = a->cell == CELL_GRU;
  if (R <= 0) return;
  rows_dot_fn *dot = rows_dot_for(isa);
  for (int g = 0; g < NG; g++) {
    const int r0 = g * H + j0;
    for (int b = 0; b < B; b++) {
      /* Input projection: the table's row, or b_ih before the W_ih product is added. */
      const float *in = a->table ? a->table + (size_t)a->ids[b] * G + r0 : a->bih + r0;
      float *yx = a->gx + (size_t)b * G + r0;
      if (gru) {
        /* GRU keeps the recurrent side apart: r scales W_hn h + b_hn in the n gate. */
        float *yh = a->gh + (size_t)b * G + r0;
        for (int i = 0; i < R; i++) {
          yx[i] = in[i];
          yh[i] = a->bhh[r0 + i];
        }
      } else {
        for (int i = 0; i < R; i++) yx[i] = in[i] + a->bhh[r0 + i];
      }
    }
    const float *wih = a->x ? a->wih + (size_t)r0 * I : NULL, *whh = a->whh + (size_t)r0 * H;
    if (gru) {
      if (wih) dot(a->gx + r0, G, R, wih, I, a->x, I, NULL, 0, NULL, 0, B);
      dot(a->gh + r0, G, R, whh, H, a->h, H, NULL, 0, NULL, 0, B);
    } else if (wih) {
      dot(a->gx + r0, G, R, wih, I, a->x, I, whh, H, a->h, H, B);
    } else {
      dot(a->gx + r0, G, R, whh, H, a->h, H, NULL, 0, NULL, 0, B);
    }
  }
  const int level = isa < step_isa_best() ? isa : step_isa_best();
  for (int b = 0; b < B; b++) {
    float *gx = a->gx + (size_t)b * G, *hn = a->hn + (size_t)b * H;
    const float *hp = a->h + (size_t)b * H;
    float *gh = gru ? a->gh + (size_t)b * G : NULL;
    float *c = a->cell == CELL_LSTM ? a->c + (size_t)b * H : NULL; /* c_{t-1} in, c_t out, unit by unit */
    /* The rows of act.h, as the training forward runs them (16, 8 or 1 units at a time, the same values
       per lane); they also store the gate values, which a step does not need. */
    if (c) (level >= STEP_AVX512 ? lstm_forward_row_avx512 : level >= STEP_AVX2 ? lstm_forward_row_avx2 : lstm_forward_row)(
        gx, c, c, hn, H, j0, j1);
    /* The aux output (W_hn h + b_hn, kept for backward in training) goes onto itself: nothing to keep here. */
    else if (gru) (level >= STEP_AVX512 ? gru_forward_row_avx512 : level >= STEP_AVX2 ? gru_forward_row_avx2 : gru_forward_row)(
        gx, gh, hp, gh + 2 * H, hn, H, j0, j1);
    else (level >= STEP_AVX512 ? rnn_forward_row_avx512 : level >= STEP_AVX2 ? rnn_forward_row_avx2 : rnn_forward_row)(
        gx, hn, j0, j1);
  }
}

void step_cell_run(ctx_t *ctx, int isa, const step_cell_t *a) {
  (void)ctx;
  layer_part(a, isa, 0, a->H);
}

/* ---- whole-model steps ---- */

/*
 * Threads of a model step. A pool job costs more to start than a small step
 * takes, so a plan that runs on several threads has its own helpers (created
 * on its first step, joined when it is destroyed). Between steps they spin on
 * one cache line, `go` (the number of the step to run), for about 100 us, then
 * sleep on a condition variable; a run wakes sleepers only when there are any.
 * Each cross-core cache-line transfer costs a few hundred cycles, so a step
 * makes few: nothing is reset between steps (a part is claimed by writing the
 * step number into its claim; a phase's barrier waits for its finished-part
 * counter to reach step * parts), and the caller waits for no helper to leave:
 * a helper that arrives late finds every part claimed, and one that is slow
 * to leave claims nothing more, since claims only go up to its step number.
 */
#define HELPER_SPIN_NS 100000
/*
 * How long a thread leaves another's part to its owner before taking it, when
 * the model's weights exceed WEIGHTS_PER_CORE bytes: then each core holds only
 * its share, and taking another's costs a read from farther than a wait for a
 * slightly late owner. Smaller models fit every core's L2 whole: no wait.
 */
#define STEAL_WAIT_NS 2000
#define WEIGHTS_PER_CORE (1u << 20)

/*
 * Whether a second core pays depends on the machine (cache sizes, the cost of
 * a cross-core hand-off) and on what else runs on it, and the answer changes
 * the results in no bit (parts compute the same sums whoever runs them). So a
 * plan that may use threads measures the mean step time alone, then on its
 * threads, each over at least PROBE_STEPS steps and PROBE_NS (longer than a
 * scheduler slice, so a helper that shares its core with another process is
 * measured as it will be, present part of the time), and uses the threads
 * only when they are at least 5% faster: a second core is not taken for less.
 * It measures again after PROBE_FIRST steps, and after twice as many each time
 * the answer stays (up to PROBE_LAST), so a settled choice costs little to keep.
 * Models whose weights exceed WEIGHTS_PER_CORE are not measured: they always
 * split (their stalls, when a helper loses its core, last longer than a probe).
 */
#define PROBE_STEPS 16
#define PROBE_NS 2000000
#define PROBE_FIRST 1024
#define PROBE_LAST 65536

typedef struct {
  _Alignas(64) uint64_t v;
} line_u64_t;

typedef struct {
  step_model_t *m;
  int tid;
} helper_arg_t;

struct step_model {
  ctx_t *ctx;
  int isa, cell, L, B, H, V;
  int threads; /* 1: the caller runs every phase alone */
  int parts;   /* per phase: one per thread, each thread's own */
  /* with threads > 1: the way steps run now, and the measurement that chooses it */
  int autotune, threaded, probing; /* probing: 0 no, 1 timing steps alone, 2 timing them threaded */
  uint64_t until_probe, probe_every;
  uint64_t probe_steps[2], probe_ns[2];
  uint64_t steal_wait_ns;
  step_cell_t *layers;
  float **hstate;
  const float *wout, *bout;
  float *logits;
  uint64_t step;        /* the caller's count of runs */
  line_u64_t *claim;    /* [L + 1][parts]: the last step that claimed the part */
  line_u64_t *finished; /* [L + 1]: parts of the phase finished, over all steps */
  /* the crew */
  pthread_t *helpers; /* threads - 1 of them, started on the first run */
  int started;
  line_u64_t go; /* the step helpers join */
  line_u64_t sleepers;
  int quit;
  pthread_mutex_t mu;
  pthread_cond_t cv;
};

static uint64_t now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/* Units are cut into parts of a multiple of 16 (the widest vector), so every part's units start on the same lanes. */
static void part_range(int units, int parts, int p, int *u0, int *u1) {
  int chunk = (units + parts - 1) / parts;
  chunk = (chunk + 15) / 16 * 16;
  *u0 = p * chunk < units ? p * chunk : units;
  *u1 = (p + 1) * chunk < units ? (p + 1) * chunk : units;
}

static void output_part(const step_model_t *m, int v0, int v1) {
  const int B = m->B, H = m->H, V = m->V;
  if (v1 <= v0) return;
  const float *top = m->layers[m->L - 1].hn; /* [B, H] */
  for (int b = 0; b < B; b++) memcpy(m->logits + (size_t)b * V + v0, m->bout + v0, (size_t)(v1 - v0) * sizeof(float));
  rows_dot_for(m->isa)(m->logits + v0, V, v1 - v0, m->wout + (size_t)v0 * H, H, top, H, NULL, 0, NULL, 0, B);
}

static void run_part(const step_model_t *m, int phase, int p) {
  int u0, u1;
  if (phase < m->L) {
    part_range(m->H, m->parts, p, &u0, &u1);
    layer_part(&m->layers[phase], m->isa, u0, u1);
  } else {
    part_range(m->V, m->parts, p, &u0, &u1);
    output_part(m, u0, u1);
  }
}

/* Claims part p of the phase for step s: 1 when this thread got it. */
static int claim(line_u64_t *c, uint64_t s) {
  uint64_t v = __atomic_load_n(&c->v, __ATOMIC_RELAXED);
  return v < s && __atomic_compare_exchange_n(&c->v, &v, s, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED);
}

static void wait_at_least(const line_u64_t *c, uint64_t target) {
  int spins = 0;
  while (__atomic_load_n(&c->v, __ATOMIC_ACQUIRE) < target) {
    if (++spins < 20000) CPU_RELAX();
    else sched_yield(); /* the thread holding a part has lost its core: let it have ours */
  }
}

/*
 * One thread's share of step s: in each phase its own part first (the same rows
 * every step, so they stay in its core's caches), then any part still unclaimed.
 * Another thread's part is left a moment to its owner first: taking it costs
 * this core a read of weights it does not hold.
 */
static void model_job(step_model_t *m, int tid, uint64_t s) {
  const int P = m->parts, phases = m->L + 1;
  for (int ph = 0; ph < phases; ph++) {
    line_u64_t *c = m->claim + (size_t)ph * P;
    if (claim(&c[tid], s)) {
      run_part(m, ph, tid);
      __atomic_fetch_add(&m->finished[ph].v, 1, __ATOMIC_RELEASE);
    }
    uint64_t patience = 0;
    for (int i = 1; i < P; i++) {
      const int p = (tid + i) % P;
      if (__atomic_load_n(&c[p].v, __ATOMIC_RELAXED) >= s) continue;
      if (m->steal_wait_ns) {
        if (!patience) patience = now_ns() + m->steal_wait_ns;
        while (__atomic_load_n(&c[p].v, __ATOMIC_RELAXED) < s && now_ns() < patience) CPU_RELAX();
      }
      if (claim(&c[p], s)) {
        run_part(m, ph, p);
        __atomic_fetch_add(&m->finished[ph].v, 1, __ATOMIC_RELEASE);
      }
    }
    /* The next phase reads all of this one's h; the caller learns of the last phase's end from `pending`. */
    if (ph + 1 < phases || tid == 0) wait_at_least(&m->finished[ph], s * (uint64_t)P);
  }
}

static void *helper_main(void *ptr) {
  helper_arg_t a = *(helper_arg_t *)ptr;
  free(ptr);
  step_model_t *m = a.m;
  uint64_t seen = 0;
  for (;;) {
    const uint64_t until = now_ns() + HELPER_SPIN_NS;
    int spins = 0;
    while (__atomic_load_n(&m->go.v, __ATOMIC_ACQUIRE) == seen && !__atomic_load_n(&m->quit, __ATOMIC_ACQUIRE)) {
      CPU_RELAX();
      if (++spins % 64 == 0 && now_ns() > until) {
        pthread_mutex_lock(&m->mu);
        __atomic_fetch_add(&m->sleepers.v, 1, __ATOMIC_SEQ_CST);
        while (__atomic_load_n(&m->go.v, __ATOMIC_SEQ_CST) == seen && !__atomic_load_n(&m->quit, __ATOMIC_SEQ_CST))
          pthread_cond_wait(&m->cv, &m->mu);
        __atomic_fetch_sub(&m->sleepers.v, 1, __ATOMIC_SEQ_CST);
        pthread_mutex_unlock(&m->mu);
      }
    }
    if (__atomic_load_n(&m->quit, __ATOMIC_ACQUIRE)) break;
    seen = __atomic_load_n(&m->go.v, __ATOMIC_ACQUIRE);
    model_job(m, a.tid, seen);
  }
  return NULL;
}

/*
 * Helpers may run on any CPU the process may, except the one the caller is on
 * when they start. Left to itself Linux puts a new thread, and a thread woken
 * from a condition variable, beside the thread that made or woke it when the
 * other CPUs look busy, and on a machine shared with other work it was seen
 * leaving a helper there for a second: two threads of one step then take turns
 * on one core, slower than one thread alone. The caller stays free to move, so
 * the kernel can still separate them if the caller lands on a helper's CPU.
 */
static void helper_placement(pthread_attr_t *attr) {
#ifdef __linux__
  cpu_set_t allowed;
  const int here = sched_getcpu();
  if (here < 0 || pthread_getaffinity_np(pthread_self(), sizeof allowed, &allowed) != 0) return;
  CPU_CLR(here, &allowed);
  if (CPU_COUNT(&allowed) > 0) pthread_attr_setaffinity_np(attr, sizeof allowed, &allowed);
#else
  (void)attr;
#endif
}

static void crew_start(step_model_t *m) {
  m->started = 1;
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  helper_placement(&attr);
  for (int t = 1; t < m->threads; t++) {
    helper_arg_t *a = malloc(sizeof *a);
    if (a) {
      a->m = m;
      a->tid = t;
    }
    if (!a || pthread_create(&m->helpers[t - 1], &attr, helper_main, a) != 0) {
      /* Run with the helpers that did start: the caller claims whatever no one else does. */
      free(a);
      m->started = t;
      break;
    }
    m->started = t + 1;
  }
  pthread_attr_destroy(&attr);
}

step_model_t *step_model_create(ctx_t *ctx, int isa, int cell, int L, int B, int H, int V, const step_cell_t *layers,
                                float *const *hstate, const float *wout, const float *bout, float *logits,
                                float *scratch, double parallel_min, int autotune) {
  step_model_t *m = calloc(1, sizeof *m);
  if (!m) return NULL;
  const int G = cell_gates(cell) * H;
  m->ctx = ctx;
  m->isa = isa;
  m->cell = cell;
  m->L = L;
  m->B = B;
  m->H = H;
  m->V = V;
  m->wout = wout;
  m->bout = bout;
  m->logits = logits;
  /* A second thread pays once the weights outgrow what one core reads in a few microseconds. */
  double floats = (double)V * H;
  for (int l = 0; l < L; l++) floats += (double)G * ((l > 0 ? layers[l].I : 0) + H);
  m->threads = ctx->threads > 1 && floats * B >= parallel_min ? ctx->threads : 1;
  if (m->threads > (H + 15) / 16) m->threads = (H + 15) / 16 > 1 ? (H + 15) / 16 : 1; /* parts are 16 units at least */
  m->steal_wait_ns = floats * sizeof(float) > WEIGHTS_PER_CORE ? STEAL_WAIT_NS : 0;
  m->parts = m->threads;
  /* Weights past one core's share always split: alone, a core would stream them from farther away. */
  m->autotune = autotune && !m->steal_wait_ns;
  m->threaded = 1;
  m->until_probe = 0; /* measure from the first step */
  m->probe_every = PROBE_FIRST;
  pthread_mutex_init(&m->mu, NULL);
  pthread_cond_init(&m->cv, NULL);
  m->layers = malloc((size_t)L * sizeof *m->layers);
  m->hstate = malloc((size_t)L * sizeof *m->hstate);
  m->claim = aligned_floats((size_t)(L + 1) * m->parts * 16);
  m->finished = aligned_floats((size_t)(L + 1) * 16);
  m->helpers = calloc((size_t)m->threads, sizeof *m->helpers);
  if (!m->layers || !m->hstate || !m->claim || !m->finished || !m->helpers) {
    step_model_destroy(m);
    return NULL;
  }
  memset(m->claim, 0, (size_t)(L + 1) * m->parts * sizeof(line_u64_t));
  memset(m->finished, 0, (size_t)(L + 1) * sizeof(line_u64_t));
  /* scratch: gx [B, G], gh [B, G], h [B, H] (as a cell step's), then hn [L][B, H] */
  float *gx = scratch, *gh = scratch + (size_t)B * G, *hn = scratch + (size_t)2 * B * G + (size_t)B * H;
  for (int l = 0; l < L; l++) {
    step_cell_t *a = &m->layers[l];
    *a = layers[l];
    a->cell = cell;
    a->B = B;
    a->H = H;
    a->gx = gx;
    a->gh = gh;
    a->hn = hn + (size_t)l * B * H;
    a->h = hstate[l];
    if (l > 0) {
      a->x = m->layers[l - 1].hn;
      a->table = NULL;
      a->ids = NULL;
    }
    m->hstate[l] = hstate[l];
  }
  return m;
}

void step_model_destroy(step_model_t *m) {
  if (!m) return;
  if (m->started > 1) {
    pthread_mutex_lock(&m->mu);
    __atomic_store_n(&m->quit, 1, __ATOMIC_SEQ_CST);
    pthread_cond_broadcast(&m->cv);
    pthread_mutex_unlock(&m->mu);
    for (int t = 1; t < m->started; t++) pthread_join(m->helpers[t - 1], NULL);
  }
  pthread_mutex_destroy(&m->mu);
  pthread_cond_destroy(&m->cv);
  free(m->helpers);
  free(m->layers);
  free(m->hstate);
  free(m->claim);
  free(m->finished);
  free(m);
}

int step_model_threads(const step_model_t *m) { return m->threads == 1 || m->threaded ? m->threads : 1; }

void step_model_run(step_model_t *m) {
  const uint64_t s = ++m->step;
  int threaded = m->threads > 1;
  if (threaded && m->autotune) {
    if (!m->probing && m->until_probe-- == 0) {
      m->probing = 1;
      m->probe_steps[0] = m->probe_steps[1] = m->probe_ns[0] = m->probe_ns[1] = 0;
    }
    threaded = m->probing ? m->probing == 2 : m->threaded;
  }
  /* Started before any threaded step is timed: thread creation is not a step's cost. */
  if (m->threads > 1 && !m->started) crew_start(m);
  const uint64_t t0 = m->probing ? now_ns() : 0;
  if (!threaded) {
    for (int ph = 0; ph <= m->L; ph++) {
      /* Claimed as the helpers would see it, should the next step be threaded. */
      for (int p = 0; p < m->parts; p++) {
        __atomic_store_n(&m->claim[(size_t)ph * m->parts + p].v, s, __ATOMIC_RELAXED);
        run_part(m, ph, p);
      }
      __atomic_store_n(&m->finished[ph].v, s * (uint64_t)m->parts, __ATOMIC_RELEASE);
    }
  } else {
    /* Publishes this step's ids and the h the last step left (written before) with its number. */
    __atomic_store_n(&m->go.v, s, __ATOMIC_SEQ_CST);
    if (__atomic_load_n(&m->sleepers.v, __ATOMIC_SEQ_CST) > 0) {
      pthread_mutex_lock(&m->mu);
      pthread_cond_broadcast(&m->cv);
      pthread_mutex_unlock(&m->mu);
    }
    model_job(m, 0, s); /* returns once every part of every phase is done */
  }
  if (m->probing) {
    const int i = m->probing - 1;
    m->probe_ns[i] += now_ns() - t0;
    if (++m->probe_steps[i] >= PROBE_STEPS && m->probe_ns[i] >= PROBE_NS) {
      if (m->probing == 1) m->probing = 2;
      else {
        /* Means, compared as sums: threads when 1.05 x their mean < the mean alone. */
        const double alone = (double)m->probe_ns[0] / (double)m->probe_steps[0];
        const double threads = (double)m->probe_ns[1] / (double)m->probe_steps[1];
        const int threaded_wins = 1.05 * threads < alone;
        m->probe_every = threaded_wins == m->threaded ? (m->probe_every < PROBE_LAST ? 2 * m->probe_every : PROBE_LAST)
                                                      : PROBE_FIRST;
        m->threaded = threaded_wins;
        m->probing = 0;
        m->until_probe = m->probe_every;
      }
    }
  }
  /* Every unit of every layer has been computed from the old h: h_t can replace it now. */
  for (int l = 0; l < m->L; l++) memcpy(m->hstate[l], m->layers[l].hn, (size_t)m->B * m->H * sizeof(float));
}
