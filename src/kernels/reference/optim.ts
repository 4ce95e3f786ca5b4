import type { AdamArgs, FloatArray } from '../kernels.js';

export function adam(
  param: FloatArray,
  grad: FloatArray,
  m: FloatArray,
  v: FloatArray,
  n: number,
  { lr, beta1, beta2, eps, step }: AdamArgs,
): void {
  const bc1 = 1 - Math.pow(beta1, step);
  const bc2 = 1 - Math.pow(beta2, step);
  const stepSize = lr / bc1;
  const bc2Sqrt = Math.sqrt(bc2);
  for (let i = 0; i < n; i++) {
    const g = grad[i];
    m[i] = beta1 * m[i] + (1 - beta1) * g;
    v[i] = beta2 * v[i] + (1 - beta2) * g * g;
    param[i] -= (stepSize * m[i]) / (Math.sqrt(v[i]) / bc2Sqrt + eps);
  }
}

export function rmsprop(param: FloatArray, grad: FloatArray, v: FloatArray, n: number, lr: number, alpha: number, eps: number): void {
  for (let i = 0; i < n; i++) {
    const g = grad[i];
    v[i] = alpha * v[i] + (1 - alpha) * g * g;
    param[i] -= (lr * g) / (Math.sqrt(v[i]) + eps);
  }
}

export function sgd(param: FloatArray, grad: FloatArray, buf: FloatArray, n: number, lr: number, momentum: number, first: boolean): void {
  for (let i = 0; i < n; i++) {
    const b = momentum === 0 ? grad[i] : first ? grad[i] : momentum * buf[i] + grad[i];
    buf[i] = b;
    param[i] -= lr * b;
  }
}

export function sumSquares(x: FloatArray, n: number): number {
  let s = 0;
  for (let i = 0; i < n; i++) s += x[i] * x[i];
  return s;
}

export function scale(x: FloatArray, n: number, s: number): void {
  for (let i = 0; i < n; i++) x[i] *= s;
}

export function multiply(out: FloatArray, x: FloatArray, mask: FloatArray, n: number): void {
  for (let i = 0; i < n; i++) out[i] = x[i] * mask[i];
}
