// Embedding, loss, elementwise and optimiser kernels: src/kernels/reference/{embedding,loss,optim,matmul}.ts.
#include "charrnn.h"

#include <math.h>
#include <string.h>

void add_bias(float *y, const float *bias, int rows, int cols) {
  for (int r = 0; r < rows; r++) {
    float *row = y + (size_t)r * cols;
    for (int j = 0; j < cols; j++) row[j] += bias[j];
  }
}

void embedding_forward(float *out, const float *table, const int32_t *ids, int n, int dim) {
  for (int i = 0; i < n; i++) memcpy(out + (size_t)i * dim, table + (size_t)ids[i] * dim, (size_t)dim * sizeof(float));
}

void embedding_backward(float *dtable, const float *dout, const int32_t *ids, int n, int dim) {
  for (int i = 0; i < n; i++) {
    float *row = dtable + (size_t)ids[i] * dim;
    const float *src = dout + (size_t)i * dim;
    for (int j = 0; j < dim; j++) row[j] += src[j];
  }
}

double softmax_xent(const float *logits, const int32_t *targets, int rows, int V, float *dlogits, float scale) {
  double loss = 0;
  for (int r = 0; r < rows; r++) {
    const float *l = logits + (size_t)r * V;
    float max = -INFINITY;
    for (int j = 0; j < V; j++) max = l[j] > max ? l[j] : max;
    /* The normaliser in double: V terms of very different sizes. The exponentials
       go straight into dlogits, which then only needs scaling by 1 / sum. */
    const float lt = l[targets[r]]; /* read before dlogits is written, should it alias logits */
    float *d = dlogits ? dlogits + (size_t)r * V : NULL;
    double sum = 0;
    for (int j = 0; j < V; j++) {
      const float e = expf(l[j] - max);
      if (d) d[j] = e;
      sum += e;
    }
    loss += log(sum) + max - lt;
    if (d) {
      const float k = (float)(scale / sum);
      for (int j = 0; j < V; j++) d[j] *= k;
      d[targets[r]] -= scale;
    }
  }
  return loss;
}

void multiply(float *out, const float *x, const float *mask, int n) {
  for (int i = 0; i < n; i++) out[i] = x[i] * mask[i];
}

double sum_squares(const float *x, int n) {
  double s = 0;
  for (int i = 0; i < n; i++) s += (double)x[i] * x[i];
  return s;
}

void scale(float *x, int n, float s) {
  for (int i = 0; i < n; i++) x[i] *= s;
}

void adam(float *p, const float *g, float *m, float *v, int n, double lr, double b1, double b2, double eps,
          double step) {
  /* Bias corrections once per call in double, as the reference computes them. */
  const float stepSize = (float)(lr / (1 - pow(b1, step)));
  const float bc2Sqrt = (float)sqrt(1 - pow(b2, step));
  const float fb1 = (float)b1, fb2 = (float)b2, c1 = (float)(1 - b1), c2 = (float)(1 - b2), feps = (float)eps;
  for (int i = 0; i < n; i++) {
    const float gi = g[i];
    const float mi = fb1 * m[i] + c1 * gi;
    const float vi = fb2 * v[i] + c2 * gi * gi;
    m[i] = mi;
    v[i] = vi;
    p[i] -= stepSize * mi / (sqrtf(vi) / bc2Sqrt + feps);
  }
}

void rmsprop(float *p, const float *g, float *v, int n, double lr, double alpha, double eps) {
  const float fa = (float)alpha, ca = (float)(1 - alpha), flr = (float)lr, feps = (float)eps;
  for (int i = 0; i < n; i++) {
    const float gi = g[i];
    const float vi = fa * v[i] + ca * gi * gi;
    v[i] = vi;
    p[i] -= flr * gi / (sqrtf(vi) + feps);
  }
}

void sgd(float *p, const float *g, float *buf, int n, double lr, double momentum, int first) {
  const float mu = (float)momentum, flr = (float)lr;
  for (int i = 0; i < n; i++) {
    const float b = momentum == 0 || first ? g[i] : mu * buf[i] + g[i];
    buf[i] = b;
    p[i] -= flr * b;
  }
}
