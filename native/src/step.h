// Inference steps (step.c): one time step of a layer, or of a whole model, for
// B streams, reading PyTorch's row-major weights in place as dot products.
#ifndef CHARRNN_STEP_H
#define CHARRNN_STEP_H

#include "charrnn.h"

/* Instruction sets of the step kernels, best last; step_isa_best() is what this CPU and OS run. */
enum { STEP_GENERIC = 0, STEP_AVX2 = 1, STEP_AVX512 = 2 };
int step_isa_best(void);

/* One layer's step. With `table` the input projection of stream b is row ids[b] of it ([rows, G]) and
   wih, bih, x are not read; without, it is x W_ih^T + b_ih. */
typedef struct {
  int cell, B, I, H;
  const float *wih, *whh, *bih, *bhh; /* [G, I], [G, H], [G], [G] (G = gates * H) */
  const float *x;                     /* [B, I], or NULL with a table */
  const float *table;                 /* [rows, G], or NULL */
  const int32_t *ids;                 /* [B] with a table */
  const float *h;                     /* [B, H] h_{t-1}, read only */
  float *c;                           /* [B, H] LSTM c_{t-1} in, c_t out; NULL otherwise */
  float *hn;                          /* [B, H] h_t out (never the same memory as h: other units still read h) */
  float *gx, *gh;                     /* [B, G] scratch each: input-side (LSTM, RNN: all) and recurrent-side (GRU) pre-activations */
} step_cell_t;

/* A whole model's step: every layer (layer l > 0 reads layer l - 1's hn as x), then logits = hn_top W^T + b. */
typedef struct step_model step_model_t;

/*
 * `layers` is copied; each layer's gx, gh and hn are set here from `scratch`
 * (modelStepScratchSize floats) and x from the layer below, so only the weights,
 * h, c, and layer 0's table and ids need to be filled in. `hstate[l]` is where
 * layer l's h lives ([B, H]): the run reads h_{t-1} from it and leaves h_t there.
 * Steps may run on the context's thread count when the weights read per step,
 * times B, reach `parallel_min` floats. With `autotune`, a plan whose weights
 * fit one core's share (see step.c) then measures steps on one thread and on
 * all (bit-identical results) and keeps the faster, measuring again now and
 * then; larger plans, and every plan without, run every step on all threads.
 * Returns NULL when out of memory.
 */
step_model_t *step_model_create(ctx_t *ctx, int isa, int cell, int L, int B, int H, int V, const step_cell_t *layers,
                                float *const *hstate, const float *wout, const float *bout, float *logits,
                                float *scratch, double parallel_min, int autotune);
void step_model_destroy(step_model_t *m);
/* Threads the model's steps run on now. */
int step_model_threads(const step_model_t *m);
void step_model_run(step_model_t *m);

/* One layer's step on its own (the kernel behind Kernels.cellStep); h_t lands in a->hn. */
void step_cell_run(ctx_t *ctx, int isa, const step_cell_t *a);

#endif
