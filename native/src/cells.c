// LSTM, GRU and tanh-RNN over a whole chunk, as src/kernels/reference/{lstm,gru,rnn}.ts:
// the input projections of all T steps as one matmul, the recurrence step by step,
// the weight gradients as matmuls after the loop.
//
// The recurrence runs as one pool job, split one of two ways:
//
// - By batch rows ("lanes"), when the packed W_hh fits in a core's L2 and the
//   batch is big enough: the rows of one stream never depend on another's, so
//   each lane runs all T steps for its rows on its own, with no waiting between
//   steps at all. The items of the job are: pack W_hh (by panels), then one per lane.
// - By hidden units, otherwise (a W_hh too big for one L2, or a batch too small
//   to split): work items of one micro-kernel width of hidden units for one
//   step: those columns of every gate in the recurrent matmul, then the cell
//   update of those units. Within a step an item only reads gate columns it
//   wrote itself, so the only dependency between items is the full h_{t-1}
//   (forward) or dgates_t (backward): the items of a step wait for all items of
//   the step before. Each thread prefers the same hidden units every step
//   (affq_t), so its W_hh panels stay in its own L2.
//
// Either way, whoever writes a value of h_t (or dgates_t) also writes it into the
// packed form the next matmul reads, so no step repacks its left operand; two
// packed buffers alternate so that writing step t's never races with reading
// step t-1's. Each element is computed by the same operations whichever split,
// lane or thread computes it.
#include "charrnn.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "act.h"

/* The cell update row function for the job's instruction set: name_avx512, name_avx2 or name. */
#define ROW(job, name) ((job)->isa == 2 ? name##_avx512 : (job)->isa == 1 ? name##_avx2 : name)

int cell_gates(int cell) { return cell == CELL_LSTM ? 4 : cell == CELL_GRU ? 3 : 1; }

static inline int panels_of(int n) { return (n + GEMM_NR - 1) / GEMM_NR; }

/* Below this many multiply-adds per step the recurrence runs on one thread (batch-1 generation is far below). */
#define CELL_PARALLEL_MIN (512 * 1024)
/* Lanes need at least this many batch rows each. */
#define LANE_MIN_ROWS 8

typedef struct {
  ctx_t *ctx;
  const cell_args_t *a;
  float *pw;      /* packed W_hh: forward G regions of op(B) = W_hh,g^T [H, H]; backward op(B) = W_hh [G, H] */
  size_t pw_gate; /* floats per gate region (forward) */
  float *hh;      /* GRU forward: W_hh h + b_hh of one step, [B, G] */
  float *pk;      /* packed left operands, two per lane (h_{t-1} [rows, H] forward, dgh_t [rows, G] backward) */
  size_t pk_half; /* floats per packed operand */
  int lanes;      /* batch-row lanes; 0: split by hidden units instead */
  int isa;        /* cell updates: 2 AVX-512, 1 AVX2, 0 portable C */
  int mr;         /* rows of a packed-A panel (gemm_mr) */
  int ppi;        /* GEMM_NR-column panels of hidden units per work item (gemm_np) */
  workq_t q;      /* lanes */
  affq_t aq;      /* hidden units: each thread keeps to the same units (and W_hh panels) step after step */
} rec_job_t;

/* Work items per step of the hidden-unit split: groups of job->ppi panels of hidden units. */
static inline int rec_items(const rec_job_t *job, int H) { return (panels_of(H) + job->ppi - 1) / job->ppi; }

static inline int lane_row(const rec_job_t *job, int l) { return (int)((long)job->a->B * l / job->lanes); }

static size_t l2_bytes(void) {
  static long cached = -1;
  long v = __atomic_load_n(&cached, __ATOMIC_RELAXED);
  if (v < 0) {
#ifdef _SC_LEVEL2_CACHE_SIZE
    v = sysconf(_SC_LEVEL2_CACHE_SIZE);
#else
    v = 0;
#endif
    if (v <= 0) v = 1 << 20;
    __atomic_store_n(&cached, v, __ATOMIC_RELAXED);
  }
  return (size_t)v;
}

/*
 * Sets up the job: the split, and workspace for packed W_hh (pw floats), GRU's hh (hh floats)
 * and the packed operands of K columns, zeroed so that padding rows stay zero.
 */
static void rec_job_init(rec_job_t *job, ctx_t *ctx, const cell_args_t *a, size_t pw, size_t hh, int K, int rounds) {
  memset(job, 0, sizeof *job);
  job->ctx = ctx;
  job->a = a;
  job->isa = gemm_uses_avx512() ? 2 : gemm_uses_avx2() ? 1 : 0;
  job->mr = gemm_mr();
  job->ppi = gemm_np();
  const double work = (double)a->B * a->H * a->H * cell_gates(a->cell);
  const int threads = work < CELL_PARALLEL_MIN ? 1 : ctx->threads;
  if (threads == 1) job->lanes = 1;
  else if (a->B >= LANE_MIN_ROWS * threads && pw * sizeof(float) <= l2_bytes() / 2) job->lanes = threads;
  else job->lanes = 0;
  if (!job->lanes) affq_init(&job->aq, rec_items(job, a->H), rounds, threads);
  const int lanes = job->lanes ? job->lanes : 1;
  const int rows = (a->B + lanes - 1) / lanes;
  job->pk_half = ((size_t)packed_a_rows(rows, job->mr) * K + 15) & ~(size_t)15; /* whole cache lines */
  job->pw = ctx_workspace(ctx, pw + hh + 2 * job->pk_half * lanes);
  job->hh = job->pw + pw;
  job->pk = job->hh + hh;
  memset(job->pk, 0, 2 * job->pk_half * lanes * sizeof(float));
}

static void rec_run(rec_job_t *job, job_fn lanes_fn, job_fn units_fn) {
  if (job->lanes == 1) lanes_fn(job, 0, 1);
  else pool_run(job->ctx->pool, job->lanes ? lanes_fn : units_fn, job);
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

/* Packs W_hh for the forward products: panels [p, pe) of each gate's op(B) = W_hh,g^T. */
static void forward_pack_w(const rec_job_t *job, int p, int pe) {
  const cell_args_t *a = job->a;
  const int H = a->H;
  for (int g = 0; g < cell_gates(a->cell); g++)
    gemm_pack_b(job->pw + g * job->pw_gate, a->whh + (size_t)g * H * H, 1, H, H, p, pe);
}

/*
 * Forward step t for batch rows [b0, b1) and the hidden units of panels [p, pe): the recurrent
 * products from packed h_{t-1} (php, those rows), the cell update, and h_t's columns into pnext.
 */
static void forward_step(const rec_job_t *job, int t, int b0, int b1, int p, int pe, const float *php, float *pnext) {
  const cell_args_t *a = job->a;
  const int T = a->T, B = a->B, H = a->H, NG = cell_gates(a->cell), G = NG * H, rows = b1 - b0;
  const int j0 = p * GEMM_NR, j1 = pe * GEMM_NR < H ? pe * GEMM_NR : H;
  const float *hp = (t == 0 ? a->h0 : a->h + (size_t)(t - 1) * B * H) + (size_t)b0 * H; /* [rows, H] */
  float *gt = a->gates + ((size_t)t * B + b0) * G;                                     /* [rows, G] */
  float *ht = a->h + ((size_t)t * B + b0) * H;
  if (a->cell == CELL_GRU) {
    float *hh = job->hh + (size_t)b0 * G;
    for (int g = 0; g < NG; g++)
      gemm_prepacked(php, rows, H, job->pw + g * job->pw_gate, H, hh + g * H, G, p, pe, 0, a->bhh + g * H);
    float *aux = a->aux + ((size_t)t * B + b0) * H;
    for (int b = 0; b < rows; b++)
      ROW(job, gru_forward_row)(gt + (size_t)b * G, hh + (size_t)b * G, hp + (size_t)b * H,
                                                           aux + (size_t)b * H, ht + (size_t)b * H, H, j0, j1);
  } else {
    for (int g = 0; g < NG; g++)
      gemm_prepacked(php, rows, H, job->pw + g * job->pw_gate, H, gt + g * H, G, p, pe, 1, NULL);
    if (a->cell == CELL_LSTM) {
      const float *cp = (t == 0 ? a->c0 : a->aux + (size_t)(t - 1) * B * H) + (size_t)b0 * H;
      float *ct = a->aux + ((size_t)t * B + b0) * H;
      for (int b = 0; b < rows; b++)
        ROW(job, lstm_forward_row)(gt + (size_t)b * G, cp + (size_t)b * H,
                                                               ct + (size_t)b * H, ht + (size_t)b * H, H, j0, j1);
    } else {
      for (int b = 0; b < rows; b++)
        ROW(job, rnn_forward_row)(gt + (size_t)b * G, ht + (size_t)b * H, j0, j1);
    }
  }
  if (t + 1 < T) pack_cols(pnext, ht, H, rows, H, 0, j0, j1, job->mr);
}

/* Lanes: items [0, np) pack W_hh by groups of panels, then each lane runs every step for its rows. */
static void forward_lanes_job(void *arg, int tid, int n) {
  rec_job_t *job = arg;
  const cell_args_t *a = job->a;
  const int T = a->T, H = a->H, np = rec_items(job, H), total = np + job->lanes, ppi = job->ppi;
  for (int item; (item = workq_take(&job->q)) < total; workq_finish(&job->q)) {
    if (item < np) {
      forward_pack_w(job, item * ppi, item * ppi + ppi);
      continue;
    }
    workq_wait(&job->q, np); /* all of W_hh packed */
    const int l = item - np, b0 = lane_row(job, l), b1 = lane_row(job, l + 1);
    float *pk[2] = {job->pk + 2 * l * job->pk_half, job->pk + (2 * l + 1) * job->pk_half};
    pack_cols(pk[0], a->h0 + (size_t)b0 * H, H, b1 - b0, H, 0, 0, H, job->mr);
    for (int t = 0; t < T; t++)
      for (int p = 0; p < np * ppi; p += ppi) forward_step(job, t, b0, b1, p, p + ppi, pk[t & 1], pk[(t + 1) & 1]);
  }
}

/* Hidden units: round 0 packs W_hh and h0 for one group of panels; round t + 1 runs step t for it. */
static void forward_units_job(void *arg, int tid, int n) {
  rec_job_t *job = arg;
  const cell_args_t *a = job->a;
  const int B = a->B, H = a->H;
  const int np = rec_items(job, H);
  float *pk[2] = {job->pk, job->pk + job->pk_half};
  int at = 0;
  for (int item; (item = affq_take(&job->aq, tid, &at)) >= 0; workq_finish(&job->aq.q)) {
    const int round = item / np, p = item % np * job->ppi, pe = p + job->ppi;
    if (round == 0) {
      const int j0 = p * GEMM_NR, j1 = pe * GEMM_NR < H ? pe * GEMM_NR : H;
      forward_pack_w(job, p, pe);
      pack_cols(pk[0], a->h0, H, B, H, 0, j0, j1, job->mr);
      continue;
    }
    workq_wait(&job->aq.q, round * np); /* h_{t-1}, packed, complete */
    const int t = round - 1;
    forward_step(job, t, 0, B, p, pe, pk[t & 1], pk[(t + 1) & 1]);
  }
}

void cell_forward(ctx_t *ctx, const cell_args_t *a) {
  const int T = a->T, B = a->B, I = a->I, H = a->H, NG = cell_gates(a->cell), G = NG * H;
  if (T <= 0 || B <= 0) return;
  /* GRU keeps b_hh apart (it sits inside r * (W_hn h + b_hn)); the others fold both biases into the projection. */
  float *bias = malloc((size_t)G * sizeof(float));
  for (int k = 0; k < G; k++) bias[k] = a->cell == CELL_GRU ? a->bih[k] : a->bih[k] + a->bhh[k];
  gemm(ctx, a->gates, a->x, a->wih, T * B, G, I, 0, 1, 0, bias);
  free(bias);

  const size_t pw_gate = gemm_packed_b_size(H, H) + GEMM_NR; /* the pad keeps every region 64-byte aligned */
  const size_t hh = a->cell == CELL_GRU ? (size_t)B * G + GEMM_NR : 0;
  rec_job_t job;
  rec_job_init(&job, ctx, a, pw_gate * NG, hh, H, T + 1);
  job.pw_gate = pw_gate;
  rec_run(&job, forward_lanes_job, forward_units_job);
}

/* Starts the running dh (and dc) of rows [b0, b1), units [j0, j1) from dhT, dcT. */
static void backward_start(const rec_job_t *job, int b0, int b1, int j0, int j1) {
  const cell_args_t *a = job->a;
  const int H = a->H;
  for (int b = b0; b < b1; b++)
    for (int j = j0; j < j1; j++) {
      a->dhNext[b * H + j] = a->dhT ? a->dhT[b * H + j] : 0.0f;
      if (a->cell == CELL_LSTM) a->dcNext[b * H + j] = a->dcT ? a->dcT[b * H + j] : 0.0f;
    }
}

/*
 * Backward step t for batch rows [b0, b1) and the hidden units of panels [p, pe): the W_hh part
 * of dh_t from packed dgh_{t+1} (pprev, those rows; NULL for the last step), then the cell's
 * backward and dgh_t's columns into pcur. t = -1 finishes dh0 and dc0.
 */
static void backward_step(const rec_job_t *job, int t, int b0, int b1, int p, int pe, const float *pprev, float *pcur) {
  const cell_args_t *a = job->a;
  const int B = a->B, H = a->H, NG = cell_gates(a->cell), G = NG * H, rows = b1 - b0;
  const int j0 = p * GEMM_NR, j1 = pe * GEMM_NR < H ? pe * GEMM_NR : H;
  float *dhn = a->dhNext + (size_t)b0 * H, *dcn = a->dcNext ? a->dcNext + (size_t)b0 * H : NULL; /* [rows, H] */
  /* The gradient that reaches h_{t-1} through W_hh: dgates_t for LSTM and RNN, the hidden-side one for GRU. */
  const float *dgh = a->cell == CELL_GRU ? a->dgatesHidden : a->dgates;
  /* dh_t = dgh_{t+1} · W_hh ([rows, G] x [G, H]); GRU adds onto the direct path z * dh already in dhNext. */
  if (pprev) gemm_prepacked(pprev, rows, G, job->pw, H, dhn, H, p, pe, a->cell == CELL_GRU, NULL);
  if (t < 0) {
    for (int b = 0; b < rows; b++)
      for (int j = j0; j < j1; j++) {
        if (a->dh0) a->dh0[(size_t)(b0 + b) * H + j] = dhn[(size_t)b * H + j];
        if (a->dc0 && a->cell == CELL_LSTM) a->dc0[(size_t)(b0 + b) * H + j] = dcn[(size_t)b * H + j];
      }
    return;
  }
  const size_t s = ((size_t)t * B + b0) * H, r = ((size_t)t * B + b0) * G;
  if (a->cell == CELL_LSTM) {
    const float *cp = t == 0 ? a->c0 + (size_t)b0 * H : a->aux + s - (size_t)B * H;
    for (int b = 0; b < rows; b++)
      ROW(job, lstm_backward_row)(
          a->gates + r + (size_t)b * G, a->aux + s + (size_t)b * H, cp + (size_t)b * H, a->dh + s + (size_t)b * H,
          dhn + (size_t)b * H, dcn + (size_t)b * H, a->dgates + r + (size_t)b * G, H, j0, j1);
  } else if (a->cell == CELL_GRU) {
    const float *hp = t == 0 ? a->h0 + (size_t)b0 * H : a->h + s - (size_t)B * H;
    for (int b = 0; b < rows; b++)
      ROW(job, gru_backward_row)(
          a->gates + r + (size_t)b * G, a->aux + s + (size_t)b * H, hp + (size_t)b * H, a->dh + s + (size_t)b * H,
          dhn + (size_t)b * H, a->dgates + r + (size_t)b * G, a->dgatesHidden + r + (size_t)b * G, H, j0, j1);
  } else {
    for (int b = 0; b < rows; b++)
      ROW(job, rnn_backward_row)(a->h + s + (size_t)b * H, a->dh + s + (size_t)b * H,
                                                             dhn + (size_t)b * H, a->dgates + r + (size_t)b * G, j0, j1);
  }
  for (int g = 0; g < NG; g++) pack_cols(pcur, dgh + r, G, rows, G, g * H, j0, j1, job->mr);
}

/* Lanes: items [0, np) pack W_hh by groups of panels, then each lane runs every step for its rows. */
static void backward_lanes_job(void *arg, int tid, int n) {
  rec_job_t *job = arg;
  const cell_args_t *a = job->a;
  const int T = a->T, H = a->H, G = cell_gates(a->cell) * H, np = rec_items(job, H), total = np + job->lanes;
  const int ppi = job->ppi;
  for (int item; (item = workq_take(&job->q)) < total; workq_finish(&job->q)) {
    if (item < np) {
      gemm_pack_b(job->pw, a->whh, 0, G, H, item * ppi, item * ppi + ppi); /* op(B) = W_hh [G, H] */
      continue;
    }
    workq_wait(&job->q, np); /* all of W_hh packed */
    const int l = item - np, b0 = lane_row(job, l), b1 = lane_row(job, l + 1);
    float *pk[2] = {job->pk + 2 * l * job->pk_half, job->pk + (2 * l + 1) * job->pk_half};
    backward_start(job, b0, b1, 0, H);
    for (int t = T - 1; t >= -1; t--)
      for (int p = 0; p < np * ppi; p += ppi)
        backward_step(job, t, b0, b1, p, p + ppi, t < T - 1 ? pk[(t + 1) & 1] : NULL, pk[t & 1]);
  }
}

/*
 * Hidden units: round 0 packs W_hh and starts dhNext, dcNext for one group of panels; round
 * r (1..T) finishes dh for step t = T - r (the W_hh product of step t + 1) and runs step t's
 * backward; round T + 1 finishes dh0 and dc0.
 */
static void backward_units_job(void *arg, int tid, int n) {
  rec_job_t *job = arg;
  const cell_args_t *a = job->a;
  const int T = a->T, B = a->B, H = a->H, G = cell_gates(a->cell) * H;
  const int np = rec_items(job, H);
  float *pk[2] = {job->pk, job->pk + job->pk_half};
  int at = 0;
  for (int item; (item = affq_take(&job->aq, tid, &at)) >= 0; workq_finish(&job->aq.q)) {
    const int round = item / np, p = item % np * job->ppi, pe = p + job->ppi;
    if (round == 0) {
      const int j0 = p * GEMM_NR, j1 = pe * GEMM_NR < H ? pe * GEMM_NR : H;
      gemm_pack_b(job->pw, a->whh, 0, G, H, p, pe); /* op(B) = W_hh [G, H] */
      backward_start(job, 0, B, j0, j1);
      continue;
    }
    workq_wait(&job->aq.q, round * np); /* dgh of step t + 1, packed, complete */
    const int t = T - round;
    backward_step(job, t, 0, B, p, pe, round > 1 ? pk[(t + 1) & 1] : NULL, pk[t & 1]);
  }
}

void cell_backward(ctx_t *ctx, const cell_args_t *a) {
  const int T = a->T, B = a->B, I = a->I, H = a->H, G = cell_gates(a->cell) * H;
  if (T <= 0 || B <= 0) return;
  rec_job_t job;
  rec_job_init(&job, ctx, a, gemm_packed_b_size(G, H) + GEMM_NR, 0, G, T + 2);
  rec_run(&job, backward_lanes_job, backward_units_job);

  const float *dgx = a->dgates, *dgh = a->cell == CELL_GRU ? a->dgatesHidden : a->dgates; /* [T, B, G] */
  gemm(ctx, a->gwih, dgx, a->x, G, I, T * B, 1, 0, 1, NULL);
  /* LSTM and RNN: both bias gradients are sums of the same dgates, added in one pass. */
  if (dgh == dgx && a->gbih != a->gbhh) {
    sum_rows2(ctx, a->gbih, a->gbhh, dgx, T * B, G);
  } else {
    sum_rows(ctx, a->gbih, dgx, T * B, G);
    sum_rows(ctx, a->gbhh, dgh, T * B, G);
  }
  /* h_prev is h0 for the first step and h_{t-1} after it: two products, no copy. */
  gemm(ctx, a->gwhh, dgh, a->h0, G, H, B, 1, 0, 1, NULL);
  if (T > 1) gemm(ctx, a->gwhh, dgh + (size_t)B * G, a->h, G, H, (T - 1) * B, 1, 0, 1, NULL);
  if (a->dx) gemm(ctx, a->dx, dgx, a->wih, T * B, I, G, 0, 0, 0, NULL);
}
