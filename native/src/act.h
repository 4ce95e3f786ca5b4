// Elementwise cell updates for one batch row and hidden units [j0, j1), the
// formulas of src/kernels/reference/{lstm,gru,rnn}.ts. Rows: g is one row of
// gates [G] (G = gates * H), the others one row of a [.., H] buffer.
#ifndef CHARRNN_ACT_H
#define CHARRNN_ACT_H

#include <math.h>

static inline void lstm_forward_row(float *g, const float *cp, float *ct, float *ht, int H, int j0, int j1) {
  for (int j = j0; j < j1; j++) {
    const float ig = sigmoidf(g[j]), fg = sigmoidf(g[H + j]), gg = tanhf(g[2 * H + j]), og = sigmoidf(g[3 * H + j]);
    g[j] = ig; g[H + j] = fg; g[2 * H + j] = gg; g[3 * H + j] = og;
    const float c = fg * cp[j] + ig * gg;
    ct[j] = c;
    ht[j] = og * tanhf(c);
  }
}

/* dhn, dcn: running dh and dc, read and (dcn) updated; dg: this row of dgates. */
static inline void lstm_backward_row(const float *g, const float *c, const float *cp, const float *dh,
                                     const float *dhn, float *dcn, float *dg, int H, int j0, int j1) {
  for (int j = j0; j < j1; j++) {
    const float ig = g[j], fg = g[H + j], gg = g[2 * H + j], og = g[3 * H + j];
    const float tc = tanhf(c[j]);
    const float dht = dh[j] + dhn[j];
    const float dct = dcn[j] + dht * og * (1.0f - tc * tc);
    dg[j] = dct * gg * ig * (1.0f - ig);
    dg[H + j] = dct * cp[j] * fg * (1.0f - fg);
    dg[2 * H + j] = dct * ig * (1.0f - gg * gg);
    dg[3 * H + j] = dht * tc * og * (1.0f - og);
    dcn[j] = dct * fg;
  }
}

/* g: input projections (then the gates); hh: W_hh h + b_hh of the step; aux: keeps W_hn h + b_hn. */
static inline void gru_forward_row(float *g, const float *hh, const float *hp, float *aux, float *ht, int H, int j0,
                                   int j1) {
  for (int j = j0; j < j1; j++) {
    const float r = sigmoidf(g[j] + hh[j]);
    const float z = sigmoidf(g[H + j] + hh[H + j]);
    const float hn = hh[2 * H + j];
    const float nn = tanhf(g[2 * H + j] + r * hn);
    g[j] = r; g[H + j] = z; g[2 * H + j] = nn;
    aux[j] = hn;
    ht[j] = (1.0f - z) * nn + z * hp[j];
  }
}

/* dhn: running dh in, replaced by its direct part z * dh (the W_hh part is added by the caller's matmul). */
static inline void gru_backward_row(const float *g, const float *hn, const float *hp, const float *dh, float *dhn,
                                    float *dgx, float *dgh, int H, int j0, int j1) {
  for (int j = j0; j < j1; j++) {
    const float r = g[j], z = g[H + j], nn = g[2 * H + j];
    const float dht = dh[j] + dhn[j];
    const float dn = dht * (1.0f - z) * (1.0f - nn * nn);
    const float dz = dht * (hp[j] - nn) * z * (1.0f - z);
    const float dr = dn * hn[j] * r * (1.0f - r);
    dgx[j] = dr; dgx[H + j] = dz; dgx[2 * H + j] = dn;
    dgh[j] = dr; dgh[H + j] = dz; dgh[2 * H + j] = dn * r;
    dhn[j] = dht * z;
  }
}

static inline void rnn_forward_row(float *g, float *ht, int j0, int j1) {
  for (int j = j0; j < j1; j++) {
    g[j] = tanhf(g[j]);
    ht[j] = g[j];
  }
}

static inline void rnn_backward_row(const float *h, const float *dh, const float *dhn, float *dg, int j0, int j1) {
  for (int j = j0; j < j1; j++) dg[j] = (dh[j] + dhn[j]) * (1.0f - h[j] * h[j]);
}

/* The same, vectorised (act_avx2.c); only called when gemm_uses_avx2(). */
void lstm_forward_row_avx2(float *g, const float *cp, float *ct, float *ht, int H, int j0, int j1);
void lstm_backward_row_avx2(const float *g, const float *c, const float *cp, const float *dh, const float *dhn,
                            float *dcn, float *dg, int H, int j0, int j1);
void gru_forward_row_avx2(float *g, const float *hh, const float *hp, float *aux, float *ht, int H, int j0, int j1);
void gru_backward_row_avx2(const float *g, const float *hn, const float *hp, const float *dh, float *dhn, float *dgx,
                           float *dgh, int H, int j0, int j1);
void rnn_forward_row_avx2(float *g, float *ht, int j0, int j1);
void rnn_backward_row_avx2(const float *h, const float *dh, const float *dhn, float *dg, int j0, int j1);
/* The same sixteen units at a time, bit-identical to the AVX2 ones; only called when gemm_uses_avx512(). */
void lstm_forward_row_avx512(float *g, const float *cp, float *ct, float *ht, int H, int j0, int j1);
void lstm_backward_row_avx512(const float *g, const float *c, const float *cp, const float *dh, const float *dhn,
                              float *dcn, float *dg, int H, int j0, int j1);
void gru_forward_row_avx512(float *g, const float *hh, const float *hp, float *aux, float *ht, int H, int j0, int j1);
void gru_backward_row_avx512(const float *g, const float *hn, const float *hp, const float *dh, float *dhn,
                             float *dgx, float *dgh, int H, int j0, int j1);
void rnn_forward_row_avx512(float *g, float *ht, int j0, int j1);
void rnn_backward_row_avx512(const float *h, const float *dh, const float *dhn, float *dg, int j0, int j1);
/* exp(l[j] - max) for j < V into d (when not NULL), returning their sum in double. */
double softmax_exp_row_avx2(const float *l, int V, float max, float *d);

#endif
