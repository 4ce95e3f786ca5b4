// The one interface every piece of math in charrnn goes through.
//
// A backend owns its buffers: `alloc` hands out zeroed arrays that its kernels can
// read and write (for WebAssembly they are views into the module's memory), and
// every kernel takes such arrays plus sizes. Nothing here allocates per call, so
// a training step allocates nothing once the model's buffers exist.
//
// All matrices are row-major. Sequences are time-major: a chunk of T steps for a
// batch of B streams is laid out [T, B, features].

/**
 * The float arrays kernels compute on: Float32Array for training and
 * generation, Float64Array for the reference kernels in double precision (gradient checks).
 */
export type FloatArray = Float32Array | Float64Array;

/**
 * The recurrent cell of a model's layers, as in PyTorch: 'lstm' (nn.LSTM),
 * 'gru' (nn.GRU) or 'rnn' (nn.RNN with tanh).
 */
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

/** What {@link Kernels.cellForward} reads and writes: one recurrent layer over one chunk. */
export interface CellForwardArgs<F extends FloatArray> {
  shape: CellShape;
  weights: CellWeights<F>;
  /** The layer's input: [T, B, I]. */
  x: F;
  /** The initial hidden state: [B, H]. */
  h0: F;
  /** The initial cell state, LSTM only: [B, H]; null for GRU and RNN. */
  c0: F | null;
  /** Written: what the backward pass reads, sized by cellActivationSizes(shape). */
  act: CellActivations<F>;
}

/**
 * What {@link Kernels.cellBackward} reads and writes: the forward pass's
 * arguments (`act` as cellForward filled it), the gradients arriving at the
 * outputs, and where the gradients it computes go.
 */
export interface CellBackwardArgs<F extends FloatArray> extends CellForwardArgs<F> {
  /** Gradient of the loss at every output h_t: [T, B, H]. Read only. */
  dh: F;
  /** Gradient at the final state from beyond the chunk, or null for none (truncated BPTT). */
  dhT: F | null;
  /** LSTM only, as dhT for the cell state: [B, H], or null. */
  dcT: F | null;
  /** Accumulated into (+=). */
  grads: CellWeights<F>;
  /** Written (=), or null when the input needs no gradient. [T, B, I] */
  dx: F | null;
  /** Written (=) when not null: gradient at the initial state. [B, H] */
  dh0: F | null;
  /** LSTM only, as dh0 for the cell state: [B, H], or null. */
  dc0: F | null;
  /** Scratch sized by cellScratchSizes(shape), contents undefined. */
  scratch: CellScratch<F>;
}

/**
 * What one inference step of a layer reads as its input: the layer's input x
 * [B, I], or, for a layer whose input is a character, rows of a precomputed
 * input-projection table [rows, G*H] (row v = embedding(v) W_ih^T + b_ih; stream
 * b takes row ids[b]), so no W_ih product is needed at all.
 */
export type StepInput<F extends FloatArray> = { x: F } | { table: F; ids: Int32Array };

/**
 * One time step of one layer for B streams, inference only: nothing is kept for
 * a backward pass, and the state is updated in place.
 */
export interface CellStepArgs<F extends FloatArray> {
  /** T must be 1. */
  shape: CellShape;
  /** W_ih and b_ih are not read when the input is a table. */
  weights: CellWeights<F>;
  input: StepInput<F>;
  /** h_{t-1} in, h_t out: [B, H]. */
  h: F;
  /** LSTM only, c_{t-1} in, c_t out: [B, H]; null for GRU and RNN. */
  c: F | null;
  /** cellStepScratchSize(shape) floats, contents undefined. */
  scratch: F;
}

/** Scratch of a cellStep: gate pre-activations, input and recurrent side [B, G*H] each, and the new h [B, H]. */
export function cellStepScratchSize(s: CellShape): number {
  return s.B * (2 * GATES[s.cell] * s.H + s.H);
}

/**
 * Everything one inference step of a whole model reads and writes (embedding ->
 * layers -> linear), bound once by Kernels.bindModelStep and then run once per
 * character. All buffers come from the backend's alloc / allocInt.
 */
export interface ModelStepArgs<F extends FloatArray> {
  cell: CellType;
  /** Streams. */
  B: number;
  /** Hidden units of every layer. */
  H: number;
  /** Vocabulary size: rows of the table, width of the logits. */
  V: number;
  /** Layer 0's input projection of every character, [V, G*H]: embedding(v) W_ih^T + b_ih. */
  table: F;
  /** Per layer: its weights (layer 0's W_ih and b_ih are not read: the table holds them) and input width. */
  layers: { weights: CellWeights<F>; inputSize: number }[];
  /** The output layer, logits = h W^T + b: weight [V, H], bias [V]. */
  outWeight: F;
  outBias: F;
  /** Per layer, updated in place by each run: h [B, H], and c [B, H] for an LSTM. */
  state: { h: F; c: F | null }[];
  /** [B] character ids, read by each run (entries must be in [0, V)). */
  ids: Int32Array;
  /** [B, V], written by each run. */
  logits: F;
  /** modelStepScratchSize(cell, B, H, layers) floats, contents undefined. */
  scratch: F;
  /**
   * The weights as Kernels.packModelStep packed them, required by the backends
   * that have it (their steps read the weight matrices from here only); kept
   * current by the caller, like the table.
   */
  packed?: F;
}

/** What Kernels.packModelStep reads: the shapes and the weight matrices of a model step. */
export type ModelStepWeights<F extends FloatArray> = Pick<ModelStepArgs<F>, 'cell' | 'H' | 'V' | 'layers' | 'outWeight'>;

/** Scratch of a bound model step: a cell step's, plus every layer's new h [B, H]. */
export function modelStepScratchSize(cell: CellType, B: number, H: number, layers: number): number {
  return cellStepScratchSize({ cell, T: 1, B, I: 0, H }) + layers * B * H;
}

// Defined by the data layer, which writes it (line padding); the loss kernels skip it.
export { IGNORE_TARGET } from '../data/batcher.js';

/** The hyperparameters of one {@link Kernels.adam} update, as torch.optim.Adam names them. */
export interface AdamArgs {
  /** Learning rate. */
  lr: number;
  /** Decay of the running mean of the gradient. */
  beta1: number;
  /** Decay of the running mean of its square. */
  beta2: number;
  /** Added to the denominator, outside the square root. */
  eps: number;
  /** 1-based step count, for bias correction. */
  step: number;
}

/**
 * Every piece of math charrnn does, as one interface a backend implements (the
 * reference kernels in TypeScript, WebAssembly, the native addon): a model and
 * its trainer call nothing else. A backend owns its buffers: the arrays given
 * to its kernels must come from its own `alloc` / `allocInt`. Matrices are
 * row-major, sequences time-major ([T, B, features]); the kernels a training
 * step calls allocate nothing.
 */
export interface Kernels<F extends FloatArray = Float32Array> {
  /** The backend's name as messages and benchmarks show it ('reference', 'wasm', 'native', ...). */
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

  /**
   * One inference step of one layer (see CellStepArgs): the same arithmetic as
   * cellForward with T = 1, without what backward would need.
   */
  cellStep(args: CellStepArgs<F>): void;
  /**
   * Binds one inference step of a whole model to its buffers and returns the
   * function that runs it: read args.ids, advance args.state, write args.logits.
   * Binding once lets a backend check and translate the buffers once, not per
   * character. The binding holds the buffers; weights may change between runs
   * (the table, and the packed weights where the backend packs them, are the
   * caller's to keep current).
   */
  bindModelStep(args: ModelStepArgs<F>): () => void;
  /**
   * Backends whose model step reads the weights in a layout of their own: the
   * weight matrices packed into it (ModelStepArgs.packed), into `into` when
   * given (a buffer this returned for the same shapes, so plans bound to it
   * see the new weights), else into a new buffer. Returns the buffer.
   */
  packModelStep?(args: ModelStepWeights<F>, into?: F): F;

  /** out[i, :] = table[ids[i], :] for i < n; rows of width dim. */
  embeddingForward(out: F, table: F, ids: Int32Array, n: number, dim: number): void;
  /** dTable[ids[i], :] += dOut[i, :]. */
  embeddingBackward(dTable: F, dOut: F, ids: Int32Array, n: number, dim: number): void;

  /**
   * Softmax cross-entropy over `rows` rows of `V` logits with integer targets.
   * Returns the summed loss in nats. When dLogits is not null it is written with
   * (softmax - onehot) * gradScale. A target of IGNORE_TARGET (-1) is
   * PyTorch's ignore_index: its row adds no loss and its gradient row is
   * written with zeros (the padding of line mode).
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
