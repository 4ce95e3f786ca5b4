// AVX2/FMA versions of the elementwise cell updates in act.h, eight hidden
// units at a time, with vectorised exp, sigmoid and tanh. Compiled for any x86
// CPU (target attributes, not -mavx2); cells.c calls them only after runtime
// detection. Units past the last multiple of eight go through the scalar code.
#include "charrnn.h"
#include "act.h"

#if (defined(__x86_64__) || defined(__i386__)) && !defined(CHARRNN_PORTABLE)
#include <immintrin.h>

#define AVX2 __attribute__((target("avx2,fma")))

/* exp(x) for float32: x = n ln2 + r with |r| <= ln2/2, then a degree-7 polynomial for
   exp(r) and 2^n built in the exponent bits. The clamp keeps 2^n a normal float. */
AVX2 static inline __m256 exp8(__m256 x) {
  x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-87.0f)), _mm256_set1_ps(88.0f));
  const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  /* ln 2 split in two so that n * hi is exact. */
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
  __m256 p = _mm256_set1_ps(1.9875691500e-4f);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
  p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
  const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
  return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}

AVX2 static inline __m256 sigmoid8(__m256 x) {
  const __m256 one = _mm256_set1_ps(1.0f);
  return _mm256_div_ps(one, _mm256_add_ps(one, exp8(_mm256_sub_ps(_mm256_setzero_ps(), x))));
}

/* tanh: an odd polynomial near zero, where 1 - 2 / (e^2x + 1) would lose the
   relative precision of small results; that formula elsewhere. */
AVX2 static inline __m256 tanh8(__m256 x) {
  const __m256 sign = _mm256_set1_ps(-0.0f);
  const __m256 ax = _mm256_andnot_ps(sign, x);
  const __m256 z = _mm256_mul_ps(x, x);
  __m256 p = _mm256_set1_ps(-5.70498872745e-3f);
  p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(2.06390887954e-2f));
  p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(-5.37397155531e-2f));
  p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(1.33314422036e-1f));
  p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(-3.33332819422e-1f));
  const __m256 small = _mm256_fmadd_ps(_mm256_mul_ps(p, z), x, x);
  const __m256 one = _mm256_set1_ps(1.0f);
  const __m256 e = exp8(_mm256_add_ps(ax, ax));
  __m256 big = _mm256_sub_ps(one, _mm256_div_ps(_mm256_set1_ps(2.0f), _mm256_add_ps(e, one)));
  big = _mm256_or_ps(big, _mm256_and_ps(sign, x));
  return _mm256_blendv_ps(big, small, _mm256_cmp_ps(ax, _mm256_set1_ps(0.625f), _CMP_LT_OQ));
}

#define LD(p) _mm256_loadu_ps(p)
#define ST(p, v) _mm256_storeu_ps(p, v)
#define SUB(a, b) _mm256_sub_ps(a, b)
#define MUL(a, b) _mm256_mul_ps(a, b)
#define ADD(a, b) _mm256_add_ps(a, b)

/* The vector body stops at the last multiple of 8; j0 is a multiple of GEMM_NR, so which units take
   the scalar tail does not depend on how hidden units are split between threads. */
static inline int body_end(int j0, int j1) { return j0 + ((j1 - j0) & ~7); }

AVX2 void lstm_forward_row_avx2(float *g, const float *cp, float *ct, float *ht, int H, int j0, int j1) {
  const int je = body_end(j0, j1);
  for (int j = j0; j < je; j += 8) {
    const __m256 ig = sigmoid8(LD(g + j)), fg = sigmoid8(LD(g + H + j));
    const __m256 gg = tanh8(LD(g + 2 * H + j)), og = sigmoid8(LD(g + 3 * H + j));
    ST(g + j, ig); ST(g + H + j, fg); ST(g + 2 * H + j, gg); ST(g + 3 * H + j, og);
    const __m256 c = _mm256_fmadd_ps(fg, LD(cp + j), MUL(ig, gg));
    ST(ct + j, c);
    ST(ht + j, MUL(og, tanh8(c)));
  }
  lstm_forward_row(g, cp, ct, ht, H, je, j1);
}

AVX2 void lstm_backward_row_avx2(const float *g, const float *c, const float *cp, const float *dh, const float *dhn,
                                 float *dcn, float *dg, int H, int j0, int j1) {
  const __m256 one = _mm256_set1_ps(1.0f);
  const int je = body_end(j0, j1);
  for (int j = j0; j < je; j += 8) {
    const __m256 ig = LD(g + j), fg = LD(g + H + j), gg = LD(g + 2 * H + j), og = LD(g + 3 * H + j);
    const __m256 tc = tanh8(LD(c + j));
    const __m256 dht = ADD(LD(dh + j), LD(dhn + j));
    const __m256 dct = ADD(LD(dcn + j), MUL(MUL(dht, og), SUB(one, MUL(tc, tc))));
    ST(dg + j, MUL(MUL(MUL(dct, gg), ig), SUB(one, ig)));
    ST(dg + H + j, MUL(MUL(MUL(dct, LD(cp + j)), fg), SUB(one, fg)));
    ST(dg + 2 * H + j, MUL(MUL(dct, ig), SUB(one, MUL(gg, gg))));
    ST(dg + 3 * H + j, MUL(MUL(MUL(dht, tc), og), SUB(one, og)));
    ST(dcn + j, MUL(dct, fg));
  }
  lstm_backward_row(g, c, cp, dh, dhn, dcn, dg, H, je, j1);
}

AVX2 void gru_forward_row_avx2(float *g, const float *hh, const float *hp, float *aux, float *ht, int H, int j0,
                               int j1) {
  const __m256 one = _mm256_set1_ps(1.0f);
  const int je = body_end(j0, j1);
  for (int j = j0; j < je; j += 8) {
    const __m256 r = sigmoid8(ADD(LD(g + j), LD(hh + j)));
    const __m256 z = sigmoid8(ADD(LD(g + H + j), LD(hh + H + j)));
    const __m256 hn = LD(hh + 2 * H + j);
    const __m256 nn = tanh8(ADD(LD(g + 2 * H + j), MUL(r, hn)));
    ST(g + j, r); ST(g + H + j, z); ST(g + 2 * H + j, nn);
    ST(aux + j, hn);
    ST(ht + j, ADD(MUL(SUB(one, z), nn), MUL(z, LD(hp + j))));
  }
  gru_forward_row(g, hh, hp, aux, ht, H, je, j1);
}

AVX2 void gru_backward_row_avx2(const float *g, const float *hn, const float *hp, const float *dh, float *dhn,
                                float *dgx, float *dgh, int H, int j0, int j1) {
  const __m256 one = _mm256_set1_ps(1.0f);
  const int je = body_end(j0, j1);
  for (int j = j0; j < je; j += 8) {
    const __m256 r = LD(g + j), z = LD(g + H + j), nn = LD(g + 2 * H + j);
    const __m256 dht = ADD(LD(dh + j), LD(dhn + j));
    const __m256 dn = MUL(MUL(dht, SUB(one, z)), SUB(one, MUL(nn, nn)));
    const __m256 dz = MUL(MUL(MUL(dht, SUB(LD(hp + j), nn)), z), SUB(one, z));
    const __m256 dr = MUL(MUL(MUL(dn, LD(hn + j)), r), SUB(one, r));
    ST(dgx + j, dr); ST(dgx + H + j, dz); ST(dgx + 2 * H + j, dn);
    ST(dgh + j, dr); ST(dgh + H + j, dz); ST(dgh + 2 * H + j, MUL(dn, r));
    ST(dhn + j, MUL(dht, z));
  }
  gru_backward_row(g, hn, hp, dh, dhn, dgx, dgh, H, je, j1);
}

AVX2 void rnn_forward_row_avx2(float *g, float *ht, int j0, int j1) {
  const int je = body_end(j0, j1);
  for (int j = j0; j < je; j += 8) {
    const __m256 v = tanh8(LD(g + j));
    ST(g + j, v);
    ST(ht + j, v);
  }
  rnn_forward_row(g, ht, je, j1);
}

AVX2 void rnn_backward_row_avx2(const float *h, const float *dh, const float *dhn, float *dg, int j0, int j1) {
  const __m256 one = _mm256_set1_ps(1.0f);
  const int je = body_end(j0, j1);
  for (int j = j0; j < je; j += 8) {
    const __m256 hv = LD(h + j);
    ST(dg + j, MUL(ADD(LD(dh + j), LD(dhn + j)), SUB(one, MUL(hv, hv))));
  }
  rnn_backward_row(h, dh, dhn, dg, je, j1);
}

/* exp(l[j] - max) for j < V into d (when not NULL), returning their sum in double. */
AVX2 double softmax_exp_row_avx2(const float *l, int V, float max, float *d) {
  const __m256 mx = _mm256_set1_ps(max);
  __m256d s0 = _mm256_setzero_pd(), s1 = _mm256_setzero_pd();
  int j = 0;
  for (; j + 8 <= V; j += 8) {
    const __m256 e = exp8(SUB(LD(l + j), mx));
    if (d) ST(d + j, e);
    s0 = _mm256_add_pd(s0, _mm256_cvtps_pd(_mm256_castps256_ps128(e)));
    s1 = _mm256_add_pd(s1, _mm256_cvtps_pd(_mm256_extractf128_ps(e, 1)));
  }
  if (j < V) {
    /* The last partial vector under a mask: lanes past V read nothing and add zero. */
    const __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32(V - j), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    const __m256 e = _mm256_and_ps(exp8(SUB(_mm256_maskload_ps(l + j, mask), mx)), _mm256_castsi256_ps(mask));
    if (d) _mm256_maskstore_ps(d + j, mask, e);
    s0 = _mm256_add_pd(s0, _mm256_cvtps_pd(_mm256_castps256_ps128(e)));
    s1 = _mm256_add_pd(s1, _mm256_cvtps_pd(_mm256_extractf128_ps(e, 1)));
  }
  double lanes[4] __attribute__((aligned(32)));
  _mm256_store_pd(lanes, _mm256_add_pd(s0, s1));
  return (lanes[0] + lanes[1]) + (lanes[2] + lanes[3]);
}

#else
/* Not x86: never called (cells.c checks gemm_uses_avx2()), defined so that the file links. */
void lstm_forward_row_avx2(float *g, const float *cp, float *ct, float *ht, int H, int j0, int j1) {
  lstm_forward_row(g, cp, ct, ht, H, j0, j1);
}
void lstm_backward_row_avx2(const float *g, const float *c, const float *cp, const float *dh, const float *dhn,
                            float *dcn, float *dg, int H, int j0, int j1) {
  lstm_backward_row(g, c, cp, dh, dhn, dcn, dg, H, j0, j1);
}
void gru_forward_row_avx2(float *g, const float *hh, const float *hp, float *aux, float *ht, int H, int j0, int j1) {
  gru_forward_row(g, hh, hp, aux, ht, H, j0, j1);
}
void gru_backward_row_avx2(const float *g, const float *hn, const float *hp, const float *dh, float *dhn, float *dgx,
                           float *dgh, int H, int j0, int j1) {
  gru_backward_row(g, hn, hp, dh, dhn, dgx, dgh, H, j0, j1);
}
void rnn_forward_row_avx2(float *g, float *ht, int j0, int j1) { rnn_forward_row(g, ht, j0, j1); }
void rnn_backward_row_avx2(const float *h, const float *dh, const float *dhn, float *dg, int j0, int j1) {
  rnn_backward_row(h, dh, dhn, dg, j0, j1);
}
double softmax_exp_row_avx2(const float *l, int V, float max, float *d) {
  double sum = 0;
  for (int j = 0; j < V; j++) {
    const float e = expf(l[j] - max);
    if (d) d[j] = e;
    sum += e;
  }
  return sum;
}
#endif
