// The one interface every piece of math in charrnn goes through.
//
// A backend owns its buffers: `alloc` hands out zeroed arrays that its kernels can
// read and write (for WebAssembly they are views into the module's memory), and
// every kernel takes such arrays plus sizes. Nothing here allocates per call, so
// a training step allocates nothing once the model's buffers exist.
//
// All matrices are row-major. Sequences are time-major: a chunk of T steps for a
// batch of B streams is laid out [T, B, features].

export type FloatArray = Float32Array | Float64Array;

export type CellType = 'lstm' | 'gru' | 'rnn';

/** Gates per cell type: LSTM i f g o, GRU r z n, tanh-RNN one. */
export const GATES: Record<CellType, number> = { lstm: 4, gru: 3, rnn: 1 };

/** Sizes of one recurrent layer over one chunk. */
export interface CellShape {
  cell: CellType;
  /** Time steps in the chunk. */
  T: number;
  /** Streams in the batch. */
  B: number;
  /** Input features. */
  I: number;
  /** Hidden units. */
  H: number;
}

/** Weights of one recurrent layer, PyTorch layout. */
export interface CellWeights<F extends FloatArray> {
  wih: F; // [G*H, I]
  whh: F; // [G*H, H]
  bih: F; // [G*H]
  bhh: F; // [G*H]
}

/**
 * What the forward pass of a cell keeps for the backward pass, sized by
 * `cellActivationSizes`. Buffers unused by a cell type are zero-length.
 */
export interface CellActivations<F extends FloatArray> {
  /** Gate activations after their nonlinearity: [T, B, G*H] (LSTM i f g o, GRU r z n, RNN h). */
  gates: F;
  /** LSTM cell state c_t: [T, B, H]; GRU: the recurrent part of n before r is applied, W_hn h + b_hn: [T, B, H]. */
  aux: F;
  /** Layer output h_t: [T, B, H]. */
  h: F;
}

/** Scratch a cell's backward pass needs, sized by `cellScratchSizes`. */
export interface CellScratch<F extends FloatArray> {
  /** Gradient at the gates' pre-activations, input side: [T, B, G*H]. */
  dgates: F;
  /** GRU only, hidden side (differs from the input side in the n gate): [T, B, G*H]. */
  dgatesHidden: F;
  /** Running dh and dc between steps: [B, H] each. */
  dhNext: F;
  dcNext: F;
}

export function cellActivationSizes(s: CellShape): { gates: number; aux: number; h: number } {
  const n = s.T * s.B * s.H;
  return { gates: n * GATES[s.cell], aux: s.cell === 'rnn' ? 0 : n, h: n };
}

export function cellScratchSizes(s: CellShape): { dgates: number; dgatesHidden: number; dhNext: number; dcNext: number } {
  const g = s.T * s.B * s.H * GATES[s.cell];
  return { dgates: g, dgatesHidden: s.cell === 'gru' ? g : 0, dhNext: s.B * s.H, dcNext: s.cell === 'lstm' ? s.B * s.H : 0 };
}

export interface CellForwardArgs<F extends FloatArray> {
  shape: CellShape;
  weights: CellWeights<F>;
  x: F; // [T, B, I]
  h0: F; // [B, H]
  c0: F | null; // [B, H], LSTM only
  act: CellActivations<F>;
}

export interface CellBackwardArgs<F extends FloatArray> extends CellForwardArgs<F> {
  /** Gradient of the loss at every output h_t: [T, B, H]. Read only. */
  dh: F;
  /** Gradient at the final state from beyond the chunk, or null for none (truncated BPTT). */
  dhT: F | null;
  dcT: F | null;
  /** Accumulated into (+=). */
  grads: CellWeights<F>;
  /** Written (=), or null when the input needs no gradient. [T, B, I] */
  dx: F | null;
  /** Written (=) when not null: gradient at the initial state. [B, H] */
  dh0: F | null;
  dc0: F | null;
  scratch: CellScratch<F>;
}

export interface AdamArgs {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  /** 1-based step count, for bias correction. */
  step: number;
}

export interface Kernels<F extends FloatArray = Float32Array> {
  readonly name: string;

  /** A zeroed float buffer the kernels can use. */
  alloc(length: number): F;
  /** A zeroed int32 buffer (token ids) the kernels can use. */
  allocInt(length: number): Int32Array;

  /**
   * C[M, N] = op(A) · op(B), or C += op(A) · op(B) when accumulate.
   * op(A) is [M, K]: A itself ([M, K]) or, transA, the transpose of A ([K, M]).
   * op(B) is [K, N]: B itself ([K, N]) or, transB, the transpose of B ([N, K]).
   */
  matmul(c: F, a: F, b: F, M: number, N: number, K: number, transA: boolean, transB: boolean, accumulate: boolean): void;
  /** y[r, :] += bias for each of `rows` rows of width `cols`. */
  addBias(y: F, bias: F, rows: number, cols: number): void;
  /** dbias += sum over rows of dy[r, :]. */
  sumRows(dbias: F, dy: F, rows: number, cols: number): void;

  /** One recurrent layer over a chunk: fills act (gates, aux, h). */
  cellForward(args: CellForwardArgs<F>): void;
  /** Backward through the chunk: accumulates weight gradients, writes dx, dh0, dc0. */
  cellBackward(args: CellBackwardArgs<F>): void;

  /** out[i, :] = table[ids[i], :] for i < n; rows of width dim. */
  embeddingForward(out: F, table: F, ids: Int32Array, n: number, dim: number): void;
  /** dTable[ids[i], :] += dOut[i, :]. */
  embeddingBackward(dTable: F, dOut: F, ids: Int32Array, n: number, dim: number): void;

  /**
   * Softmax cross-entropy over `rows` rows of `V` logits with integer targets.
   * Returns the summed loss in nats. When dLogits is not null it is written with
   * (softmax - onehot) * gradScale.
   */
  softmaxCrossEntropy(logits: F, targets: Int32Array, rows: number, V: number, dLogits: F | null, gradScale: number): number;

  /** out[i] = x[i] * mask[i] (dropout with a pre-scaled mask; also its backward). */
  multiply(out: F, x: F, mask: F, n: number): void;
  /** sum of x[i]^2 over i < n. */
  sumSquares(x: F, n: number): number;
  /** x[i] *= s. */
  scale(x: F, n: number, s: number): void;

  /** Adam, PyTorch's formulation (bias-corrected, eps outside the sqrt). */
  adam(param: F, grad: F, m: F, v: F, n: number, a: AdamArgs): void;
  /** RMSprop, PyTorch's formulation: v = alpha v + (1 - alpha) g^2; p -= lr g / (sqrt(v) + eps). */
  rmsprop(param: F, grad: F, v: F, n: number, lr: number, alpha: number, eps: number): void;
  /** SGD with momentum, PyTorch's formulation: b = mu b + g (b = g on the first step); p -= lr b. */
  sgd(param: F, grad: F, buf: F, n: number, lr: number, momentum: number, first: boolean): void;
}
