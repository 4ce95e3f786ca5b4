import {
  cellActivationSizes,
  cellScratchSizes,
  type CellActivations,
  type CellScratch,
  type CellShape,
  type CellType,
  type CellWeights,
  type FloatArray,
  type Kernels,
} from '../kernels/kernels.js';

/** The recurrent state one layer carries between chunks: h [B, H], and c [B, H] for an LSTM. */
export interface LayerState<F extends FloatArray> {
  /** Hidden state: [B, H]. */
  h: F;
  /** Cell state, LSTM only: [B, H]; null for GRU and RNN. */
  c: F | null;
}

/**
 * One LSTM, GRU or tanh-RNN layer over chunks of T steps (torch-rnn's LSTM.lua
 * shape): forward keeps what backward needs, backward accumulates the weight
 * gradients. Buffers grow to the largest chunk seen and are reused after that.
 */
export class RecurrentLayer<F extends FloatArray> {
  private capacity = { rows: 0, B: 0 };
  private act!: CellActivations<F>;
  private scratch!: CellScratch<F>;
  private h0!: F;
  private c0!: F;
  private shape: CellShape;
  private input: F | null = null;

  constructor(
    private readonly kernels: Kernels<F>,
    readonly cell: CellType,
    readonly inputSize: number,
    readonly hidden: number,
    readonly weights: CellWeights<F>,
    readonly grads: CellWeights<F>,
  ) {
    this.shape = { cell, T: 0, B: 0, I: inputSize, H: hidden };
  }

  newState(B: number): LayerState<F> {
    return { h: this.kernels.alloc(B * this.hidden), c: this.cell === 'lstm' ? this.kernels.alloc(B * this.hidden) : null };
  }

  /**
   * Runs x [T, B, I] from `state`, returns the outputs h [T, B, H] (a view valid
   * until the next forward) and leaves the final state in `state`.
   */
  forward(x: F, T: number, B: number, state: LayerState<F>): F {
    this.reserve(T, B);
    const H = this.hidden;
    const shape: CellShape = { ...this.shape, T, B };
    this.shape = shape;
    this.input = x;
    const n = T * B * H;
    const sizes = cellActivationSizes(shape);
    const act: CellActivations<F> = {
      gates: this.act.gates.subarray(0, sizes.gates) as F,
      aux: this.act.aux.subarray(0, sizes.aux) as F,
      h: this.act.h.subarray(0, n) as F,
    };
    const h0 = this.h0.subarray(0, B * H) as F;
    const c0 = state.c ? (this.c0.subarray(0, B * H) as F) : null;
    h0.set(state.h);
    if (c0 && state.c) c0.set(state.c);
    this.kernels.cellForward({ shape, weights: this.weights, x, h0, c0, act });
    state.h.set(act.h.subarray((T - 1) * B * H, n));
    if (state.c) state.c.set(act.aux.subarray((T - 1) * B * H, n));
    return act.h;
  }

  /**
   * What the last forward computed at every step, views valid until the next
   * forward: gates [T, B, G*H] after their nonlinearities, aux [T, B, H] (the
   * LSTM's cell state), h [T, B, H]. What a trace reads.
   */
  get activations(): CellActivations<F> {
    const sizes = cellActivationSizes(this.shape);
    const n = this.shape.T * this.shape.B * this.hidden;
    return {
      gates: this.act.gates.subarray(0, sizes.gates) as F,
      aux: this.act.aux.subarray(0, sizes.aux) as F,
      h: this.act.h.subarray(0, n) as F,
    };
  }

  /**
   * Backward through the last forward: dh [T, B, H] is the loss gradient at every
   * output; writes dx [T, B, I] when given. Gradients do not flow into the state
   * the chunk started from (truncated BPTT).
   */
  backward(dh: F, dx: F | null): void {
    const shape = this.shape;
    const { T, B, H } = shape;
    const sizes = cellActivationSizes(shape);
    const ss = cellScratchSizes(shape);
    const view = (a: F, n: number): F => a.subarray(0, n) as F;
    this.kernels.cellBackward({
      shape,
      weights: this.weights,
      x: this.input!,
      h0: view(this.h0, B * H),
      c0: this.cell === 'lstm' ? view(this.c0, B * H) : null,
      act: { gates: view(this.act.gates, sizes.gates), aux: view(this.act.aux, sizes.aux), h: view(this.act.h, T * B * H) },
      dh,
      dhT: null,
      dcT: null,
      grads: this.grads,
      dx,
      dh0: null,
      dc0: null,
      scratch: {
        dgates: view(this.scratch.dgates, ss.dgates),
        dgatesHidden: view(this.scratch.dgatesHidden, ss.dgatesHidden),
        dhNext: view(this.scratch.dhNext, ss.dhNext),
        dcNext: view(this.scratch.dcNext, ss.dcNext),
      },
    });
  }

  private reserve(T: number, B: number): void {
    if (T * B <= this.capacity.rows && B <= this.capacity.B) return;
    const rows = Math.max(T * B, this.capacity.rows);
    const maxB = Math.max(B, this.capacity.B);
    const k = this.kernels;
    // Sizes for `rows` rows as one step of `rows` streams: the same totals as T steps of B.
    const big: CellShape = { ...this.shape, T: 1, B: rows };
    const a = cellActivationSizes(big);
    const s = cellScratchSizes(big);
    this.act = { gates: k.alloc(a.gates), aux: k.alloc(a.aux), h: k.alloc(a.h) };
    this.scratch = {
      dgates: k.alloc(s.dgates),
      dgatesHidden: k.alloc(s.dgatesHidden),
      dhNext: k.alloc(maxB * this.hidden),
      dcNext: k.alloc(this.cell === 'lstm' ? maxB * this.hidden : 0),
    };
    this.h0 = k.alloc(maxB * this.hidden);
    this.c0 = k.alloc(maxB * this.hidden);
    this.capacity = { rows, B: maxB };
  }
}
