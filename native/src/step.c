// Inference steps: one time step of a layer, or of a whole model, for B streams.
//
// Generation feeds one character at a time, so a step is a handful of
// matrix products with B rows: each weight is read once per step and used for B
// streams. The weights are packed once per bound model (step_pack, called by the
// caller whenever it rebuilds the input table): transposed in panels of 16 rows,
// so one k gives a vector of 16 output rows, and the micro-kernels broadcast
// x[b, k] for several streams against a few panel vectors (a small GEMM; up to
// 24 accumulators on AVX-512). Layer 0 takes its input projection from a
// per-character table (the model's, rebuilt when the weights change), so it only
// multiplies by W_hh.
//
// Each (stream, row) element is one FMA chain over k from 0 (W_ih's columns then
// W_hh's), added to its bias at the end, whatever the streams and panels blocked
// with it, so every stream's result is bit-identical whatever B, the thread
// count and the split between threads; the AVX-512 and AVX2 kernels run the same
// chains (the portable C one too, but the compiler decides whether it fuses).
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

/* ---- packed weights ---- */

/*
 * A weight matrix [R, K] (PyTorch's, row-major) is read as panels of 16 rows,
 * transposed: panel p is [K][16], rows 16p .. 16p + 15 (rows past R are zeros),
 * so one k gives one vector of 16 output rows. A layer's panel holds W_ih's
 * columns, then W_hh's ([kx + H][16]; kx = 0 for layer 0, whose input comes
 * from the table), gate by gate: [gates][panels of H][kx + H][16]. A bound
 * model's output layer follows its layers: [panels of V][H][16].
 */
#define PANEL 16

static size_t panels_of(int rows) { return ((size_t)rows + PANEL - 1) / PANEL; }

static size_t layer_pack_size(int cell, int kx, int H) {
  return (size_t)cell_gates(cell) * panels_of(H) * PANEL * ((size_t)kx + (size_t)H);
}

size_t step_pack_size(int cell, int L, int H, int V) {
  return layer_pack_size(cell, 0, H) + (size_t)(L - 1) * layer_pack_size(cell, H, H) + panels_of(V) * PANEL * (size_t)H;
}

/* Rows [r0, r0 + 16) of w ([R, K]) into a panel's first K columns, rows past R as zeros. */
static void pack_rows(float *panel, const float *w, int R, int K, int r0) {
  for (int i = 0; i < PANEL; i++) {
    const float *row = r0 + i < R ? w + (size_t)(r0 + i) * K : NULL;
    for (int k = 0; k < K; k++) panel[(size_t)k * PANEL + i] = row ? row[k] : 0.0f;
  }
}

/* wih [G, kx] (not read when kx = 0), whh [G, H] -> [gates][panels of H][kx + H][16]. */
static void pack_layer(float *dst, int cell, int kx, int H, const float *wih, const float *whh) {
  const size_t np = panels_of(H), panel = (size_t)(kx + H) * PANEL;
  for (int g = 0; g < cell_gates(cell); g++)
    for (size_t p = 0; p < np; p++) {
      float *d = dst + ((size_t)g * np + p) * panel;
      if (kx) pack_rows(d, wih + (size_t)g * H * kx, H, kx, (int)p * PANEL);
      pack_rows(d + (size_t)kx * PANEL, whh + (size_t)g * H * H, H, H, (int)p * PANEL);
    }
}

void step_pack(int cell, int L, int H, int V, const float *const *wih, const float *const *whh, const float *wout,
               float *dst) {
  for (int l = 0; l < L; l++) {
    const int kx = l > 0 ? H : 0;
    pack_layer(dst, cell, kx, H, wih[l], whh[l]);
    dst += layer_pack_size(cell, kx, H);
  }
  for (size_t p = 0; p < panels_of(V); p++) pack_rows(dst + p * PANEL * H, wout, V, H, (int)p * PANEL);
}

/* ---- panel products ---- */

/*
 * Panels [p0, p1) of each of `gates` gates: gate g's panel p at
 * w + (g * gate_panels + p) * panel_floats, its rows at y columns
 * g * gate_rows + 16p ..; only rows below r_end (within a gate) are stored.
 */
typedef struct {
  const float *w;
  size_t gate_panels, panel_floats;
  int gates, gate_rows, p0, p1, r_end;
} panels_t;

/*
 * For every row of the panels and every stream b < B:
 *   y[b * ldy + row] += sum over k < ka of w[k] xa[b, k], then over k < kb of w[ka + k] xb[b, k]
 * as one FMA chain from 0 in that order (xb may be NULL with kb = 0), added to y
 * once at the end. Every kernel computes each (stream, row) by exactly this chain,
 * whatever the streams and panels blocked with it.
 */
typedef void panels_fn(const panels_t *s, float *y, int ldy, const float *xa, int ka, int ldxa, const float *xb,
                       int kb, int ldxb, int B);

/* Panels q0 .. q0 + n - 1 of the set (gate-major): their weights, their rows' offset in y, their rows to store. */
AI void panel_group(const panels_t *s, int q0, int n, const float **w, int *yo, int *nv) {
  const int np = s->p1 - s->p0;
  for (int i = 0; i < n; i++) {
    const int q = q0 + i, g = q / np, p = s->p0 + q % np;
    w[i] = s->w + ((size_t)g * s->gate_panels + (size_t)p) * s->panel_floats;
    yo[i] = g * s->gate_rows + p * PANEL;
    nv[i] = s->r_end - p * PANEL < PANEL ? s->r_end - p * PANEL : PANEL;
  }
}

/* Streams cut into blocks of at most `most`, as even as they go (50 by 12: five of 10, no block of 2). */
AI int block_streams(int left, int most) {
  const int blocks = (left + most - 1) / most;
  return (left + blocks - 1) / blocks;
}

static void panels_generic(const panels_t *s, float *y, int ldy, const float *xa, int ka, int ldxa, const float *xb,
                           int kb, int ldxb, int B) {
  const int nq = s->gates * (s->p1 - s->p0);
  for (int q = 0; q < nq; q++) {
    const float *w;
    int yo, nv;
    panel_group(s, q, 1, &w, &yo, &nv);
    for (int b = 0; b < B; b++) {
      float acc[PANEL] = {0};
      const float *x = xa + (size_t)b * ldxa;
      for (int k = 0; k < ka; k++)
        for (int i = 0; i < PANEL; i++) acc[i] += w[(size_t)k * PANEL + i] * x[k];
      if (kb) {
        const float *wb = w + (size_t)ka * PANEL;
        x = xb + (size_t)b * ldxb;
        for (int k = 0; k < kb; k++)
          for (int i = 0; i < PANEL; i++) acc[i] += wb[(size_t)k * PANEL + i] * x[k];
      }
      float *yb = y + (size_t)b * ldy + yo;
      for (int i = 0; i < nv; i++) yb[i] += acc[i];
    }
  }
}

#ifdef HAVE_X86
#define AVX2 __attribute__((target("avx2,fma")))
#define AVX512 __attribute__((target("avx512f,avx2,fma")))

/* The arguments of a micro-kernel: NB streams (rows of y, xa, xb from b) by NP panels. */
#define MK_PARAMS                                                                                                   \
  float *y, int ldy, const float *const *w, const int *yo, const int *nv, const float *xa, int ka, int ldxa,        \
      const float *xb, int kb, int ldxb
#define MK_ARGS y, ldy, w, yo, nv, xa, ka, ldxa, xb, kb, ldxb

AVX2 AI __m256i tail_mask8(int n) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

/* acc[b][2p + h] += half h of panel p's column k times x[b, k], over K columns from column k0 (constants once inlined). */
AVX2 AI void mac256(const int NB, const int NP, __m256 acc[6][8], const float *const *w, int k0, int K, const float *x,
                    int ldx) {
  const float *wp[4], *xr[6];
  for (int p = 0; p < NP; p++) wp[p] = w[p] + (size_t)k0 * PANEL;
  for (int b = 0; b < NB; b++) xr[b] = x + (size_t)b * ldx;
  for (int k = 0; k < K; k++) {
    __m256 wv[8];
    for (int p = 0; p < NP; p++) {
      wv[2 * p] = _mm256_loadu_ps(wp[p] + (size_t)k * PANEL);
      wv[2 * p + 1] = _mm256_loadu_ps(wp[p] + (size_t)k * PANEL + 8);
      /* One load per weight vector: left alone, GCC folds the load into every stream's FMA. */
      if (NB > 1) __asm__("" : "+x"(wv[2 * p]), "+x"(wv[2 * p + 1]));
    }
    for (int b = 0; b < NB; b++) {
      const __m256 xv = _mm256_set1_ps(xr[b][k]);
      for (int j = 0; j < 2 * NP; j++) acc[b][j] = _mm256_fmadd_ps(wv[j], xv, acc[b][j]);
    }
  }
}

AVX2 AI void mk256(const int NB, const int NP, MK_PARAMS) {
  __m256 acc[6][8];
  for (int b = 0; b < NB; b++)
    for (int j = 0; j < 2 * NP; j++) acc[b][j] = _mm256_setzero_ps();
  mac256(NB, NP, acc, w, 0, ka, xa, ldxa);
  if (kb) mac256(NB, NP, acc, w, ka, kb, xb, ldxb);
  for (int p = 0; p < NP; p++) {
    const __m256i lo = tail_mask8(nv[p]), hi = tail_mask8(nv[p] - 8);
    for (int b = 0; b < NB; b++) {
      float *t = y + (size_t)b * ldy + yo[p];
      _mm256_maskstore_ps(t, lo, _mm256_add_ps(_mm256_maskload_ps(t, lo), acc[b][2 * p]));
      _mm256_maskstore_ps(t + 8, hi, _mm256_add_ps(_mm256_maskload_ps(t + 8, hi), acc[b][2 * p + 1]));
    }
  }
}

/* acc[b][p] += panel p's column k times x[b, k], over K columns from column k0. */
AVX512 AI void mac512(const int NB, const int NP, __m512 acc[12][8], const float *const *w, int k0, int K,
                      const float *x, int ldx) {
  const float *wp[8], *xr[12];
  for (int p = 0; p < NP; p++) wp[p] = w[p] + (size_t)k0 * PANEL;
  for (int b = 0; b < NB; b++) xr[b] = x + (size_t)b * ldx;
  for (int k = 0; k < K; k++) {
    __m512 wv[8];
    for (int p = 0; p < NP; p++) {
      wv[p] = _mm512_loadu_ps(wp[p] + (size_t)k * PANEL);
      if (NB > 1) __asm__("" : "+v"(wv[p]));
    }
    for (int b = 0; b < NB; b++) {
      const __m512 xv = _mm512_set1_ps(xr[b][k]);
      for (int p = 0; p < NP; p++) acc[b][p] = _mm512_fmadd_ps(wv[p], xv, acc[b][p]);
    }
  }
}

AVX512 AI void mk512(const int NB, const int NP, MK_PARAMS) {
  __m512 acc[12][8];
  for (int b = 0; b < NB; b++)
    for (int p = 0; p < NP; p++) acc[b][p] = _mm512_setzero_ps();
  mac512(NB, NP, acc, w, 0, ka, xa, ldxa);
  if (kb) mac512(NB, NP, acc, w, ka, kb, xb, ldxb);
  for (int p = 0; p < NP; p++) {
    const __mmask16 m = (__mmask16)((1u << nv[p]) - 1);
    for (int b = 0; b < NB; b++) {
      float *t = y + (size_t)b * ldy + yo[p];
      _mm512_mask_storeu_ps(t, m, _mm512_add_ps(_mm512_maskz_loadu_ps(m, t), acc[b][p]));
    }
  }
}

typedef void mk_fn(MK_PARAMS);
#define MK(isa, nb, np) \
  isa static void mk##isa##_##nb##_##np(MK_PARAMS) { mk##isa##_inline(nb, np, MK_ARGS); }
#define mkAVX2_inline mk256
#define mkAVX512_inline mk512
/* AVX2 (16 registers): 1 stream by 4 panels (8 chains), 2 by 2, or up to 6 by 1 (12 accumulators). */
MK(AVX2, 1, 1) MK(AVX2, 1, 2) MK(AVX2, 1, 3) MK(AVX2, 1, 4) MK(AVX2, 2, 1) MK(AVX2, 2, 2)
MK(AVX2, 3, 1) MK(AVX2, 4, 1) MK(AVX2, 5, 1) MK(AVX2, 6, 1)
/* AVX-512 (32 registers): 1 stream by 8 panels, up to 5 by 4, or up to 12 by 2 (24 accumulators). */
MK(AVX512, 1, 1) MK(AVX512, 1, 2) MK(AVX512, 1, 3) MK(AVX512, 1, 4)
MK(AVX512, 1, 5) MK(AVX512, 1, 6) MK(AVX512, 1, 7) MK(AVX512, 1, 8)
MK(AVX512, 2, 1) MK(AVX512, 2, 2) MK(AVX512, 2, 3) MK(AVX512, 2, 4)
MK(AVX512, 3, 1) MK(AVX512, 3, 2) MK(AVX512, 3, 3) MK(AVX512, 3, 4)
MK(AVX512, 4, 1) MK(AVX512, 4, 2) MK(AVX512, 4, 3) MK(AVX512, 4, 4)
MK(AVX512, 5, 1) MK(AVX512, 5, 2) MK(AVX512, 5, 3) MK(AVX512, 5, 4)
MK(AVX512, 6, 1) MK(AVX512, 6, 2) MK(AVX512, 7, 1) MK(AVX512, 7, 2) MK(AVX512, 8, 1) MK(AVX512, 8, 2)
MK(AVX512, 9, 1) MK(AVX512, 9, 2) MK(AVX512, 10, 1) MK(AVX512, 10, 2) MK(AVX512, 11, 1) MK(AVX512, 11, 2)
MK(AVX512, 12, 1) MK(AVX512, 12, 2)

/* [streams][panels]: the kernel of each block shape a plan below uses. */
static mk_fn *const MK_AVX2[7][5] = {
    [1] = {NULL, mkAVX2_1_1, mkAVX2_1_2, mkAVX2_1_3, mkAVX2_1_4}, [2] = {NULL, mkAVX2_2_1, mkAVX2_2_2},
    [3] = {NULL, mkAVX2_3_1}, [4] = {NULL, mkAVX2_4_1}, [5] = {NULL, mkAVX2_5_1}, [6] = {NULL, mkAVX2_6_1},
};
static mk_fn *const MK_AVX512[13][9] = {
    [1] = {NULL, mkAVX512_1_1, mkAVX512_1_2, mkAVX512_1_3, mkAVX512_1_4, mkAVX512_1_5, mkAVX512_1_6, mkAVX512_1_7,
           mkAVX512_1_8},
    [2] = {NULL, mkAVX512_2_1, mkAVX512_2_2, mkAVX512_2_3, mkAVX512_2_4},
    [3] = {NULL, mkAVX512_3_1, mkAVX512_3_2, mkAVX512_3_3, mkAVX512_3_4},
    [4] = {NULL, mkAVX512_4_1, mkAVX512_4_2, mkAVX512_4_3, mkAVX512_4_4},
    [5] = {NULL, mkAVX512_5_1, mkAVX512_5_2, mkAVX512_5_3, mkAVX512_5_4},
    [6] = {NULL, mkAVX512_6_1, mkAVX512_6_2}, [7] = {NULL, mkAVX512_7_1, mkAVX512_7_2},
    [8] = {NULL, mkAVX512_8_1, mkAVX512_8_2}, [9] = {NULL, mkAVX512_9_1, mkAVX512_9_2},
    [10] = {NULL, mkAVX512_10_1, mkAVX512_10_2}, [11] = {NULL, mkAVX512_11_1, mkAVX512_11_2},
    [12] = {NULL, mkAVX512_12_1, mkAVX512_12_2},
};

/*
 * Panels outer, streams inner: a group of NP panels (at most 2 x 2048 x 16
 * floats, 256 KB, for a 2x1024 layer) is read from memory once and then from
 * L2 by each block of streams. NP and the stream block follow from B alone.
 */
static void panels_blocked(mk_fn *const *tab, int stride, int np_max, int nb_max, const panels_t *s, float *y, int ldy,
                           const float *xa, int ka, int ldxa, const float *xb, int kb, int ldxb, int B) {
  const int nq = s->gates * (s->p1 - s->p0);
  for (int q0 = 0; q0 < nq; q0 += np_max) {
    const int n = nq - q0 < np_max ? nq - q0 : np_max;
    const float *w[8];
    int yo[8], nv[8];
    panel_group(s, q0, n, w, yo, nv);
    for (int b = 0; b < B;) {
      const int nb = block_streams(B - b, nb_max);
      tab[nb * stride + n](y + (size_t)b * ldy, ldy, w, yo, nv, xa + (size_t)b * ldxa, ka, ldxa,
                           xb ? xb + (size_t)b * ldxb : NULL, kb, ldxb);
      b += nb;
    }
  }
}

static void panels_avx2(const panels_t *s, float *y, int ldy, const float *xa, int ka, int ldxa, const float *xb,
                        int kb, int ldxb, int B) {
  const int np = B == 1 ? 4 : B == 2 ? 2 : 1, nb = B <= 2 ? B : 6;
  panels_blocked(&MK_AVX2[0][0], 5, np, nb, s, y, ldy, xa, ka, ldxa, xb, kb, ldxb, B);
}

static void panels_avx512(const panels_t *s, float *y, int ldy, const float *xa, int ka, int ldxa, const float *xb,
                          int kb, int ldxb, int B) {
  const int np = B == 1 ? 8 : B <= 5 ? 4 : 2, nb = B <= 5 ? B : 12;
  panels_blocked(&MK_AVX512[0][0], 9, np, nb, s, y, ldy, xa, ka, ldxa, xb, kb, ldxb, B);
}

#endif

static panels_fn *panels_for(int isa) {
#ifdef HAVE_X86
  if (isa >= STEP_AVX512 && step_isa_best() >= STEP_AVX512) return panels_avx512;
  if (isa >= STEP_AVX2 && step_isa_best() >= STEP_AVX2) return panels_avx2;
#endif
  return panels_generic;
}

/*
 * Hidden units [j0, j1) of one layer's step, all streams: the rows of every gate
 * for those units, then the cell update of those units. Reads all of h (every
 * unit's gates depend on all of h_{t-1}) and writes only columns [j0, j1) of
 * gx, gh, c and hn, so parts of a layer can run at once. j0 is a multiple of 16
 * (a panel's first unit).
 */
static void layer_part(const step_cell_t *a, int isa, int j0, int j1) {
  const int B = a->B, I = a->I, H = a->H, NG = cell_gates(a->cell), G = NG * H, R = j1 - j0;
  const int gru = a->cell == CELL_GRU;
  if (R <= 0) return;
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
  }
  const int kx = a->kx;
  const panels_t s = {a->pw, panels_of(H), (size_t)(kx + H) * PANEL, NG, H, j0 / PANEL, (j1 + PANEL - 1) / PANEL, j1};
  panels_fn *run = panels_for(isa);
  if (gru) {
    if (kx) run(&s, a->gx, G, a->x, kx, I, NULL, 0, 0, B);
    panels_t sh = s;
    sh.w += (size_t)kx * PANEL;
    run(&sh, a->gh, G, a->h, H, H, NULL, 0, 0, B);
  } else if (kx) {
    run(&s, a->gx, G, a->x, kx, I, a->h, H, H, B);
  } else {
    run(&s, a->gx, G, a->h, H, H, NULL, 0, 0, B);
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

int step_cell_run(ctx_t *ctx, int isa, const step_cell_t *a) {
  (void)ctx;
  step_cell_t t = *a;
  t.kx = a->x ? a->I : 0;
  float *pw = aligned_floats(layer_pack_size(a->cell, t.kx, a->H));
  if (!pw) return -1;
  pack_layer(pw, a->cell, t.kx, a->H, a->wih, a->whh);
  t.pw = pw;
  layer_part(&t, isa, 0, a->H);
  free(pw);
  return 0;
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
  const float *pout, *bout; /* pout: the output layer's panels in the packed weights */
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
  const panels_t s = {m->pout, 0, (size_t)H * PANEL, 1, V, v0 / PANEL, (v1 + PANEL - 1) / PANEL, v1};
  panels_for(m->isa)(&s, m->logits, V, top, H, H, NULL, 0, 0, B);
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
                                float *const *hstate, const float *packed, const float *bout, float *logits,
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
    a->kx = l > 0 ? H : 0;
    a->pw = packed;
    packed += layer_pack_size(cell, a->kx, H);
  }
  m->pout = packed;
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
