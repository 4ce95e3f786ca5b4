import type { FloatArray, Kernels } from '../kernels/kernels.js';
import { Dropout } from '../layers/dropout.js';
import { Embedding } from '../layers/embedding.js';
import { Linear } from '../layers/linear.js';
import { RecurrentLayer, type LayerState } from '../layers/recurrent.js';
import { Random } from '../util/random.js';
import { CharrnnError } from '../errors.js';
import { modelConfigProblem, type ModelConfig } from './config.js';
import { Parameters } from './parameters.js';

/** The recurrent state of every layer of a model, for a batch of B streams. */
export interface ModelState<F extends FloatArray = Float32Array> {
  B: number;
  layers: LayerState<F>[];
}

/** How {@link CharRNN.forward} runs a chunk. */
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
 * `params.grad`. Generation runs on its own objects (src/generate: GenerationBatch,
 * createGenerator), as many at once as needed; the model holds no inference state.
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

  constructor(
    readonly config: ModelConfig,
    readonly kernels: Kernels<F>,
    options: { seed?: number } = {},
  ) {
    const problem = modelConfigProblem(config);
    if (problem) throw new CharrnnError(`The model's ${problem}.`);
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
      this.layers.push(
        new RecurrentLayer(
          kernels,
          config.cell,
          l === 0 ? config.emb : config.hidden,
          config.hidden,
          { wih: w('weight_ih'), whh: w('weight_hh'), bih: w('bias_ih'), bhh: w('bias_hh') },
          { wih: g('weight_ih'), whh: g('weight_hh'), bih: g('bias_ih'), bhh: g('bias_hh') },
        ),
      );
      this.dropouts.push(new Dropout(kernels, config.dropout));
    }
    this.embDropout = (config.embDropout ?? 0) > 0 ? new Dropout(kernels, config.embDropout!) : null;
    this.output = new Linear(
      kernels,
      p.get('out.weight'),
      p.get('out.bias'),
      p.gradOf('out.weight'),
      p.gradOf('out.bias'),
      config.hidden,
      config.vocabSize,
    );
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

  /** Summed cross-entropy (nats) of the last forward's logits against targets [T, B]; IGNORE_TARGET entries add nothing. */
  loss(targets: ArrayLike<number>): number {
    const { T, B } = this.last;
    const rows = T * B;
    const t32 = this.copyTargets(targets, rows);
    return this.kernels.softmaxCrossEntropy(this.logits, t32, rows, this.config.vocabSize, null, 1);
  }

  /**
   * Backward through the last (training) forward for targets [T, B]: accumulates
   * the gradient of the mean cross-entropy into params.grad, returns that mean.
   * Targets of IGNORE_TARGET (padding) are not scored: the mean is over the
   * others (PyTorch's ignore_index with reduction 'mean').
   */
  backward(targets: ArrayLike<number>): number {
    const { T, B, train, outputs } = this.last;
    if (!train) throw new Error('backward needs a forward with { train: true }');
    const rows = T * B;
    const { emb, hidden, vocabSize, dropout } = this.config;
    const k = this.kernels;
    const t32 = this.copyTargets(targets, rows);
    let scored = 0;
    for (let i = 0; i < rows; i++) if (t32[i] >= 0) scored++;
    const dLogits = this.dLogits.subarray(0, rows * vocabSize) as F;
    // No scored target: a zero gradient and loss (rather than 0 / 0).
    const loss = k.softmaxCrossEntropy(this.logits, t32, rows, vocabSize, dLogits, scored > 0 ? 1 / scored : 0);
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
    return scored > 0 ? loss / scored : 0;
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
