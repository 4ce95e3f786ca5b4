import { GATES, modelStepScratchSize, type FloatArray, type Kernels } from '../kernels/kernels.js';
import { Dropout } from '../layers/dropout.js';
import { Embedding } from '../layers/embedding.js';
import { Linear } from '../layers/linear.js';
import { RecurrentLayer, type LayerState } from '../layers/recurrent.js';
import { Random } from '../util/random.js';
import type { ModelConfig } from './config.js';
import { Parameters } from './parameters.js';

/** The recurrent state of every layer of a model, for a batch of B streams. */
export interface ModelState<F extends FloatArray = Float32Array> {
  B: number;
  layers: LayerState<F>[];
}

export interface ForwardOptions {
  /** Training mode: dropout is applied, and `backward` may follow. */
  train?: boolean;
}

/**
 * The whole network: embedding -> stacked recurrent layers -> dropout -> linear.
 *
 * A chunk is T steps of B streams, time-major: ids[t * B + b]. `forward` runs it
 * from a state and leaves the final state there (the state carried to the next
 * chunk); `backward` follows a training forward and accumulates into
 * `params.grad`.
 */
export class CharRNN<F extends FloatArray = Float32Array> {
  readonly params: Parameters<F>;
  readonly embedding: Embedding<F>;
  readonly layers: RecurrentLayer<F>[];
  readonly dropouts: Dropout<F>[];
  /** Dropout on the embedding's output, when config.embDropout > 0. */
  readonly embDropout: Dropout<F> | null;
  readonly output: Linear<F>;
  /** Draws dropout masks; part of a training checkpoint. */
  readonly dropoutRng: Random;

  private capacityRows = 0;
  private inputIds!: Int32Array; // [T, B]
  private targetIds!: Int32Array; // [T, B]
  private embedded!: F; // [T, B, E]
  private embeddedDropped!: F; // [T, B, E] after embedding dropout (empty without it)
  private dropped!: F[]; // per layer [T, B, H]: the layer's output after dropout
  private logits!: F; // [T, B, V]
  private dLogits!: F; // [T, B, V]
  private gradA!: F; // [T, B, max(E, H)] ping-pong buffers for the backward pass
  private gradB!: F;
  private last = { T: 0, B: 0, train: false, outputs: [] as F[] };

  // Inference (step): layer 0's input projection of every character, [V, G*H],
  // valid while params.version equals tableVersion.
  private table: F | null = null;
  private tableVersion = -1;
  // Buffers of the bound step for up to stepCapacity streams, and the binding of the last state stepped.
  private stepCapacity = 0;
  private stepIds!: Int32Array; // [B]
  private stepLogits!: F; // [B, V]
  private stepScratch!: F;
  private bound: { state: ModelState<F>; B: number; ids: Int32Array; logits: F; run: () => void } | null = null;

  constructor(readonly config: ModelConfig, readonly kernels: Kernels<F>, options: { seed?: number } = {}) {
    validateConfig(config);
    const seed = options.seed ?? 1;
    this.params = new Parameters(config, kernels);
    this.params.initialize(new Random(seed));
    this.dropoutRng = new Random(seed ^ 0x5bd1e995);
    const p = this.params;
    this.embedding = new Embedding(kernels, p.get('emb.weight'), p.gradOf('emb.weight'), config.emb);
    this.layers = [];
    this.dropouts = [];
    for (let l = 0; l < config.layers; l++) {
      const w = (n: string): F => p.get(`rnn.${n}_l${l}`);
      const g = (n: string): F => p.gradOf(`rnn.${n}_l${l}`);
      this.layers.push(new RecurrentLayer(kernels, config.cell, l === 0 ? config.emb : config.hidden, config.hidden,
        { wih: w('weight_ih'), whh: w('weight_hh'), bih: w('bias_ih'), bhh: w('bias_hh') },
        { wih: g('weight_ih'), whh: g('weight_hh'), bih: g('bias_ih'), bhh: g('bias_hh') }));
      this.dropouts.push(new Dropout(kernels, config.dropout));
    }
    this.embDropout = (config.embDropout ?? 0) > 0 ? new Dropout(kernels, config.embDropout!) : null;
    this.output = new Linear(kernels, p.get('out.weight'), p.get('out.bias'), p.gradOf('out.weight'), p.gradOf('out.bias'),
      config.hidden, config.vocabSize);
  }

  /** A zero state for B streams. */
  newState(B: number): ModelState<F> {
    return { B, layers: this.layers.map(l => l.newState(B)) };
  }

  /**
   * Runs a chunk: ids [T, B] time-major. Returns the logits [T, B, V], a view
   * that stays valid until the next forward.
   */
  forward(ids: ArrayLike<number>, T: number, B: number, state: ModelState<F>, options: ForwardOptions = {}): F {
    if (state.B !== B) throw new Error(`state is for ${state.B} streams, the chunk has ${B}`);
    const rows = T * B;
    this.reserve(rows);
    const { emb, hidden, vocabSize, dropout } = this.config;
    const train = options.train ?? false;
    const ids32 = this.inputIds.subarray(0, rows);
    for (let i = 0; i < rows; i++) ids32[i] = ids[i];
    let x = this.embedded.subarray(0, rows * emb) as F;
    this.embedding.forward(x, ids32, rows);
    // The embedding's mask is drawn before the layers' masks, from the same generator.
    if (train && this.embDropout) {
      const d = this.embeddedDropped.subarray(0, rows * emb) as F;
      this.embDropout.forward(d, x, rows * emb, this.dropoutRng);
      x = d;
    }
    const outputs: F[] = [];
    for (let l = 0; l < this.layers.length; l++) {
      let h = this.layers[l].forward(x, T, B, state.layers[l]);
      outputs.push(h);
      if (train && dropout > 0) {
        const d = this.dropped[l].subarray(0, rows * hidden) as F;
        this.dropouts[l].forward(d, h, rows * hidden, this.dropoutRng);
        h = d;
      }
      x = h;
    }
    const logits = this.logits.subarray(0, rows * vocabSize) as F;
    this.output.forward(logits, x, rows);
    this.last = { T, B, train, outputs };
    return logits;
  }

  /**
   * One inference step of B = state.B streams: ids [B] are this step's input
   * characters; returns the logits [B, V] of the next, a view valid until the
   * next step. No dropout, nothing kept for backward, and nothing allocated once
   * warmed up for a state: the buffers are bound on the first step with a state
   * and reused while the same state is stepped.
   *
   * Layer 0 reads a per-character table (embedding · W_ih^T + b_ih) instead of
   * multiplying by W_ih; it is rebuilt when `params.version` has moved (the
   * optimizer and loaders bump it; after writing weights by hand, call
   * `params.changed()` or `prepareInference()`).
   */
  step(ids: ArrayLike<number>, state: ModelState<F>): F {
    const B = state.B;
    if (ids.length < B) throw new RangeError(`step needs ${B} ids, got ${ids.length}`);
    if (this.params.version !== this.tableVersion) this.prepareInference();
    let bound = this.bound;
    if (bound === null || bound.state !== state || bound.B !== B) bound = this.bindStep(state);
    const V = this.config.vocabSize;
    for (let b = 0; b < B; b++) {
      const id = ids[b];
      if (!(Number.isInteger(id) && id >= 0 && id < V)) throw new RangeError(`ids[${b}] = ${id} is not a character id (0 to ${V - 1})`);
      bound.ids[b] = id;
    }
    bound.run();
    return bound.logits;
  }

  /** (Re)builds the inference table from the current weights now; `step` calls it when the weights changed. */
  prepareInference(): void {
    const { emb, hidden, vocabSize } = this.config;
    const G = GATES[this.config.cell] * hidden;
    const k = this.kernels;
    if (this.table === null) this.table = k.alloc(vocabSize * G);
    const l0 = this.layers[0].weights;
    // table [V, G] = emb.weight [V, E] · W_ih^T + b_ih: forward's input projection of every character at once.
    k.matmul(this.table, this.params.get('emb.weight'), l0.wih, vocabSize, G, emb, false, true, false);
    k.addBias(this.table, l0.bih, vocabSize, G);
    this.tableVersion = this.params.version;
  }

  private bindStep(state: ModelState<F>): NonNullable<CharRNN<F>['bound']> {
    const B = state.B;
    const { cell, hidden: H, vocabSize: V } = this.config;
    const L = this.layers.length;
    const k = this.kernels;
    if (B > this.stepCapacity) {
      this.stepIds = k.allocInt(B);
      this.stepLogits = k.alloc(B * V);
      this.stepScratch = k.alloc(modelStepScratchSize(cell, B, H, L));
      this.stepCapacity = B;
    }
    const ids = this.stepIds.subarray(0, B);
    const logits = this.stepLogits.subarray(0, B * V) as F;
    const run = k.bindModelStep({
      cell, B, H, V, table: this.table!,
      layers: this.layers.map(l => ({ weights: l.weights, inputSize: l.inputSize })),
      outWeight: this.params.get('out.weight'), outBias: this.params.get('out.bias'),
      state: state.layers.map(s => ({ h: s.h, c: s.c })),
      ids, logits, scratch: this.stepScratch.subarray(0, modelStepScratchSize(cell, B, H, L)) as F,
    });
    this.bound = { state, B, ids, logits, run };
    return this.bound;
  }

  /** Summed cross-entropy (nats) of the last forward's logits against targets [T, B]. */
  loss(targets: ArrayLike<number>): number {
    const { T, B } = this.last;
    const rows = T * B;
    const t32 = this.copyTargets(targets, rows);
    return this.kernels.softmaxCrossEntropy(this.logits, t32, rows, this.config.vocabSize, null, 1);
  }

  /**
   * Backward through the last (training) forward for targets [T, B]: accumulates
   * the gradient of the mean cross-entropy into params.grad, returns that mean.
   */
  backward(targets: ArrayLike<number>): number {
    const { T, B, train, outputs } = this.last;
    if (!train) throw new Error('backward needs a forward with { train: true }');
    const rows = T * B;
    const { emb, hidden, vocabSize, dropout } = this.config;
    const k = this.kernels;
    const t32 = this.copyTargets(targets, rows);
    const dLogits = this.dLogits.subarray(0, rows * vocabSize) as F;
    const loss = k.softmaxCrossEntropy(this.logits, t32, rows, vocabSize, dLogits, 1 / rows);
    const L = this.layers.length;
    const top = dropout > 0 ? (this.dropped[L - 1].subarray(0, rows * hidden) as F) : outputs[L - 1];
    // Two whole buffers in turn: the gradient at a layer's output, and at its input.
    let [current, spare] = [this.gradA, this.gradB];
    let dh = current.subarray(0, rows * hidden) as F;
    this.output.backward(dLogits, top, rows, dh);
    for (let l = L - 1; l >= 0; l--) {
      if (dropout > 0) this.dropouts[l].backward(dh, dh, rows * hidden);
      const inWidth = l === 0 ? emb : hidden;
      const dx = spare.subarray(0, rows * inWidth) as F;
      this.layers[l].backward(dh, dx);
      [current, spare] = [spare, current];
      dh = dx;
    }
    if (this.embDropout) this.embDropout.backward(dh, dh, rows * emb);
    this.embedding.backward(dh, this.inputIds, rows);
    return loss / rows;
  }

  private copyTargets(targets: ArrayLike<number>, rows: number): Int32Array {
    const t32 = this.targetIds.subarray(0, rows);
    for (let i = 0; i < rows; i++) t32[i] = targets[i];
    return t32;
  }

  private reserve(rows: number): void {
    if (rows <= this.capacityRows) return;
    const { emb, hidden, vocabSize, dropout } = this.config;
    const k = this.kernels;
    this.inputIds = k.allocInt(rows);
    this.targetIds = k.allocInt(rows);
    this.embedded = k.alloc(rows * emb);
    this.embeddedDropped = k.alloc(this.embDropout ? rows * emb : 0);
    this.dropped = this.layers.map(() => k.alloc(dropout > 0 ? rows * hidden : 0));
    this.logits = k.alloc(rows * vocabSize);
    this.dLogits = k.alloc(rows * vocabSize);
    this.gradA = k.alloc(rows * Math.max(emb, hidden));
    this.gradB = k.alloc(rows * Math.max(emb, hidden));
    this.capacityRows = rows;
  }
}

function validateConfig(c: ModelConfig): void {
  const positive = (v: number, name: string): void => {
    if (!Number.isInteger(v) || v < 1) throw new RangeError(`${name} must be a positive integer, got ${v}`);
  };
  positive(c.layers, 'layers');
  positive(c.hidden, 'hidden');
  positive(c.emb, 'emb');
  positive(c.vocabSize, 'vocabSize');
  if (!(c.dropout >= 0 && c.dropout < 1)) throw new RangeError(`dropout must be in [0, 1), got ${c.dropout}`);
  const e = c.embDropout ?? 0;
  if (!(e >= 0 && e < 1)) throw new RangeError(`embDropout must be in [0, 1), got ${e}`);
  if (!['lstm', 'gru', 'rnn'].includes(c.cell)) throw new RangeError(`cell must be lstm, gru or rnn, got ${c.cell}`);
}
