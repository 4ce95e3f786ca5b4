import { GATES, type FloatArray } from '../kernels/kernels.js';
import type { CharRNN } from '../model/charrnn.js';

interface Cached<F extends FloatArray> {
  table: F;
  version: number;
}

// One table per model, shared read-only by every stream batch of that model.
const tables = new WeakMap<object, Cached<FloatArray>>();

/**
 * Layer 0's input projection of every character, [V, G*H]: row v is
 * embedding(v) · W_ih^T + b_ih, so an inference step reads a row instead of
 * multiplying by W_ih. Built once per model and rebuilt in place (the same
 * buffer, so step plans bound to it stay valid) whenever `params.version` has
 * moved: the optimizer and the loaders bump it; after writing weights by hand,
 * call `model.params.changed()`.
 */
export function inputTable<F extends FloatArray>(model: CharRNN<F>): F {
  let cached = tables.get(model) as Cached<F> | undefined;
  if (cached !== undefined && cached.version === model.params.version) return cached.table;
  const { emb, hidden, vocabSize, cell } = model.config;
  const G = GATES[cell] * hidden;
  const k = model.kernels;
  if (cached === undefined) {
    cached = { table: k.alloc(vocabSize * G), version: -1 };
    tables.set(model, cached);
  }
  const l0 = model.layers[0].weights;
  k.matmul(cached.table, model.params.get('emb.weight'), l0.wih, vocabSize, G, emb, false, true, false);
  k.addBias(cached.table, l0.bih, vocabSize, G);
  cached.version = model.params.version;
  return cached.table;
}
