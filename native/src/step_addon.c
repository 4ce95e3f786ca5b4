// N-API surface of the inference steps (step.c), registered by addon.c's init:
//   stepIsa()                      the best step ISA here: 0 generic, 1 AVX2/FMA, 2 AVX-512
//   cellStep(ctx, isa, cell, B, I, H, wih, whh, bih, bhh, x, table, ids, h, c, scratch)
//   modelStepPackSize(cell, L, H, V) floats of a model's packed weights
//   modelStepPack(cell, H, V, layers, wout, packed)  packs layers[].wih (past the first), .whh and wout
//   modelStepBind(ctx, isa, cell, B, H, V, table, layers, wout, bout, ids, logits, scratch, parallelMin, autotune, packed) -> plan
//   modelStepRun(plan)             one step of the bound model
//   modelStepThreads(plan)         threads the plan's steps run on now
// A plan reads its weight matrices from `packed` only (wout is checked, not kept).
// Binding checks every buffer's size once and keeps raw pointers, so a step costs
// one call with one argument. The pointers stay valid because the JS side keeps
// the typed arrays (and the context) reachable for as long as it keeps the plan.
#define NAPI_VERSION 8
#include <node_api.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "step.h"

#define MAX_ARGS 16

typedef struct {
  napi_env env;
  int failed;
} chk_t;

static void fail(chk_t *C, int range, const char *msg) {
  if (C->failed) return;
  C->failed = 1;
  if (range) napi_throw_range_error(C->env, NULL, msg);
  else napi_throw_type_error(C->env, NULL, msg);
}

static int nullish(napi_env env, napi_value v) {
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok) return 1;
  return t == napi_null || t == napi_undefined;
}

/* A typed array of the wanted type with at least `need` elements, or NULL (nullable and null/undefined). */
static void *typed(chk_t *C, napi_value v, napi_typedarray_type want, double need, int nullable, const char *name,
                   size_t *length_out) {
  if (C->failed) return NULL;
  if (nullable && nullish(C->env, v)) return NULL;
  char msg[160];
  bool ok = false;
  napi_is_typedarray(C->env, v, &ok);
  napi_typedarray_type type;
  size_t length = 0, offset;
  void *data = NULL;
  napi_value ab;
  if (ok) napi_get_typedarray_info(C->env, v, &type, &length, &data, &ab, &offset);
  if (!ok || type != want) {
    snprintf(msg, sizeof msg, "%s must be a %s", name, want == napi_float32_array ? "Float32Array" : "Int32Array");
    fail(C, 0, msg);
    return NULL;
  }
  if ((double)length < need) {
    snprintf(msg, sizeof msg, "%s has %zu elements, needs %.0f", name, length, need);
    fail(C, 1, msg);
    return NULL;
  }
  if (length_out) *length_out = length;
  return data;
}

static float *f32(chk_t *C, napi_value v, double need, int nullable, const char *name) {
  return typed(C, v, napi_float32_array, need, nullable, name, NULL);
}

static int int_arg(chk_t *C, napi_value v, int lo, int hi, const char *name) {
  int32_t x = 0;
  if (C->failed) return 0;
  if (napi_get_value_int32(C->env, v, &x) != napi_ok || x < lo || x > hi) {
    char msg[96];
    snprintf(msg, sizeof msg, "%s must be an integer from %d to %d", name, lo, hi);
    fail(C, 1, msg);
    return 0;
  }
  return x;
}

static ctx_t *ctx_arg(chk_t *C, napi_value v) {
  void *p = NULL;
  if (napi_get_value_external(C->env, v, &p) != napi_ok || !p) {
    fail(C, 0, "the first argument must be a native context");
    return NULL;
  }
  return p;
}

static int get(napi_env env, napi_callback_info info, napi_value *argv, size_t want) {
  size_t argc = MAX_ARGS;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < want) {
    char msg[96];
    snprintf(msg, sizeof msg, "expected %zu arguments, got %zu", want, argc);
    napi_throw_type_error(env, NULL, msg);
    return 0;
  }
  return 1;
}

static int ids_in_range(chk_t *C, const int32_t *ids, int n, int limit) {
  for (int i = 0; i < n && !C->failed; i++)
    if (ids[i] < 0 || ids[i] >= limit) {
      char msg[96];
      snprintf(msg, sizeof msg, "ids[%d] = %d is out of range (0 to %d)", i, ids[i], limit - 1);
      fail(C, 1, msg);
    }
  return !C->failed;
}

#define MAX_DIM (1 << 24)

static napi_value js_step_isa(napi_env env, napi_callback_info info) {
  napi_value r;
  napi_create_int32(env, step_isa_best(), &r);
  return r;
}

static napi_value js_cell_step(napi_env env, napi_callback_info info) {
  napi_value a[MAX_ARGS];
  if (!get(env, info, a, 16)) return NULL;
  chk_t C = {env, 0};
  ctx_t *ctx = ctx_arg(&C, a[0]);
  const int isa = int_arg(&C, a[1], 0, STEP_AVX512, "isa");
  step_cell_t s;
  memset(&s, 0, sizeof s);
  s.cell = int_arg(&C, a[2], 0, CELL_RNN, "cell");
  s.B = int_arg(&C, a[3], 0, MAX_DIM, "B");
  s.I = int_arg(&C, a[4], 0, MAX_DIM, "I");
  s.H = int_arg(&C, a[5], 1, MAX_DIM, "H");
  if (C.failed) return NULL;
  const double B = s.B, I = s.I, H = s.H, G = (double)cell_gates(s.cell) * s.H;
  const int table_input = !nullish(env, a[11]);
  if (table_input == !nullish(env, a[10])) {
    fail(&C, 0, "give either x or a table with ids");
    return NULL;
  }
  s.whh = f32(&C, a[7], G * H, 0, "whh");
  s.bhh = f32(&C, a[9], G, 0, "bhh");
  size_t table_len = 0;
  if (table_input) {
    s.table = typed(&C, a[11], napi_float32_array, G, 0, "table", &table_len);
    s.ids = typed(&C, a[12], napi_int32_array, B, 0, "ids", NULL);
    if (!C.failed) ids_in_range(&C, s.ids, s.B, (int)(table_len / (size_t)G));
  } else {
    s.wih = f32(&C, a[6], G * I, 0, "wih");
    s.bih = f32(&C, a[8], G, 0, "bih");
    s.x = f32(&C, a[10], B * I, 0, "x");
  }
  float *h = f32(&C, a[13], B * H, 0, "h");
  s.h = h;
  s.c = f32(&C, a[14], B * H, 1, "c");
  if (!C.failed && s.cell == CELL_LSTM && !s.c) fail(&C, 0, "an LSTM needs c");
  float *scratch = f32(&C, a[15], B * (2 * G + H), 0, "scratch");
  if (C.failed || !ctx) return NULL;
  s.gx = scratch;
  s.gh = scratch + (size_t)s.B * (size_t)G;
  s.hn = scratch + (size_t)2 * s.B * (size_t)G;
  if (step_cell_run(ctx, isa, &s) != 0) {
    fail(&C, 1, "out of memory");
    return NULL;
  }
  memcpy(h, s.hn, (size_t)s.B * s.H * sizeof(float));
  return NULL;
}

typedef struct {
  step_model_t *m;
  const int32_t *ids;
  int B, V;
} plan_t;

static void plan_finalize(napi_env env, void *data, void *hint) {
  plan_t *p = data;
  step_model_destroy(p->m);
  free(p);
}

static napi_value prop(napi_env env, napi_value obj, const char *name) {
  napi_value v = NULL;
  napi_get_named_property(env, obj, name, &v);
  return v;
}

static napi_value js_model_step_pack_size(napi_env env, napi_callback_info info) {
  napi_value a[MAX_ARGS], r;
  if (!get(env, info, a, 4)) return NULL;
  chk_t C = {env, 0};
  const int cell = int_arg(&C, a[0], 0, CELL_RNN, "cell"), L = int_arg(&C, a[1], 1, 4096, "L");
  const int H = int_arg(&C, a[2], 1, MAX_DIM, "H"), V = int_arg(&C, a[3], 1, MAX_DIM, "V");
  if (C.failed) return NULL;
  napi_create_double(env, (double)step_pack_size(cell, L, H, V), &r);
  return r;
}

/* The layers array of modelStepPack and modelStepBind: 1 to 4096 objects, with L set. */
static int layers_arg(chk_t *C, napi_value v, uint32_t *L) {
  bool is_array = false;
  if (!C->failed) napi_is_array(C->env, v, &is_array);
  if (!C->failed && (!is_array || napi_get_array_length(C->env, v, L) != napi_ok || *L < 1 || *L > 4096))
    fail(C, 0, "layers must be an array of 1 to 4096 layers");
  return !C->failed;
}

static napi_value js_model_step_pack(napi_env env, napi_callback_info info) {
  napi_value a[MAX_ARGS];
  if (!get(env, info, a, 6)) return NULL;
  chk_t C = {env, 0};
  const int cell = int_arg(&C, a[0], 0, CELL_RNN, "cell");
  const int iH = int_arg(&C, a[1], 1, MAX_DIM, "H"), iV = int_arg(&C, a[2], 1, MAX_DIM, "V");
  uint32_t L = 0;
  if (!layers_arg(&C, a[3], &L)) return NULL;
  const double H = iH, V = iV, G = (double)cell_gates(cell) * iH;
  const float **wih = calloc(L, sizeof *wih), **whh = calloc(L, sizeof *whh);
  if (!wih || !whh) fail(&C, 1, "out of memory");
  for (uint32_t l = 0; l < L && !C.failed; l++) {
    napi_value o;
    napi_get_element(env, a[3], l, &o);
    if (l > 0) {
      if (int_arg(&C, prop(env, o, "inputSize"), 1, MAX_DIM, "layers[].inputSize") != iH && !C.failed)
        fail(&C, 1, "layers past the first take the hidden size as input");
      wih[l] = f32(&C, prop(env, o, "wih"), G * H, 0, "layers[].wih");
    }
    whh[l] = f32(&C, prop(env, o, "whh"), G * H, 0, "layers[].whh");
  }
  const float *wout = f32(&C, a[4], V * H, 0, "outWeight");
  float *packed = f32(&C, a[5], (double)step_pack_size(cell, (int)L, iH, iV), 0, "packed");
  if (!C.failed) step_pack(cell, (int)L, iH, iV, wih, whh, wout, packed);
  free(wih);
  free(whh);
  return NULL;
}

static napi_value js_model_step_bind(napi_env env, napi_callback_info info) {
  napi_value a[MAX_ARGS];
  if (!get(env, info, a, 16)) return NULL;
  chk_t C = {env, 0};
  ctx_t *ctx = ctx_arg(&C, a[0]);
  const int isa = int_arg(&C, a[1], 0, STEP_AVX512, "isa");
  const int cell = int_arg(&C, a[2], 0, CELL_RNN, "cell");
  bool autotune = true;
  if (!C.failed && napi_get_value_bool(env, a[14], &autotune) != napi_ok) fail(&C, 0, "autotune must be a boolean");
  const int iB = int_arg(&C, a[3], 1, MAX_DIM, "B"), iH = int_arg(&C, a[4], 1, MAX_DIM, "H");
  const int iV = int_arg(&C, a[5], 1, MAX_DIM, "V");
  double parallel_min = 0;
  if (!C.failed && napi_get_value_double(env, a[13], &parallel_min) != napi_ok) fail(&C, 0, "parallelMin must be a number");
  uint32_t L = 0;
  if (!layers_arg(&C, a[7], &L)) return NULL;
  const double B = iB, H = iH, V = iV, G = (double)cell_gates(cell) * iH;
  const float *table = f32(&C, a[6], V * G, 0, "table");
  step_cell_t *layers = calloc(L, sizeof *layers);
  float **hstate = calloc(L, sizeof *hstate);
  if (!layers || !hstate) fail(&C, 1, "out of memory");
  for (uint32_t l = 0; l < L && !C.failed; l++) {
    napi_value o;
    napi_get_element(env, a[7], l, &o);
    step_cell_t *s = &layers[l];
    s->I = int_arg(&C, prop(env, o, "inputSize"), 1, MAX_DIM, "layers[].inputSize");
    if (C.failed) break;
    if (l > 0 && s->I != iH) fail(&C, 1, "layers past the first take the hidden size as input");
    if (l > 0) {
      s->wih = f32(&C, prop(env, o, "wih"), G * s->I, 0, "layers[].wih");
      s->bih = f32(&C, prop(env, o, "bih"), G, 0, "layers[].bih");
    }
    s->whh = f32(&C, prop(env, o, "whh"), G * H, 0, "layers[].whh");
    s->bhh = f32(&C, prop(env, o, "bhh"), G, 0, "layers[].bhh");
    hstate[l] = f32(&C, prop(env, o, "h"), B * H, 0, "layers[].h");
    s->c = f32(&C, prop(env, o, "c"), B * H, 1, "layers[].c");
    if (!C.failed && cell == CELL_LSTM && !s->c) fail(&C, 0, "an LSTM needs c");
  }
  f32(&C, a[8], V * H, 0, "outWeight"); /* checked only: the plan reads the packed copy */
  const float *bout = f32(&C, a[9], V, 0, "outBias");
  const int32_t *ids = typed(&C, a[10], napi_int32_array, B, 0, "ids", NULL);
  float *logits = f32(&C, a[11], B * V, 0, "logits");
  float *scratch = f32(&C, a[12], B * (2 * G + H) + L * B * H, 0, "scratch");
  const float *packed = f32(&C, a[15], (double)step_pack_size(cell, (int)L, iH, iV), 0, "packed");
  plan_t *plan = NULL;
  if (!C.failed) {
    layers[0].table = table;
    layers[0].ids = ids;
    plan = calloc(1, sizeof *plan);
    if (plan) plan->m = step_model_create(ctx, isa, cell, (int)L, iB, iH, iV, layers, hstate, packed, bout, logits, scratch,
                                          parallel_min, autotune);
    if (!plan || !plan->m) {
      free(plan);
      plan = NULL;
      fail(&C, 1, "out of memory");
    }
  }
  free(layers);
  free(hstate);
  if (C.failed) return NULL;
  plan->ids = ids;
  plan->B = iB;
  plan->V = iV;
  napi_value ext;
  napi_create_external(env, plan, plan_finalize, NULL, &ext);
  return ext;
}

static plan_t *plan_arg(napi_env env, napi_callback_info info) {
  napi_value a[MAX_ARGS];
  if (!get(env, info, a, 1)) return NULL;
  void *p = NULL;
  if (napi_get_value_external(env, a[0], &p) != napi_ok || !p) {
    napi_throw_type_error(env, NULL, "expected a model step plan");
    return NULL;
  }
  return p;
}

static napi_value js_model_step_run(napi_env env, napi_callback_info info) {
  plan_t *p = plan_arg(env, info);
  if (!p) return NULL;
  chk_t C = {env, 0};
  if (ids_in_range(&C, p->ids, p->B, p->V)) step_model_run(p->m);
  return NULL;
}

static napi_value js_model_step_threads(napi_env env, napi_callback_info info) {
  plan_t *p = plan_arg(env, info);
  if (!p) return NULL;
  napi_value r;
  napi_create_int32(env, step_model_threads(p->m), &r);
  return r;
}

void step_register(napi_env env, napi_value exports) {
  const napi_property_descriptor props[] = {
#define FN(name, fn) {name, NULL, fn, NULL, NULL, NULL, napi_enumerable, NULL}
      FN("stepIsa", js_step_isa),
      FN("cellStep", js_cell_step),
      FN("modelStepPackSize", js_model_step_pack_size),
      FN("modelStepPack", js_model_step_pack),
      FN("modelStepBind", js_model_step_bind),
      FN("modelStepRun", js_model_step_run),
      FN("modelStepThreads", js_model_step_threads),
#undef FN
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
}
