// AVX2/FMA versions of the elementwise cell updates in act.h, eight hidden
// units at a time, with vectorised exp, sigmoid and tanh, and AVX-512 ones
// sixteen at a time that give the same bits. Compiled for any x86 CPU (target
// attributes, not -mavx2); cells.c calls them only after runtime detection.
// Units past the last multiple of eight go through the scalar code.
#include "charrnn.h"
#include "act.h"

#if (defined(__x86_64__) || defined(__i386__)) && !defined(CHARRNN_PORTABLE)
#include <immintrin.h>
#if !defined(CHARRNN_NO_AVX512) && (defined(__clang__) || (defined(__GNUC__) && __GNUC__ >= 5))
#define HAVE_AVX512_ACT 1
#endif

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

#ifdef HAVE_AVX512_ACT
/*
 * The same sixteen units at a time, for AVX-512 CPUs: exp16, sigmoid16 and tanh16 are exp8,
 * sigmoid8 and tanh8 operation for operation (the same polynomials, the same fused and
 * unfused steps, correctly rounded division), and every row function has the AVX2 one's
 * expression, so each lane gets exactly the value the AVX2 code gives it. Units past the
 * last multiple of 16 go to the AVX2 rows, which leave those past the last multiple of 8 to
 * the scalar code, as on an AVX2 CPU: results are bit-identical across the two.
 */
#define AVX512 __attribute__((target("avx512f,avx2,fma")))
#define I512(v) _mm512_castps_si512(v)
#define F512(v) _mm512_castsi512_ps(v)

AVX512 static inline __m512 exp16(__m512 x) {
  x = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(-87.0f)), _mm512_set1_ps(88.0f));
  const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
  __m512 p = _mm512_set1_ps(1.9875691500e-4f);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
  p = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
  const __m512i e = _mm512_slli_epi32(_mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127)), 23);
  return _mm512_mul_ps(p, F512(e));
}

AVX512 static inline __m512 sigmoid16(__m512 x) {
  const __m512 one = _mm512_set1_ps(1.0f);
  return _mm512_div_ps(one, _mm512_add_ps(one, exp16(_mm512_sub_ps(_mm512_setzero_ps(), x))));
}

AVX512 static inline __m512 tanh16(__m512 x) {
  const __m512i sign = _mm512_set1_epi32((int)0x80000000u);
  const __m512 ax = F512(_mm512_andnot_si512(sign, I512(x)));
  const __m512 z = _mm512_mul_ps(x, x);
  __m512 p = _mm512_set1_ps(-5.70498872745e-3f);
  p = _mm512_fmadd_ps(p, z, _mm512_set1_ps(2.06390887954e-2f));
  p = _mm512_fmadd_ps(p, z, _mm512_set1_ps(-5.37397155531e-2f));
  p = _mm512_fmadd_ps(p, z, _mm512_set1_ps(1.33314422036e-1f));
  p = _mm512_fmadd_ps(p, z, _mm512_set1_ps(-3.33332819422e-1f));
  const __m512 small = _mm512_fmadd_ps(_mm512_mul_ps(p, z), x, x);
  const __m512 one = _mm512_set1_ps(1.0f);
  const __m512 e = exp16(_mm512_add_ps(ax, ax));
  __m512 big = _mm512_sub_ps(one, _mm512_div_ps(_mm512_set1_ps(2.0f), _mm512_add_ps(e, one)));
  big = F512(_mm512_or_si512(I512(big), _mm512_and_si512(sign, I512(x))));
  return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(ax, _mm512_set1_ps(0.625f), _CMP_LT_OQ), big, small);
}

#define LD16(p) _mm512_loadu_ps(p)
#define ST16(p, v) _mm512_storeu_ps(p, v)
#define SUB16(a, b) _mm512_sub_ps(a, b)
#define MUL16(a, b) _mm512_mul_ps(a, b)
#define ADD16(a, b) _mm512_add_ps(a, b)

/* j0 is a multiple of GEMM_NR (16): which units take the narrower paths does not depend on the split. */
static inline int body_end16(int j0, int j1) { return j0 + ((j1 - j0) & ~15); }

AVX512 void lstm_forward_row_avx512(float *g, const float *cp, float *ct, float *ht, int H, int j0, int j1) {
  const int je = body_end16(j0, j1);
  for (int j = j0; j < je; j += 16) {
    const __m512 ig = sigmoid16(LD16(g + j)), fg = sigmoid16(LD16(g + H + j));
    const __m512 gg = tanh16(LD16(g + 2 * H + j)), og = sigmoid16(LD16(g + 3 * H + j));
    ST16(g + j, ig); ST16(g + H + j, fg); ST16(g + 2 * H + j, gg); ST16(g + 3 * H + j, og);
    const __m512 c = _mm512_fmadd_ps(fg, LD16(cp + j), MUL16(ig, gg));
    ST16(ct + j, c);
    ST16(ht + j, MUL16(og, tanh16(c)));
  }
  lstm_forward_row_avx2(g, cp, ct, ht, H, je, j1);
}

AVX512 void lstm_backward_row_avx512(const float *g, const float *c, const float *cp, const float *dh,
                                     const float *dhn, float *dcn, float *dg, int H, int j0, int j1) {
  const __m512 one = _mm512_set1_ps(1.0f);
  const int je = body_end16(j0, j1);
  for (int j = j0; j < je; j += 16) {
    const __m512 ig = LD16(g + j), fg = LD16(g + H + j), gg = LD16(g + 2 * H + j), og = LD16(g + 3 * H + j);
    const __m512 tc = tanh16(LD16(c + j));
    const __m512 dht = ADD16(LD16(dh + j), LD16(dhn + j));
    const __m512 dct = ADD16(LD16(dcn + j), MUL16(MUL16(dht, og), SUB16(one, MUL16(tc, tc))));
    ST16(dg + j, MUL16(MUL16(MUL16(dct, gg), ig), SUB16(one, ig)));
    ST16(dg + H + j, MUL16(MUL16(MUL16(dct, LD16(cp + j)), fg), SUB16(one, fg)));
    ST16(dg + 2 * H + j, MUL16(MUL16(dct, ig), SUB16(one, MUL16(gg, gg))));
    ST16(dg + 3 * H + j, MUL16(MUL16(MUL16(dht, tc), og), SUB16(one, og)));
    ST16(dcn + j, MUL16(dct, fg));
  }
  lstm_backward_row_avx2(g, c, cp, dh, dhn, dcn, dg, H, je, j1);
}

AVX512 void gru_forward_row_avx512(float *g, const float *hh, const float *hp, float *aux, float *ht, int H, int j0,
                                   int j1) {
  const __m512 one = _mm512_set1_ps(1.0f);
  const int je = body_end16(j0, j1);
  for (int j = j0; j < je; j += 16) {
    const __m512 r = sigmoid16(ADD16(LD16(g + j), LD16(hh + j)));
    const __m512 z = sigmoid16(ADD16(LD16(g + H + j), LD16(hh + H + j)));
    const __m512 hn = LD16(hh + 2 * H + j);
    const __m512 nn = tanh16(ADD16(LD16(g + 2 * H + j), MUL16(r, hn)));
    ST16(g + j, r); ST16(g + H + j, z); ST16(g + 2 * H + j, nn);
    ST16(aux + j, hn);
    ST16(ht + j, ADD16(MUL16(SUB16(one, z), nn), MUL16(z, LD16(hp + j))));
  }
  gru_forward_row_avx2(g, hh, hp, aux, ht, H, je, j1);
}

AVX512 void gru_backward_row_avx512(const float *g, const float *hn, const float *hp, const float *dh, float *dhn,
                                    float *dgx, float *dgh, int H, int j0, int j1) {
  const __m512 one = _mm512_set1_ps(1.0f);
  const int je = body_end16(j0, j1);
  for (int j = j0; j < je; j += 16) {
    const __m512 r = LD16(g + j), z = LD16(g + H + j), nn = LD16(g + 2 * H + j);
    const __m512 dht = ADD16(LD16(dh + j), LD16(dhn + j));
    const __m512 dn = MUL16(MUL16(dht, SUB16(one, z)), SUB16(one, MUL16(nn, nn)));
    const __m512 dz = MUL16(MUL16(MUL16(dht, SUB16(LD16(hp + j), nn)), z), SUB16(one, z));
    const __m512 dr = MUL16(MUL16(MUL16(dn, LD16(hn + j)), r), SUB16(one, r));
    ST16(dgx + j, dr); ST16(dgx + H + j, dz); ST16(dgx + 2 * H + j, dn);
    ST16(dgh + j, dr); ST16(dgh + H + j, dz); ST16(dgh + 2 * H + j, MUL16(dn, r));
    ST16(dhn + j, MUL16(dht, z));
  }
  gru_backward_row_avx2(g, hn, hp, dh, dhn, dgx, dgh, H, je, j1);
}

AVX512 void rnn_forward_row_avx512(float *g, float *ht, int j0, int j1) {
  const int je = body_end16(j0, j1);
  for (int j = j0; j < je; j += 16) {
    const __m512 v = tanh16(LD16(g + j));
    ST16(g + j, v);
    ST16(ht + j, v);
  }
  rnn_forward_row_avx2(g, ht, je, j1);
}

AVX512 void rnn_backward_row_avx512(const float *h, const float *dh, const float *dhn, float *dg, int j0, int j1) {
  const __m512 one = _mm512_set1_ps(1.0f);
  const int je = body_end16(j0, j1);
  for (int j = j0; j < je; j += 16) {
    const __m512 hv = LD16(h + j);
    ST16(dg + j, MUL16(ADD16(LD16(dh + j), LD16(dhn + j)), SUB16(one, MUL16(hv, hv))));
  }
  rnn_backward_row_avx2(h, dh, dhn, dg, je, j1);
}

#endif /* HAVE_AVX512_ACT */

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

#ifndef HAVE_AVX512_ACT
/* No AVX-512 here (not x86, or a compiler without it): never called, since gemm_uses_avx512() is 0. */
void lstm_forward_row_avx512(float *g, const float *cp, float *ct, float *ht, int H, int j0, int j1) {
  lstm_forward_row_avx2(g, cp, ct, ht, H, j0, j1);
}
void lstm_backward_row_avx512(const float *g, const float *c, const float *cp, const float *dh, const float *dhn,
                              float *dcn, float *dg, int H, int j0, int j1) {
  lstm_backward_row_avx2(g, c, cp, dh, dhn, dcn, dg, H, j0, j1);
}
void gru_forward_row_avx512(float *g, const float *hh, const float *hp, float *aux, float *ht, int H, int j0, int j1) {
  gru_forward_row_avx2(g, hh, hp, aux, ht, H, j0, j1);
}
void gru_backward_row_avx512(const float *g, const float *hn, const float *hp, const float *dh, float *dhn, float *dgx,
                             float *dgh, int H, int j0, int j1) {
  gru_backward_row_avx2(g, hn, hp, dh, dhn, dgx, dgh, H, j0, j1);
}
void rnn_forward_row_avx512(float *g, float *ht, int j0, int j1) { rnn_forward_row_avx2(g, ht, j0, j1); }
void rnn_backward_row_avx512(const float *h, const float *dh, const float *dhn, float *dg, int j0, int j1) {
  rnn_backward_row_avx2(h, dh, dhn, dg, j0, j1);
}
#endif
