import { modelStepScratchSize, type FloatArray } from '../kernels/kernels.js';
import type { CharRNN, ModelState } from '../model/charrnn.js';
import { inputTable, packedStepWeights } from './input-table.js';

/**
 * Engine buffers for up to `capacity` streams of one model, and the step plans
 * bound to them: one per number of streams B <= capacity, bound on first use
 * and kept. Stream b's rows are row b of every buffer, so the first B rows of
 * a [capacity, ...] buffer are exactly a [B, ...] buffer and every plan can
 * run over the same memory.
 */
interface BatchBuffers<F extends FloatArray> {
  capacity: number;
  /** Per layer: h [capacity, H], and c [capacity, H] for an LSTM. */
  state: { h: F; c: F | null }[];
  /** [capacity] the character each stream reads at the next step. */
  ids: Int32Array;
  /** [capacity, V] each stream's prediction of its next character. */
  logits: F;
  scratch: F;
  /** One stream's state, where a chunk (a prime) goes through model.forward. */
  single: ModelState<F>;
  plans: Map<number, () => void>;
  /** Row views of `logits`, made once each (a view per character would be garbage per character). */
  rowLogits: F[];
}

/**
 * Plans kept per buffer set. Binding costs about 0.3-0.5 ms on the native engine
 * (small model, 2 cores: 10-15 steps of one stream, about one of 32), while
 * stepping a batch bound at a fixed capacity of 64 with 1-8 streams live costs
 * 10-20x a step of just those streams; so a batch binds one plan per B as B
 * changes (continuous batching changes it only when a request joins or leaves)
 * and keeps the most recent ones.
 */
const MAX_PLANS = 16;

// Buffers of disposed batches, per model, for the next batch to reuse: the wasm
// backend's memory is never freed, and a native plan holds threads, so a server
// making a batch per request must not allocate and bind anew each time.
const spare = new WeakMap<object, BatchBuffers<FloatArray>[]>();

function acquire<F extends FloatArray>(model: CharRNN<F>, streams: number): BatchBuffers<F> {
  const pool = (spare.get(model) ?? []) as BatchBuffers<F>[];
  spare.set(model, pool);
  let best = -1;
  pool.forEach((b, i) => {
    if (b.capacity >= streams && (best < 0 || b.capacity < pool[best].capacity)) best = i;
  });
  if (best >= 0) return pool.splice(best, 1)[0];
  let capacity = 1;
  while (capacity < streams) capacity *= 2;
  const { cell, hidden: H, vocabSize: V, layers: L } = model.config;
  const k = model.kernels;
  return {
    capacity,
    state: model.newState(capacity).layers,
    ids: k.allocInt(capacity),
    logits: k.alloc(capacity * V),
    scratch: k.alloc(modelStepScratchSize(cell, capacity, H, L)),
    single: model.newState(1),
    plans: new Map(),
    rowLogits: [],
  };
}

function release<F extends FloatArray>(model: CharRNN<F>, buffers: BatchBuffers<F>): void {
  const pool = (spare.get(model) ?? []) as BatchBuffers<F>[];
  pool.push(buffers);
  spare.set(model, pool);
}

/**
 * One stream of a GenerationBatch: a recurrent state and the model's prediction of
 * its next character. It lives in a row of the batch's buffers; the row may
 * change when another stream leaves (the batch stays packed), so hold the
 * stream, never a row or a view across steps.
 */
export class GenerationStream<F extends FloatArray = Float32Array> {
  /** @internal the stream's row in the batch's buffers; -1 once closed. */
  row: number;
  /** @internal whether an input has been set since the last step. */
  pending = false;

  /** @internal created by GenerationBatch.open */
  constructor(
    private readonly batch: GenerationBatch<F>,
    row: number,
  ) {
    this.row = row;
  }

  /** False once closed (by `close` or the batch's `dispose`). */
  get open(): boolean {
    return this.row >= 0;
  }

  /**
   * The model's logits for this stream's next character, [V]: after `feed`, the
   * prediction after its last character; after a step, after the input read.
   * A view into the batch, valid until the batch next steps, opens or closes a
   * stream: read it, do not keep it.
   */
  get logits(): F {
    return this.batch.rowLogits(this.live());
  }

  /** Sets the character id this stream reads at the batch's next step. */
  input(id: number): void {
    this.batch.setInput(this.live(), id);
    this.pending = true;
  }

  /**
   * Runs character ids through the model as one chunk (model.forward, T = ids.length)
   * from this stream's state, now, without a batch step: how a prime is read.
   * Leaves the state after the last and `logits` predicting the next.
   */
  feed(ids: ArrayLike<number>): void {
    this.batch.feedRow(this.live(), ids);
  }

  /** A copy of this stream's state (B = 1), sharing no memory with the batch. */
  getState(): ModelState<F> {
    return this.batch.copyRowState(this.live());
  }

  /** Replaces this stream's state by a copy of `state` (B = 1). `logits` are then stale until the next feed or step. */
  setState(state: ModelState<F>): void {
    this.batch.writeRowState(this.live(), state);
  }

  /** Makes this stream a copy of `other` (same batch): its state and its logits. */
  copyFrom(other: GenerationStream<F>): void {
    this.batch.copyRow(other.live(), this.live());
  }

  /** Leaves the batch; the stream's buffers go to the others. */
  close(): void {
    if (this.row >= 0) this.batch.remove(this);
  }

  private live(): number {
    if (this.row < 0) throw new Error('this stream is closed');
    return this.row;
  }
}

/**
 * A batch of generation streams of one model advancing together: one engine
 * step (Kernels.bindModelStep) of B = `size` streams per character, each
 * weight read once for all of them. Streams open and close between steps (the
 * batch stays packed: a closing stream's row is taken by the last one), so a
 * server can run requests through one batch as they come and go.
 *
 * The batch owns its state, ids, logits and scratch buffers and the step plans
 * bound to them (one per B, bound on first use and kept): nothing is allocated
 * or bound per character, and nothing is shared with another batch except the
 * model's read-only input table. `dispose()` returns the buffers and plans to
 * the model's spares, where the next batch of that model finds them.
 *
 * Every stream's numbers are those it would get alone: the engines compute each
 * stream's row on its own, whatever B (tested on every backend).
 */
export class GenerationBatch<F extends FloatArray = Float32Array> {
  private buffers: BatchBuffers<F> | null;
  private readonly streams: GenerationStream<F>[] = [];
  private readonly V: number;
  private readonly H: number;

  constructor(
    readonly model: CharRNN<F>,
    options: { capacity?: number } = {},
  ) {
    this.V = model.config.vocabSize;
    this.H = model.config.hidden;
    this.buffers = acquire(model, Math.max(1, options.capacity ?? 1));
  }

  /** Streams open now: the B of the next step. */
  get size(): number {
    return this.streams.length;
  }

  /** Streams the buffers hold before they grow (they double when a stream opens past it). */
  get capacity(): number {
    return this.live().capacity;
  }

  get disposed(): boolean {
    return this.buffers === null;
  }

  /** A new stream from a zero state; feed it (or set its state) before its first input. */
  open(): GenerationStream<F> {
    let b = this.live();
    const row = this.streams.length;
    if (row === b.capacity) b = this.grow(row + 1);
    const stream = new GenerationStream(this, row);
    this.streams.push(stream);
    const H = this.H;
    for (const l of b.state) {
      l.h.fill(0, row * H, (row + 1) * H);
      l.c?.fill(0, row * H, (row + 1) * H);
    }
    b.logits.fill(0, row * this.V, (row + 1) * this.V);
    return stream;
  }

  /**
   * One step of every open stream: each reads the input set since the last step
   * and its logits become the prediction after it. Every open stream must have
   * an input (close the ones that are done).
   */
  step(): void {
    const b = this.live();
    const B = this.streams.length;
    if (B === 0) return;
    for (const s of this.streams) {
      if (!s.pending) throw new Error(`stream ${s.row} of the batch has no input for this step (close the streams that are done)`);
      s.pending = false;
    }
    let run = b.plans.get(B);
    if (run === undefined) {
      run = this.bind(b, B);
      b.plans.set(B, run);
      // The least recently bound plan goes past MAX_PLANS (a native plan holds threads until collected).
      if (b.plans.size > MAX_PLANS) b.plans.delete(b.plans.keys().next().value!);
    }
    inputTable(this.model); // rebuilt in place, with the packed weights, if the weights moved since the last step
    run();
  }

  /** Closes every stream and hands the buffers and plans back for the model's next batch. */
  dispose(): void {
    if (this.buffers === null) return;
    for (const s of this.streams) s.row = -1;
    this.streams.length = 0;
    release(this.model, this.buffers);
    this.buffers = null;
  }

  /** @internal */
  rowLogits(row: number): F {
    const b = this.live();
    return (b.rowLogits[row] ??= b.logits.subarray(row * this.V, (row + 1) * this.V) as F);
  }

  /** @internal */
  setInput(row: number, id: number): void {
    if (!(Number.isInteger(id) && id >= 0 && id < this.V)) throw new RangeError(`${id} is not a character id (0 to ${this.V - 1})`);
    this.live().ids[row] = id;
  }

  /** @internal */
  feedRow(row: number, ids: ArrayLike<number>): void {
    const T = ids.length;
    if (T === 0) return;
    const b = this.live();
    const H = this.H,
      V = this.V;
    b.single.layers.forEach((l, i) => {
      l.h.set(b.state[i].h.subarray(row * H, (row + 1) * H));
      l.c?.set(b.state[i].c!.subarray(row * H, (row + 1) * H));
    });
    const logits = this.model.forward(ids, T, 1, b.single);
    b.single.layers.forEach((l, i) => {
      b.state[i].h.set(l.h, row * H);
      if (l.c) b.state[i].c!.set(l.c, row * H);
    });
    b.logits.set(logits.subarray((T - 1) * V, T * V), row * V);
  }

  /** @internal */
  copyRowState(row: number): ModelState<F> {
    const H = this.H;
    return {
      B: 1,
      layers: this.live().state.map(l => ({
        h: l.h.slice(row * H, (row + 1) * H) as F,
        c: l.c ? (l.c.slice(row * H, (row + 1) * H) as F) : null,
      })),
    };
  }

  /** @internal */
  writeRowState(row: number, state: ModelState<F>): void {
    const b = this.live();
    const H = this.H;
    const fits =
      state.B === 1 &&
      state.layers.length === b.state.length &&
      state.layers.every((l, i) => l.h.length === H && (b.state[i].c === null ? l.c === null : l.c?.length === H));
    if (!fits)
      throw new RangeError(
        `a state for this model is ${b.state.length} layers of one stream of ${H} units (h${b.state[0].c ? ' and c' : ''})`,
      );
    state.layers.forEach((l, i) => {
      b.state[i].h.set(l.h, row * H);
      if (l.c) b.state[i].c!.set(l.c, row * H);
    });
  }

  /** @internal */
  copyRow(from: number, to: number): void {
    if (from === to) return;
    const b = this.live();
    const H = this.H,
      V = this.V;
    for (const l of b.state) {
      l.h.copyWithin(to * H, from * H, (from + 1) * H);
      l.c?.copyWithin(to * H, from * H, (from + 1) * H);
    }
    b.logits.copyWithin(to * V, from * V, (from + 1) * V);
  }

  /** @internal the last stream takes the closing one's row, so rows 0 .. size-1 stay the open streams. */
  remove(stream: GenerationStream<F>): void {
    const last = this.streams.length - 1;
    const row = stream.row;
    const moved = this.streams[last];
    if (row !== last) {
      this.copyRow(last, row);
      const b = this.live();
      b.ids[row] = b.ids[last];
      moved.row = row;
      this.streams[row] = moved;
    }
    this.streams.pop();
    stream.row = -1;
    stream.pending = false;
  }

  private grow(streams: number): BatchBuffers<F> {
    const old = this.live();
    const next = acquire(this.model, streams);
    const n = this.streams.length,
      H = this.H;
    next.state.forEach((l, i) => {
      l.h.set(old.state[i].h.subarray(0, n * H));
      l.c?.set(old.state[i].c!.subarray(0, n * H));
    });
    next.ids.set(old.ids.subarray(0, n));
    next.logits.set(old.logits.subarray(0, n * this.V));
    release(this.model, old);
    this.buffers = next;
    return next;
  }

  private bind(b: BatchBuffers<F>, B: number): () => void {
    const m = this.model;
    const { cell, hidden: H, vocabSize: V, layers: L } = m.config;
    return m.kernels.bindModelStep({
      cell,
      B,
      H,
      V,
      table: inputTable(m),
      packed: packedStepWeights(m),
      layers: m.layers.map(l => ({ weights: l.weights, inputSize: l.inputSize })),
      outWeight: m.params.get('out.weight'),
      outBias: m.params.get('out.bias'),
      state: b.state.map(l => ({ h: l.h.subarray(0, B * H) as F, c: l.c ? (l.c.subarray(0, B * H) as F) : null })),
      ids: b.ids.subarray(0, B),
      logits: b.logits.subarray(0, B * V) as F,
      scratch: b.scratch.subarray(0, modelStepScratchSize(cell, B, H, L)) as F,
    });
  }

  private live(): BatchBuffers<F> {
    if (this.buffers === null) throw new Error('this stream batch is disposed');
    return this.buffers;
  }
}
