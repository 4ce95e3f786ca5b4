import { GATES, type FloatArray } from '../kernels/kernels.js';
import type { CharRNN } from '../model/charrnn.js';

interface Cached<F extends FloatArray> {
  table: F;
  /** The weights in the engine's own step layout (Kernels.packModelStep), null where it reads them in place. */
  packed: F | null;
  version: number;
}

// One table (and one packed copy of the weights) per model, shared read-only by every stream batch of that model.
const tables = new WeakMap<object, Cached<FloatArray>>();

/** The model's cache, rebuilt in place (the same buffers) if the weights moved since it was built. */
function current<F extends FloatArray>(model: CharRNN<F>): Cached<F> {
  let cached = tables.get(model) as Cached<F> | undefined;
  if (cached !== undefined && cached.version === model.params.version) return cached;
  const { emb, hidden, vocabSize, cell } = model.config;
  const G = GATES[cell] * hidden;
  const k = model.kernels;
  if (cached === undefined) {
    cached = { table: k.alloc(vocabSize * G), packed: null, version: -1 };
    tables.set(model, cached);
  }
  const l0 = model.layers[0].weights;
  k.matmul(cached.table, model.params.get('emb.weight'), l0.wih, vocabSize, G, emb, false, true, false);
  k.addBias(cached.table, l0.bih, vocabSize, G);
  if (k.packModelStep !== undefined) {
    cached.packed = k.packModelStep(
      {
        cell,
        H: hidden,
        V: vocabSize,
        outWeight: model.params.get('out.weight'),
        layers: model.layers.map(l => ({ weights: l.weights, inputSize: l.inputSize })),
      },
      cached.packed ?? undefined,
    );
  }
  cached.version = model.params.version;
  return cached;
}

/**
 * Layer 0's input projection of every character, [V, G*H]: row v is
 * embedding(v) · W_ih^T + b_ih, so an inference step reads a row instead of
 * multiplying by W_ih. Built once per model and rebuilt in place (the same
 * buffer, so step plans bound to it stay valid) whenever `params.version` has
 * moved: the optimizer and the loaders bump it; after writing weights by hand,
 * call `model.params.changed()`.
 */
export function inputTable<F extends FloatArray>(model: CharRNN<F>): F {
  return current(model).table;
}

/**
 * The model's weights as its engine's model step reads them
 * (ModelStepArgs.packed), or undefined where the engine reads them in place.
 * One copy per model, repacked in place together with the input table (see
 * inputTable), so bound plans always read the current weights.
 */
export function packedStepWeights<F extends FloatArray>(model: CharRNN<F>): F | undefined {
  return current(model).packed ?? undefined;
}
