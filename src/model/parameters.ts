import { GATES, type FloatArray, type Kernels } from '../kernels/kernels.js';
import type { Random } from '../util/random.js';
import type { ModelConfig } from './config.js';

/** One tensor of a model's parameters: its PyTorch name, shape, place in the flat buffer and initialisation. */
export interface ParameterSpec {
  /** PyTorch state_dict name: emb.weight, rnn.weight_ih_l0, ..., out.bias. */
  name: string;
  /** PyTorch's shape, for example [4 * hidden, emb] for an LSTM's weight_ih_l0. */
  shape: number[];
  /** Offset of the tensor in the flat parameter buffer. */
  offset: number;
  /** Elements: the product of `shape`. */
  size: number;
  /** Bound of PyTorch's uniform initialisation, or 'normal' for N(0, 1). */
  init: number | 'normal';
}

/** Names, shapes and initialisation of every parameter, in PyTorch's state_dict order. */
export function parameterSpecs(c: ModelConfig): ParameterSpec[] {
  const specs: ParameterSpec[] = [];
  let offset = 0;
  const add = (name: string, shape: number[], init: number | 'normal'): void => {
    const size = shape.reduce((a, b) => a * b, 1);
    specs.push({ name, shape, offset, size, init });
    offset += size;
  };
  add('emb.weight', [c.vocabSize, c.emb], 'normal'); // nn.Embedding: N(0, 1)
  const G = GATES[c.cell] * c.hidden;
  const k = 1 / Math.sqrt(c.hidden); // nn.LSTM / GRU / RNN: U(-1/sqrt(H), 1/sqrt(H)) for all
  for (let l = 0; l < c.layers; l++) {
    add(`rnn.weight_ih_l${l}`, [G, l === 0 ? c.emb : c.hidden], k);
    add(`rnn.weight_hh_l${l}`, [G, c.hidden], k);
    add(`rnn.bias_ih_l${l}`, [G], k);
    add(`rnn.bias_hh_l${l}`, [G], k);
  }
  // nn.Linear: kaiming_uniform(a = sqrt(5)) gives U(-1/sqrt(fan_in), 1/sqrt(fan_in)); the bias the same.
  add('out.weight', [c.vocabSize, c.hidden], k);
  add('out.bias', [c.vocabSize], k);
  return specs;
}

/** All parameters of a model in one flat buffer, and their gradients in another of the same layout. */
export class Parameters<F extends FloatArray> {
  readonly specs: ParameterSpec[];
  readonly size: number;
  readonly data: F;
  readonly grad: F;
  private readonly byName: Map<string, ParameterSpec>;
  private changes = 0;

  constructor(config: ModelConfig, kernels: Kernels<F>) {
    this.specs = parameterSpecs(config);
    const last = this.specs[this.specs.length - 1];
    this.size = last.offset + last.size;
    this.data = kernels.alloc(this.size);
    this.grad = kernels.alloc(this.size);
    this.byName = new Map(this.specs.map(s => [s.name, s]));
  }

  /** The tensor named `name` (a PyTorch state_dict name); throws an Error for a name the model does not have. */
  spec(name: string): ParameterSpec {
    const s = this.byName.get(name);
    if (!s) throw new Error(`no parameter named ${name}`);
    return s;
  }

  /** A view of one tensor's values. */
  get(name: string): F {
    const s = this.spec(name);
    return this.data.subarray(s.offset, s.offset + s.size) as F;
  }

  /** A view of one tensor's gradient. */
  gradOf(name: string): F {
    const s = this.spec(name);
    return this.grad.subarray(s.offset, s.offset + s.size) as F;
  }

  /** Draws every tensor as PyTorch initialises it. */
  initialize(rng: Random): void {
    for (const s of this.specs) {
      const v = this.get(s.name);
      const init = s.init;
      for (let i = 0; i < s.size; i++) v[i] = init === 'normal' ? rng.normal() : rng.uniform(-init, init);
    }
    this.changed();
  }

  /**
   * Counts changes to the values: what is derived from the weights and cached
   * (CharRNN's inference table) is rebuilt when this has moved. The optimizer,
   * initialisation and the model and checkpoint loaders bump it; code that
   * writes into `data` (or a `get` view) by hand must call `changed()` after.
   */
  get version(): number {
    return this.changes;
  }

  /** Marks the values as changed (see `version`). */
  changed(): void {
    this.changes++;
  }

  /** Sets every gradient to 0, before a step's backward pass accumulates into them. */
  zeroGrad(): void {
    this.grad.fill(0);
  }
}
