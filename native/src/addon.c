// N-API surface of the native kernels: one call per kernel, arguments as plain
// numbers and typed arrays, positional. Every call takes the context (an
// external wrapping a thread pool and its scratch) first. Buffer sizes are
// checked here against the shapes so that a wrong call throws instead of
// writing out of bounds.
#define NAPI_VERSION 8
#include <node_api.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "charrnn.h"

#define MAX_ARGS 32

typedef struct {
  napi_env env;
  napi_value argv[MAX_ARGS];
  size_t argc;
  int failed;
  ctx_t *ctx;
} args_t;

static void fail(args_t *A, const char *kind, const char *msg) {
  if (A->failed) return;
  A->failed = 1;
  if (kind[0] == 'R') napi_throw_range_error(A->env, NULL, msg);
  else napi_throw_type_error(A->env, NULL, msg);
}

static int get_args(napi_env env, napi_callback_info info, args_t *A, size_t want) {
  memset(A, 0, sizeof *A);
  A->env = env;
  A->argc = MAX_ARGS;
  if (napi_get_cb_info(env, info, &A->argc, A->argv, NULL, NULL) != napi_ok || A->argc < want) {
    char msg[96];
    snprintf(msg, sizeof msg, "expected %zu arguments, got %zu", want, A->argc);
    fail(A, "T", msg);
    return 0;
  }
  void *ptr = NULL;
  if (napi_get_value_external(env, A->argv[0], &ptr) != napi_ok || !ptr) {
    fail(A, "T", "the first argument must be a native context");
    return 0;
  }
  A->ctx = ptr;
  return 1;
}

static int is_nullish(args_t *A, int i) {
  napi_valuetype t;
  if (napi_typeof(A->env, A->argv[i], &t) != napi_ok) return 1;
  return t == napi_null || t == napi_undefined;
}

/* A typed array of at least `need` elements; NULL for null/undefined when nullable. */
static void *typed(args_t *A, int i, napi_typedarray_type want, double need, int nullable, const char *name) {
  if (A->failed) return NULL;
  if (nullable && is_nullish(A, i)) return NULL;
  bool ok = false;
  napi_is_typedarray(A->env, A->argv[i], &ok);
  char msg[160];
  if (!ok) {
    snprintf(msg, sizeof msg, "%s must be a %s", name, want == napi_float32_array ? "Float32Array" : "Int32Array");
    fail(A, "T", msg);
    return NULL;
  }
  napi_typedarray_type type;
  size_t length, offset;
  void *data;
  napi_value ab;
  /* `data` already points at the view's first element (byteOffset applied). */
  napi_get_typedarray_info(A->env, A->argv[i], &type, &length, &data, &ab, &offset);
  if (type != want) {
    snprintf(msg, sizeof msg, "%s must be a %s", name, want == napi_float32_array ? "Float32Array" : "Int32Array");
    fail(A, "T", msg);
    return NULL;
  }
  if ((double)length < need) {
    snprintf(msg, sizeof msg, "%s has %zu elements, needs %.0f", name, length, need);
    fail(A, "R", msg);
    return NULL;
  }
  return data;
}

static float *f32(args_t *A, int i, double need, const char *name) {
  return typed(A, i, napi_float32_array, need, 0, name);
}
static float *f32_or_null(args_t *A, int i, double need, const char *name) {
  return typed(A, i, napi_float32_array, need, 1, name);
}
static int32_t *i32(args_t *A, int i, double need, const char *name) {
  return typed(A, i, napi_int32_array, need, 0, name);
}

static int size_arg(args_t *A, int i, const char *name) {
  if (A->failed) return 0;
  int32_t v = 0;
  if (napi_get_value_int32(A->env, A->argv[i], &v) != napi_ok || v < 0) {
    char msg[96];
    snprintf(msg, sizeof msg, "%s must be a non-negative integer", name);
    fail(A, "T", msg);
    return 0;
  }
  return v;
}

static double num_arg(args_t *A, int i) {
  double v = 0;
  if (!A->failed && napi_get_value_double(A->env, A->argv[i], &v) != napi_ok) fail(A, "T", "expected a number");
  return v;
}

static int bool_arg(args_t *A, int i) {
  bool v = false;
  if (!A->failed && napi_get_value_bool(A->env, A->argv[i], &v) != napi_ok) fail(A, "T", "expected a boolean");
  return v;
}

static napi_value number(napi_env env, double v) {
  napi_value r;
  napi_create_double(env, v, &r);
  return r;
}

/* ---- context ---- */

static void ctx_finalize(napi_env env, void *data, void *hint) { ctx_destroy(data); }

static napi_value js_create_context(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  int32_t threads = 1;
  if (argc < 1 || napi_get_value_int32(env, argv[0], &threads) != napi_ok || threads < 1 || threads > 256) {
    napi_throw_range_error(env, NULL, "threads must be an integer in [1, 256]");
    return NULL;
  }
  ctx_t *c = ctx_create(threads);
  if (!c) {
    napi_throw_error(env, NULL, "could not create the native thread pool");
    return NULL;
  }
  napi_value ext;
  napi_create_external(env, c, ctx_finalize, NULL, &ext);
  return ext;
}

static napi_value js_context_info(napi_env env, napi_callback_info info) {
  args_t A;
  if (!get_args(env, info, &A, 1)) return NULL;
  napi_value obj, v;
  napi_create_object(env, &obj);
  napi_create_int32(env, A.ctx->threads, &v);
  napi_set_named_property(env, obj, "threads", v);
  napi_get_boolean(env, gemm_uses_avx2(), &v);
  napi_set_named_property(env, obj, "avx2", v);
  napi_create_string_utf8(env, gemm_simd(), NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, obj, "simd", v);
  return obj;
}

/* Bytes from the start of an ArrayBuffer to its first 64-byte aligned address: lets alloc() hand out aligned views. */
static napi_value js_alignment_offset(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  void *data = NULL;
  size_t length = 0;
  bool is_ab = false;
  if (argc < 1 || napi_is_arraybuffer(env, argv[0], &is_ab) != napi_ok || !is_ab ||
      napi_get_arraybuffer_info(env, argv[0], &data, &length) != napi_ok) {
    napi_throw_type_error(env, NULL, "expected an ArrayBuffer");
    return NULL;
  }
  napi_value r;
  napi_create_int32(env, (int32_t)((64 - (uintptr_t)data % 64) % 64), &r);
  return r;
}

/* ---- kernels ---- */

static napi_value js_matmul(napi_env env, napi_callback_info info) {
  args_t A;
  if (!get_args(env, info, &A, 10)) return NULL;
  const int M = size_arg(&A, 4, "M"), N = size_arg(&A, 5, "N"), K = size_arg(&A, 6, "K");
  const int ta = bool_arg(&A, 7), tb = bool_arg(&A, 8), acc = bool_arg(&A, 9);
  float *c = f32(&A, 1, (double)M * N, "c");
  const float *a = f32(&A, 2, (double)M * K, "a");
  const float *b = f32(&A, 3, (double)K * N, "b");
  if (A.failed) return NULL;
  gemm(A.ctx, c, a, b, M, N, K, ta, tb, acc, NULL);
  return NULL;
}

static napi_value js_add_bias(napi_env env, napi_callback_info info) {
  args_t A;
  if (!get_args(env, info, &A, 5)) return NULL;
  const int rows = size_arg(&A, 3, "rows"), cols = size_arg(&A, 4, "cols");
  float *y = f32(&A, 1, (double)rows * cols, "y");
  const float *bias = f32(&A, 2, cols, "bias");
  if (A.failed) return NULL;
  add_bias(y, bias, rows, cols);
  return NULL;
}

static napi_value js_sum_rows(napi_env env, napi_callback_info info) {
  args_t A;
  if (!get_args(env, info, &A, 5)) return NULL;
  const int rows = size_arg(&A, 3, "rows"), cols = size_arg(&A, 4, "cols");
  float *d = f32(&A, 1, cols, "dbias");
  const float *dy = f32(&A, 2, (double)rows * cols, "dy");
  if (A.failed) return NULL;
  sum_rows(A.ctx, d, dy, rows, cols);
  return NULL;
}

/* Arguments shared by forward and backward: ctx, cell, T, B, I, H, wih, whh, bih, bhh, x, h0, c0, gates, aux, h. */
static int cell_common(args_t *A, cell_args_t *c) {
  memset(c, 0, sizeof *c);
  c->cell = size_arg(A, 1, "cell");
  if (!A->failed && c->cell > CELL_RNN) fail(A, "R", "cell must be 0 (lstm), 1 (gru) or 2 (rnn)");
  c->T = size_arg(A, 2, "T");
  c->B = size_arg(A, 3, "B");
  c->I = size_arg(A, 4, "I");
  c->H = size_arg(A, 5, "H");
  if (A->failed) return 0;
  const double T = c->T, B = c->B, I = c->I, H = c->H, G = (double)cell_gates(c->cell) * c->H;
  c->wih = f32(A, 6, G * I, "wih");
  c->whh = f32(A, 7, G * H, "whh");
  c->bih = f32(A, 8, G, "bih");
  c->bhh = f32(A, 9, G, "bhh");
  c->x = f32(A, 10, T * B * I, "x");
  c->h0 = f32(A, 11, B * H, "h0");
  c->c0 = f32_or_null(A, 12, B * H, "c0");
  if (!A->failed && c->cell == CELL_LSTM && !c->c0) fail(A, "T", "an LSTM needs c0");
  c->gates = f32(A, 13, T * B * G, "gates");
  c->aux = c->cell == CELL_RNN ? NULL : f32(A, 14, T * B * H, "aux");
  c->h = f32(A, 15, T * B * H, "h");
  return !A->failed;
}

static napi_value js_cell_forward(napi_env env, napi_callback_info info) {
  args_t A;
  cell_args_t c;
  if (!get_args(env, info, &A, 16) || !cell_common(&A, &c)) return NULL;
  cell_forward(A.ctx, &c);
  return NULL;
}

static napi_value js_cell_backward(napi_env env, napi_callback_info info) {
  args_t A;
  cell_args_t c;
  if (!get_args(env, info, &A, 30) || !cell_common(&A, &c)) return NULL;
  const double T = c.T, B = c.B, I = c.I, H = c.H, G = (double)cell_gates(c.cell) * c.H;
  const int lstm = c.cell == CELL_LSTM;
  c.dh = f32(&A, 16, T * B * H, "dh");
  c.dhT = f32_or_null(&A, 17, B * H, "dhT");
  c.dcT = lstm ? f32_or_null(&A, 18, B * H, "dcT") : NULL;
  c.gwih = f32(&A, 19, G * I, "grads.wih");
  c.gwhh = f32(&A, 20, G * H, "grads.whh");
  c.gbih = f32(&A, 21, G, "grads.bih");
  c.gbhh = f32(&A, 22, G, "grads.bhh");
  c.dx = f32_or_null(&A, 23, T * B * I, "dx");
  c.dh0 = f32_or_null(&A, 24, B * H, "dh0");
  c.dc0 = lstm ? f32_or_null(&A, 25, B * H, "dc0") : NULL;
  c.dgates = f32(&A, 26, T * B * G, "dgates");
  c.dgatesHidden = c.cell == CELL_GRU ? f32(&A, 27, T * B * G, "dgatesHidden") : NULL;
  c.dhNext = f32(&A, 28, B * H, "dhNext");
  c.dcNext = lstm ? f32(&A, 29, B * H, "dcNext") : NULL;
  if (A.failed) return NULL;
  cell_backward(A.ctx, &c);
  return NULL;
}

static int check_ids(args_t *A, const int32_t *ids, int n, double limit, const char *name) {
  if (A->failed) return 0;
  for (int i = 0; i < n; i++)
    if (ids[i] < 0 || ids[i] >= limit) {
      char msg[96];
      snprintf(msg, sizeof msg, "%s[%d] = %d is out of range", name, i, ids[i]);
      fail(A, "R", msg);
      return 0;
    }
  return 1;
}

/* Targets are ids, or -1 for a position that is not scored (IGNORE_TARGET). */
static int check_targets(args_t *A, const int32_t *targets, int n, int V) {
  if (A->failed) return 0;
  for (int i = 0; i < n; i++)
    if (targets[i] < -1 || targets[i] >= V) {
      char msg[96];
      snprintf(msg, sizeof msg, "targets[%d] = %d is out of range", i, targets[i]);
      fail(A, "R", msg);
      return 0;
    }
  return 1;
}

static napi_value js_embedding(napi_env env, napi_callback_info info, int backward) {
  args_t A;
  if (!get_args(env, info, &A, 6)) return NULL;
  const int n = size_arg(&A, 4, "n"), dim = size_arg(&A, 5, "dim");
  float *dst = f32(&A, 1, backward ? 0 : (double)n * dim, backward ? "dTable" : "out");
  const float *src = f32(&A, 2, backward ? (double)n * dim : 0, backward ? "dOut" : "table");
  const int32_t *ids = i32(&A, 3, n, "ids");
  if (A.failed) return NULL;
  size_t tableLen;
  napi_get_typedarray_info(env, A.argv[backward ? 1 : 2], NULL, &tableLen, NULL, NULL, NULL);
  if (!check_ids(&A, ids, n, dim ? (double)(tableLen / dim) : 0, "ids")) return NULL;
  if (backward) embedding_backward(dst, src, ids, n, dim);
  else embedding_forward(dst, src, ids, n, dim);
  return NULL;
}
static napi_value js_embedding_forward(napi_env env, napi_callback_info info) { return js_embedding(env, info, 0); }
static napi_value js_embedding_backward(napi_env env, napi_callback_info info) { return js_embedding(env, info, 1); }

static napi_value js_softmax_xent(napi_env env, napi_callback_info info) {
  args_t A;
  if (!get_args(env, info, &A, 7)) return NULL;
  const int rows = size_arg(&A, 3, "rows"), V = size_arg(&A, 4, "V");
  const float *logits = f32(&A, 1, (double)rows * V, "logits");
  const int32_t *targets = i32(&A, 2, rows, "targets");
  float *d = f32_or_null(&A, 5, (double)rows * V, "dLogits");
  const double s = num_arg(&A, 6);
  if (A.failed || !check_targets(&A, targets, rows, V)) return NULL;
  return number(env, softmax_xent(A.ctx, logits, targets, rows, V, d, (float)s));
}

static napi_value js_multiply(napi_env env, napi_callback_info info) {
  args_t A;
  if (!get_args(env, info, &A, 5)) return NULL;
  const int n = size_arg(&A, 4, "n");
  float *out = f32(&A, 1, n, "out");
  const float *x = f32(&A, 2, n, "x"), *mask = f32(&A, 3, n, "mask");
  if (A.failed) return NULL;
  multiply(out, x, mask, n);
  return NULL;
}

static napi_value js_sum_squares(napi_env env, napi_callback_info info) {
  args_t A;
  if (!get_args(env, info, &A, 3)) return NULL;
  const int n = size_arg(&A, 2, "n");
  const float *x = f32(&A, 1, n, "x");
  if (A.failed) return NULL;
  return number(env, sum_squares(A.ctx, x, n));
}

static napi_value js_scale(napi_env env, napi_callback_info info) {
  args_t A;
  if (!get_args(env, info, &A, 4)) return NULL;
  const int n = size_arg(&A, 2, "n");
  float *x = f32(&A, 1, n, "x");
  const double s = num_arg(&A, 3);
  if (A.failed) return NULL;
  scale(x, n, (float)s);
  return NULL;
}

static napi_value js_adam(napi_env env, napi_callback_info info) {
  args_t A;
  if (!get_args(env, info, &A, 11)) return NULL;
  const int n = size_arg(&A, 5, "n");
  float *p = f32(&A, 1, n, "param"), *m = f32(&A, 3, n, "m"), *v = f32(&A, 4, n, "v");
  const float *g = f32(&A, 2, n, "grad");
  const double lr = num_arg(&A, 6), b1 = num_arg(&A, 7), b2 = num_arg(&A, 8), eps = num_arg(&A, 9), step = num_arg(&A, 10);
  if (A.failed) return NULL;
  adam(A.ctx, p, g, m, v, n, lr, b1, b2, eps, step);
  return NULL;
}

static napi_value js_rmsprop(napi_env env, napi_callback_info info) {
  args_t A;
  if (!get_args(env, info, &A, 8)) return NULL;
  const int n = size_arg(&A, 4, "n");
  float *p = f32(&A, 1, n, "param"), *v = f32(&A, 3, n, "v");
  const float *g = f32(&A, 2, n, "grad");
  const double lr = num_arg(&A, 5), alpha = num_arg(&A, 6), eps = num_arg(&A, 7);
  if (A.failed) return NULL;
  rmsprop(p, g, v, n, lr, alpha, eps);
  return NULL;
}

static napi_value js_sgd(napi_env env, napi_callback_info info) {
  args_t A;
  if (!get_args(env, info, &A, 8)) return NULL;
  const int n = size_arg(&A, 4, "n");
  float *p = f32(&A, 1, n, "param"), *b = f32(&A, 3, n, "buf");
  const float *g = f32(&A, 2, n, "grad");
  const double lr = num_arg(&A, 5), mu = num_arg(&A, 6);
  const int first = bool_arg(&A, 7);
  if (A.failed) return NULL;
  sgd(p, g, b, n, lr, mu, first);
  return NULL;
}

/* The inference steps' functions (step_addon.c). */
void step_register(napi_env env, napi_value exports);

static napi_value init(napi_env env, napi_value exports) {
  const napi_property_descriptor props[] = {
#define FN(name, fn) {name, NULL, fn, NULL, NULL, NULL, napi_enumerable, NULL}
      FN("createContext", js_create_context),
      FN("contextInfo", js_context_info),
      FN("alignmentOffset", js_alignment_offset),
      FN("matmul", js_matmul),
      FN("addBias", js_add_bias),
      FN("sumRows", js_sum_rows),
      FN("cellForward", js_cell_forward),
      FN("cellBackward", js_cell_backward),
      FN("embeddingForward", js_embedding_forward),
      FN("embeddingBackward", js_embedding_backward),
      FN("softmaxCrossEntropy", js_softmax_xent),
      FN("multiply", js_multiply),
      FN("sumSquares", js_sum_squares),
      FN("scale", js_scale),
      FN("adam", js_adam),
      FN("rmsprop", js_rmsprop),
      FN("sgd", js_sgd),
#undef FN
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  step_register(env, exports);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
