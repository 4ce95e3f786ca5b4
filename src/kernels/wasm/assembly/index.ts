// The charrnn WebAssembly kernels: every export takes byte offsets into the
// imported shared memory and sizes, and allocates nothing. The loader
// (../index.ts) owns the memory and hands out the buffers.
//
// The *Threaded exports run on every thread of a job at once (../pool.ts), each
// thread in its own instance of this module over the same memory; see threads.ts.

export { addBias, embeddingBackward, embeddingForward, multiply, adam, rmsprop, scale, sgd, softmaxCrossEntropy, sumRows, sumSquares } from './elementwise';
export { matmulPacked as matmul, packScratchFloats, setPackScratch } from './gemm';
export { gruBackward, gruForward, lstmBackward, lstmForward, rnnBackward, rnnForward } from './cells';
export { cellStep, modelStep } from './step';

export { threadInit } from './threads';
export {
  addBiasThreaded, adamThreaded, multiplyThreaded, rmspropThreaded, scaleThreaded, sgdThreaded, softmaxCrossEntropyThreaded,
  sumF64, sumRowsThreaded,
} from './elementwise';
export { matmulThreaded } from './gemm';
export {
  gruBackwardThreaded, gruForwardThreaded, lstmBackwardThreaded, lstmForwardThreaded, rnnBackwardThreaded, rnnForwardThreaded,
} from './cells';

/** First byte past the module's static data: the loader's allocator starts above it. */
export function heapBase(): usize {
  return __heap_base;
}
