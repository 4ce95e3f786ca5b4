import {
  GATES,
  cellStepScratchSize,
  type CellShape,
  type CellStepArgs,
  type CellType,
  type FloatArray,
  type ModelStepArgs,
} from '../kernels.js';
import { gruRecurrence } from './gru.js';
import { lstmRecurrence, type RecurrenceArgs } from './lstm.js';
import { addBias, matmul } from './matmul.js';
import { rnnRecurrence } from './rnn.js';

const RECURRENCE: Record<CellType, <F extends FloatArray>(a: RecurrenceArgs<F>) => void> = {
  lstm: lstmRecurrence,
  gru: gruRecurrence,
  rnn: rnnRecurrence,
};

/**
 * One inference step of a layer: the input projection (a product with W_ih, or
 * rows copied from the table), then the very recurrence cellForward runs, for
 * T = 1. On this backend a step is therefore bit-identical to forward(T = 1).
 */
export function cellStep<F extends FloatArray>({ shape, weights, input, h, c, scratch }: CellStepArgs<F>): void {
  const { cell, T, B, I, H } = shape;
  if (T !== 1) throw new RangeError(`cellStep runs one time step, got T = ${T}`);
  const G = GATES[cell] * H;
  if (scratch.length < cellStepScratchSize(shape)) throw new RangeError('cellStep: scratch too short');
  // scratch: gates [B, G], aux [B, H] (LSTM c_t, GRU W_hn h + b_hn), h_t [B, H]
  const gates = scratch.subarray(0, B * G) as F;
  const aux = scratch.subarray(B * G, B * G + B * H) as F;
  const hOut = scratch.subarray(B * G + B * H, B * G + 2 * B * H) as F;
  if ('table' in input) {
    const rows = Math.floor(input.table.length / G);
    for (let b = 0; b < B; b++) {
      const id = input.ids[b];
      if (!(id >= 0 && id < rows)) throw new RangeError(`ids[${b}] = ${id} is out of range (0 to ${rows - 1})`);
      gates.set(input.table.subarray(id * G, (id + 1) * G), b * G);
    }
  } else {
    matmul(gates, input.x, weights.wih, B, G, I, false, true, false);
    addBias(gates, weights.bih, B, G);
  }
  const shape1: CellShape = { ...shape, T: 1 };
  RECURRENCE[cell]({ shape: shape1, weights, h0: h, c0: c, act: { gates, aux, h: hOut } });
  h.set(hOut);
  if (c) c.set(aux);
}

/** A whole model's step: layer by layer (layer 0 from the table), then the output layer, as CharRNN.forward. */
export function bindModelStep<F extends FloatArray>(args: ModelStepArgs<F>): () => void {
  const { cell, B, H, V, table, layers, outWeight, outBias, state, ids, logits, scratch } = args;
  return () => {
    for (let b = 0; b < B; b++) {
      if (!(ids[b] >= 0 && ids[b] < V)) throw new RangeError(`ids[${b}] = ${ids[b]} is out of range`);
    }
    for (let l = 0; l < layers.length; l++) {
      cellStep({
        shape: { cell, T: 1, B, I: layers[l].inputSize, H },
        weights: layers[l].weights,
        input: l === 0 ? { table, ids } : { x: state[l - 1].h },
        h: state[l].h,
        c: state[l].c,
        scratch,
      });
    }
    matmul(logits, state[layers.length - 1].h, outWeight, B, V, H, false, true, false);
    addBias(logits, outBias, B, V);
  };
}
