// LSTM, GRU and tanh-RNN over a whole chunk, as src/kernels/reference/{lstm,gru,rnn}.ts:
// the input projections of all T steps as one matmul, the recurrence step by step,
// the weight gradients as matmuls after the loop.
//
// The recurrence runs as one pool job, in work items of one GEMM_NR-column
// panel of hidden units for one step: the panel's columns of every gate in the
// recurrent matmul, then the elementwise cell update of those units. Within a
// step an item only reads gate columns it wrote itself, so the only dependency
// between items is the full h_{t-1} (forward) or dgates_t (backward): the items
// of a step wait for all items of the step before (workq_t). The item that
// writes a value of h_t (or dgates_t) also writes it into the packed form the
// next matmul reads, so no step repacks its left operand; two packed buffers
// alternate so that writing step t's never races with reading step t-1's.
#include "charrnn.h"

#include <stdlib.h>
#include <string.h>

#include "act.h"

int cell_gates(int cell) { return cell == CELL_LSTM ? 4 : cell == CELL_GRU ? 3 : 1; }

static inline int panels_of(int n) { return (n + GEMM_NR - 1) / GEMM_NR; }

/* Below this many multiply-adds per step the recurrence runs on one thread (batch-1 generation is far below). */
#define CELL_PARALLEL_MIN (512 * 1024)

typedef struct {
  ctx_t *ctx;
  const cell_args_t *a;
  float *pw;      /* packed W_hh: forward G regions of op(B) = W_hh,g^T [H, H]; backward op(B) = W_hh [G, H] */
  size_t pw_gate; /* floats per gate region (forward) */
  float *hh;      /* GRU forward: W_hh h + b_hh of one step, [B, G] */
  float *pk[2];   /* packed left operand, alternating: h_{t-1} [B, H] forward, dgh_t [B, G] backward */
  int avx2;
  int mr;    /* rows of a packed-A panel (gemm_mr) */
  int ppi;   /* GEMM_NR-column panels of hidden units per work item (gemm_np) */
  workq_t q;
} rec_job_t;

static void rec_job_init(rec_job_t *job, ctx_t *ctx, const cell_args_t *a) {
  memset(job, 0, sizeof *job);
  job->ctx = ctx;
  job->a = a;
  job->avx2 = gemm_uses_avx2();
  job->mr = gemm_mr();
  job->ppi = gemm_np();
}

/* Work items per step: groups of job->ppi panels of hidden units. */
static inline int rec_items(const rec_job_t *job, int H) { return (panels_of(H) + job->ppi - 1) / job->ppi; }

static int rec_threads(const ctx_t *ctx, const cell_args_t *a) {
  const double work = (double)a->B * a->H * a->H * cell_gates(a->cell);
  return work < CELL_PARALLEL_MIN ? 1 : ctx->threads;
}

/* Copies columns [col + j0, col + j1) of src [B, ld] into packed dst, an [B, K] operand (packed_a_index layout). */
static void pack_cols(float *dst, const float *src, int ld, int B, int K, int col, int j0, int j1, int MR) {
  const size_t Mpad = (size_t)packed_a_rows(B, MR);
  for (int b = 0; b < B; b++) {
    const float *s = src + (size_t)b * ld;
    int k = col + j0;
    const int end = col + j1;
    while (k < end) {
      /* Within one K block consecutive k are MR floats apart. */
      const int k0 = k - k % GEMM_KC;
      const int kc = K - k0 < GEMM_KC ? K - k0 : GEMM_KC;
      const int kend = end < k0 + kc ? end : k0 + kc;
      float *d = dst + (size_t)k0 * Mpad + (size_t)(b / MR) * kc * MR + (size_t)(k - k0) * MR + b % MR;
      for (; k < kend; k++, d += MR) *d = s[k];
    }
  }
}

/* Items: round 0 packs panel p of W_hh and h0; round t + 1 runs step t for panel p. */
static void forward_job(void *arg, int tid, int n) {
  rec_job_t *job = arg;
  const cell_args_t *a = job->a;
  const int T = a->T, B = a->B, H = a->H, NG = cell_gates(a->cell), G = NG * H;
  const int np = rec_items(job, H), total = (T + 1) * np, MR = job->mr;
  for (int item; (item = workq_take(&job->q)) < total; workq_finish(&job->q)) {
    const int round = item / np, p = item % np * job->ppi, pe = p + job->ppi;
    const int j0 = p * GEMM_NR, j1 = pe * GEMM_NR < H ? pe * GEMM_NR : H;
    if (round == 0) {
      for (int g = 0; g < NG; g++)
        gemm_pack_b(job->pw + g * job->pw_gate, a->whh + (size_t)g * H * H, 1, H, H, p, pe);
      pack_cols(job->pk[0], a->h0, H, B, H, 0, j0, j1, MR);
      continue;
    }
    workq_wait(&job->q, round * np); /* h_{t-1}, packed, complete */
    const int t = round - 1;
    const float *hp = t == 0 ? a->h0 : a->h + (size_t)(t - 1) * B * H; /* [B, H] */
    const float *php = job->pk[t & 1];
    float *gt = a->gates + (size_t)t * B * G; /* [B, G] */
    float *ht = a->h + (size_t)t * B * H;
    if (a->cell == CELL_GRU) {
      for (int g = 0; g < NG; g++)
        gemm_prepacked(php, B, H, job->pw + g * job->pw_gate, H, job->hh + g * H, G, p, pe, 0, a->bhh + g * H);
      float *aux = a->aux + (size_t)t * B * H;
      for (int b = 0; b < B; b++)
        (job->avx2 ? gru_forward_row_avx2 : gru_forward_row)(gt + (size_t)b * G, job->hh + (size_t)b * G,
                                                             hp + (size_t)b * H, aux + (size_t)b * H,
                                                             ht + (size_t)b * H, H, j0, j1);
    } else {
      for (int g = 0; g < NG; g++)
        gemm_prepacked(php, B, H, job->pw + g * job->pw_gate, H, gt + g * H, G, p, pe, 1, NULL);
      if (a->cell == CELL_LSTM) {
        const float *cp = t == 0 ? a->c0 : a->aux + (size_t)(t - 1) * B * H;
        float *ct = a->aux + (size_t)t * B * H;
        for (int b = 0; b < B; b++)
          (job->avx2 ? lstm_forward_row_avx2 : lstm_forward_row)(gt + (size_t)b * G, cp + (size_t)b * H,
                                                                 ct + (size_t)b * H, ht + (size_t)b * H, H, j0, j1);
      } else {
        for (int b = 0; b < B; b++)
          (job->avx2 ? rnn_forward_row_avx2 : rnn_forward_row)(gt + (size_t)b * G, ht + (size_t)b * H, j0, j1);
      }
    }
    if (t + 1 < T) pack_cols(job->pk[(t + 1) & 1], ht, H, B, H, 0, j0, j1, MR);
  }
}

/* Room for two packed [B, K] operands, zeroed so that the padding rows stay zero. */
static void alloc_packed(rec_job_t *job, float *base, int B, int K) {
  const size_t n = (size_t)packed_a_rows(B, job->mr) * K;
  job->pk[0] = base;
  job->pk[1] = base + n;
  memset(base, 0, 2 * n * sizeof(float));
}

static size_t packed_size(int B, int K) { return (size_t)packed_a_rows(B, gemm_mr()) * K + GEMM_NR; }

void cell_forward(ctx_t *ctx, const cell_args_t *a) {
  const int T = a->T, B = a->B, I = a->I, H = a->H, NG = cell_gates(a->cell), G = NG * H;
  if (T <= 0 || B <= 0) return;
  /* GRU keeps b_hh apart (it sits inside r * (W_hn h + b_hn)); the others fold both biases into the projection. */
  float *bias = malloc((size_t)G * sizeof(float));
  for (int k = 0; k < G; k++) bias[k] = a->cell == CELL_GRU ? a->bih[k] : a->bih[k] + a->bhh[k];
  gemm(ctx, a->gates, a->x, a->wih, T * B, G, I, 0, 1, 0, bias);
  free(bias);

  rec_job_t job;
  rec_job_init(&job, ctx, a);
  job.pw_gate = gemm_packed_b_size(H, H) + GEMM_NR; /* the pad keeps every region 64-byte aligned */
  const size_t hh = a->cell == CELL_GRU ? (size_t)B * G + GEMM_NR : 0;
  const size_t pk = packed_size(B, H);
  job.pw = ctx_workspace(ctx, job.pw_gate * NG + hh + 2 * pk);
  job.hh = job.pw + job.pw_gate * NG;
  alloc_packed(&job, job.hh + hh, B, H);
  if (rec_threads(ctx, a) == 1) forward_job(&job, 0, 1);
  else pool_run(ctx->pool, forward_job, &job);
}

/*
 * Items: round 0 packs panel p of W_hh and starts dhNext, dcNext; round r (1..T) finishes
 * dh for step t = T - r (the W_hh product of step t + 1) and runs step t's elementwise
 * backward; round T + 1 finishes dh0 and dc0. All for panel p of the hidden units.
 */
static void backward_job(void *arg, int tid, int n) {
  rec_job_t *job = arg;
  const cell_args_t *a = job->a;
  const int T = a->T, B = a->B, H = a->H, NG = cell_gates(a->cell), G = NG * H;
  const int np = rec_items(job, H), total = (T + 2) * np, MR = job->mr;
  float *dhn = a->dhNext, *dcn = a->dcNext; /* [B, H] */
  /* The gradient that reaches h_{t-1} through W_hh: dgates_t for LSTM and RNN, the hidden-side one for GRU. */
  const float *dgh = a->cell == CELL_GRU ? a->dgatesHidden : a->dgates;
  for (int item; (item = workq_take(&job->q)) < total; workq_finish(&job->q)) {
    const int round = item / np, p = item % np * job->ppi, pe = p + job->ppi;
    const int j0 = p * GEMM_NR, j1 = pe * GEMM_NR < H ? pe * GEMM_NR : H;
    if (round == 0) {
      gemm_pack_b(job->pw, a->whh, 0, G, H, p, pe); /* op(B) = W_hh [G, H] */
      for (int b = 0; b < B; b++)
        for (int j = j0; j < j1; j++) {
          dhn[b * H + j] = a->dhT ? a->dhT[b * H + j] : 0.0f;
          if (a->cell == CELL_LSTM) dcn[b * H + j] = a->dcT ? a->dcT[b * H + j] : 0.0f;
        }
      continue;
    }
    workq_wait(&job->q, round * np); /* dgh of step t + 1, packed, complete */
    const int t = T - round;
    if (round > 1) {
      /* dh_t = dgh_{t+1} · W_hh ([B, G] x [G, H]); GRU adds onto the direct path z * dh already in dhNext. */
      gemm_prepacked(job->pk[(t + 1) & 1], B, G, job->pw, H, dhn, H, p, pe, a->cell == CELL_GRU, NULL);
    }
    if (t < 0) {
      for (int b = 0; b < B; b++)
        for (int j = j0; j < j1; j++) {
          if (a->dh0) a->dh0[b * H + j] = dhn[b * H + j];
          if (a->dc0 && a->cell == CELL_LSTM) a->dc0[b * H + j] = dcn[b * H + j];
        }
      continue;
    }
    const size_t s = (size_t)t * B * H, r = (size_t)t * B * G;
    if (a->cell == CELL_LSTM) {
      const float *cp = t == 0 ? a->c0 : a->aux + s - (size_t)B * H;
      for (int b = 0; b < B; b++)
        (job->avx2 ? lstm_backward_row_avx2 : lstm_backward_row)(
            a->gates + r + (size_t)b * G, a->aux + s + (size_t)b * H, cp + (size_t)b * H, a->dh + s + (size_t)b * H,
            dhn + (size_t)b * H, dcn + (size_t)b * H, a->dgates + r + (size_t)b * G, H, j0, j1);
    } else if (a->cell == CELL_GRU) {
      const float *hp = t == 0 ? a->h0 : a->h + s - (size_t)B * H;
      for (int b = 0; b < B; b++)
        (job->avx2 ? gru_backward_row_avx2 : gru_backward_row)(
            a->gates + r + (size_t)b * G, a->aux + s + (size_t)b * H, hp + (size_t)b * H, a->dh + s + (size_t)b * H,
            dhn + (size_t)b * H, a->dgates + r + (size_t)b * G, a->dgatesHidden + r + (size_t)b * G, H, j0, j1);
    } else {
      for (int b = 0; b < B; b++)
        (job->avx2 ? rnn_backward_row_avx2 : rnn_backward_row)(a->h + s + (size_t)b * H, a->dh + s + (size_t)b * H,
                                                               dhn + (size_t)b * H, a->dgates + r + (size_t)b * G,
                                                               j0, j1);
    }
    for (int g = 0; g < NG; g++) pack_cols(job->pk[t & 1], dgh + r, G, B, G, g * H, j0, j1, MR);
  }
}

void cell_backward(ctx_t *ctx, const cell_args_t *a) {
  const int T = a->T, B = a->B, I = a->I, H = a->H, G = cell_gates(a->cell) * H;
  if (T <= 0 || B <= 0) return;
  rec_job_t job;
  rec_job_init(&job, ctx, a);
  const size_t pw = gemm_packed_b_size(G, H) + GEMM_NR;
  job.pw = ctx_workspace(ctx, pw + 2 * packed_size(B, G));
  alloc_packed(&job, job.pw + pw, B, G);
  if (rec_threads(ctx, a) == 1) backward_job(&job, 0, 1);
  else pool_run(ctx->pool, backward_job, &job);

  const float *dgx = a->dgates, *dgh = a->cell == CELL_GRU ? a->dgatesHidden : a->dgates; /* [T, B, G] */
  gemm(ctx, a->gwih, dgx, a->x, G, I, T * B, 1, 0, 1, NULL);
  sum_rows(ctx, a->gbih, dgx, T * B, G);
  sum_rows(ctx, a->gbhh, dgh, T * B, G);
  /* h_prev is h0 for the first step and h_{t-1} after it: two products, no copy. */
  gemm(ctx, a->gwhh, dgh, a->h0, G, H, B, 1, 0, 1, NULL);
  if (T > 1) gemm(ctx, a->gwhh, dgh + (size_t)B * G, a->h, G, H, (T - 1) * B, 1, 0, 1, NULL);
  if (a->dx) gemm(ctx, a->dx, dgx, a->wih, T * B, I, G, 0, 0, 0, NULL);
}
