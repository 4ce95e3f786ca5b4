// Inference steps (step.c): one time step of a layer, or of a whole model, for
// B streams, from weights packed in panels of 16 rows (step_pack).
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
  /* Set by step_cell_run and step_model_create, not by callers: the layer's packed weights
     ([gates][panels of H][kx + H][16], step.c) and W_ih's columns in them (0: input from the table). */
  const float *pw;
  int kx;
} step_cell_t;

/*
 * Floats of a model's packed weights, and the packing: per layer its W_ih (layers
 * past the first; layer 0's input comes from the table) and W_hh, then the
 * output layer's W [V, H]. A bound model reads only the packed copy, so it must
 * be packed again whenever the weights change (the caller does it when it
 * rebuilds the table). wih[0] is not read.
 */
size_t step_pack_size(int cell, int L, int H, int V);
void step_pack(int cell, int L, int H, int V, const float *const *wih, const float *const *whh, const float *wout,
               float *dst);

/* A whole model's step: every layer (layer l > 0 reads layer l - 1's hn as x), then logits = hn_top W^T + b. */
typedef struct step_model step_model_t;

/*
 * `layers` is copied; each layer's gx, gh and hn are set here from `scratch`
 * (modelStepScratchSize floats) and x from the layer below, so only the biases,
 * h, c, and layer 0's table and ids need to be filled in: the weight matrices
 * are read from `packed` (step_pack's, step_pack_size floats). `hstate[l]` is where
 * layer l's h lives ([B, H]): the run reads h_{t-1} from it and leaves h_t there.
 * Steps may run on the context's thread count when the weights read per step,
 * times B, reach `parallel_min` floats. With `autotune`, a plan whose weights
 * fit one core's share (see step.c) then measures steps on one thread and on
 * all (bit-identical results) and keeps the faster, measuring again now and
 * then; larger plans, and every plan without, run every step on all threads.
 * Returns NULL when out of memory.
 */
step_model_t *step_model_create(ctx_t *ctx, int isa, int cell, int L, int B, int H, int V, const step_cell_t *layers,
                                float *const *hstate, const float *packed, const float *bout, float *logits,
                                float *scratch, double parallel_min, int autotune);
void step_model_destroy(step_model_t *m);
/* Threads the model's steps run on now. */
int step_model_threads(const step_model_t *m);
void step_model_run(step_model_t *m);

/* One layer's step on its own (the kernel behind Kernels.cellStep); h_t lands in a->hn. It packs
   the layer's weights into a buffer of its own first: -1 when out of memory, else 0. */
int step_cell_run(ctx_t *ctx, int isa, const step_cell_t *a);

#endif
