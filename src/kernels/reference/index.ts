import type { CellBackwardArgs, CellForwardArgs, FloatArray, Kernels } from '../kernels.js';
import { embeddingBackward, embeddingForward } from './embedding.js';
import { gruBackward, gruForward } from './gru.js';
import { softmaxCrossEntropy } from './loss.js';
import { lstmBackward, lstmForward } from './lstm.js';
import { addBias, matmul, sumRows } from './matmul.js';
import { adam, multiply, rmsprop, scale, sgd, sumSquares } from './optim.js';
import { rnnBackward, rnnForward } from './rnn.js';
import { bindModelStep, cellStep } from './step.js';

export type Precision = 'f32' | 'f64';

/**
 * The reference backend: plain TypeScript written to be read, the specification
 * every faster backend is tested against. In f64 it is the ground truth of the
 * gradient checks.
 */
export function referenceKernels(precision: 'f64'): Kernels<Float64Array>;
export function referenceKernels(precision?: 'f32'): Kernels<Float32Array>;
export function referenceKernels(precision: Precision = 'f32'): Kernels<Float32Array> | Kernels<Float64Array> {
  return precision === 'f64' ? make(n => new Float64Array(n), 'reference-f64') : make(n => new Float32Array(n), 'reference');
}

function make<F extends FloatArray>(alloc: (n: number) => F, name: string): Kernels<F> {
  return {
    name,
    alloc,
    allocInt: n => new Int32Array(n),
    matmul,
    addBias,
    sumRows,
    cellForward(args: CellForwardArgs<F>) {
      const f = { lstm: lstmForward, gru: gruForward, rnn: rnnForward }[args.shape.cell];
      f(args);
    },
    cellBackward(args: CellBackwardArgs<F>) {
      const f = { lstm: lstmBackward, gru: gruBackward, rnn: rnnBackward }[args.shape.cell];
      f(args);
    },
    cellStep,
    bindModelStep,
    embeddingForward,
    embeddingBackward,
    softmaxCrossEntropy,
    multiply,
    sumSquares,
    scale,
    adam,
    rmsprop,
    sgd,
  };
}
