// The WebAssembly backend: the kernels of src/kernels/wasm/assembly (AssemblyScript
// compiled with SIMD by scripts/build-wasm.mjs), behind the Kernels interface.
//
// Platform-neutral: the binaries are embedded as base64, nothing here touches fs
// or process. The relaxed-SIMD build (fused multiply-add) is used where the engine
// validates it; on Node 20 that needs V8's --experimental-wasm-relaxed-simd,
// which the Node side sets through enableWasmFeatures() (src/node/wasm-flags.ts)
// before loading; elsewhere the plain SIMD128 build runs.

import {
  cellActivationSizes, cellScratchSizes, GATES, type AdamArgs, type CellBackwardArgs, type CellForwardArgs, type CellShape,
  type Kernels,
} from '../kernels.js';
import { maximumPages, relaxedSimdWasm, simdWasm } from './generated/binaries.js';
import { WasmHeap } from './heap.js';
import { wasmStepKernels, type StepExports } from './step.js';

export type WasmVariant = 'relaxed-simd' | 'simd';

export interface WasmKernels extends Kernels<Float32Array> {
  readonly name: 'wasm';
  /** Which build runs: relaxed SIMD (fused multiply-add) or plain SIMD128. */
  readonly variant: WasmVariant;
  /** The shared memory every buffer of this backend lives in. */
  readonly memory: WebAssembly.Memory;
}

export interface WasmOptions {
  /** Use the relaxed-SIMD build when the engine supports it (default true). */
  relaxedSimd?: boolean;
}

type Ptr = number;
type CellForwardFn = (T: number, B: number, I: number, H: number, wih: Ptr, whh: Ptr, bih: Ptr, bhh: Ptr,
  x: Ptr, h0: Ptr, c0: Ptr, gates: Ptr, aux: Ptr, h: Ptr, ws: Ptr) => void;
type CellBackwardFn = (T: number, B: number, I: number, H: number, wih: Ptr, whh: Ptr,
  x: Ptr, h0: Ptr, c0: Ptr, gates: Ptr, aux: Ptr, h: Ptr,
  dh: Ptr, dhT: Ptr, dcT: Ptr, gWih: Ptr, gWhh: Ptr, gBih: Ptr, gBhh: Ptr,
  dx: Ptr, dh0: Ptr, dc0: Ptr, dgates: Ptr, dgatesHidden: Ptr, dhNext: Ptr, dcNext: Ptr, ws: Ptr) => void;

/** The module's exports (see assembly/index.ts); booleans travel as 0 / 1. */
interface Exports extends StepExports {
  heapBase(): number;
  packScratchFloats(): number;
  setPackScratch(p: Ptr): void;
  matmul(c: Ptr, a: Ptr, b: Ptr, M: number, N: number, K: number, transA: number, transB: number, accumulate: number, ws: Ptr): void;
  addBias(y: Ptr, bias: Ptr, rows: number, cols: number): void;
  sumRows(dbias: Ptr, dy: Ptr, rows: number, cols: number): void;
  lstmForward: CellForwardFn;
  gruForward: CellForwardFn;
  rnnForward: CellForwardFn;
  lstmBackward: CellBackwardFn;
  gruBackward: CellBackwardFn;
  rnnBackward: CellBackwardFn;
  embeddingForward(out: Ptr, table: Ptr, ids: Ptr, n: number, dim: number): void;
  embeddingBackward(dTable: Ptr, dOut: Ptr, ids: Ptr, n: number, dim: number): void;
  softmaxCrossEntropy(logits: Ptr, targets: Ptr, rows: number, V: number, dLogits: Ptr, gradScale: number): number;
  multiply(out: Ptr, x: Ptr, mask: Ptr, n: number): void;
  sumSquares(x: Ptr, n: number): number;
  scale(x: Ptr, n: number, s: number): void;
  adam(param: Ptr, grad: Ptr, m: Ptr, v: Ptr, n: number, beta1: number, beta2: number, stepSize: number, invBc2Sqrt: number, eps: number): void;
  rmsprop(param: Ptr, grad: Ptr, v: Ptr, n: number, lr: number, alpha: number, eps: number): void;
  sgd(param: Ptr, grad: Ptr, buf: Ptr, n: number, lr: number, momentum: number, first: number): void;
}

/** Pages the memory starts with; it grows on demand up to the modules' declared maximum. */
const INITIAL_PAGES = 64;

function decodeBase64(s: string): Uint8Array<ArrayBuffer> {
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** Whether this engine can run the relaxed-SIMD build (on Node 20, only after enableWasmFeatures()). */
export function relaxedSimdSupported(): boolean {
  return relaxedSimdWasm !== null && WebAssembly.validate(decodeBase64(relaxedSimdWasm));
}

/** Floats of op(B) packed in 8-column panels for a K-deep, N-wide product (assembly/gemm.ts packedSize). */
const packed = (K: number, N: number): number => Math.ceil(N / 8) * 8 * K;

/** Workspace of a cell's forward pass: packed W_ih^T, then packed W_hh^T and one step's [B, 3H] (GRU) or the summed biases [G]. */
function forwardWorkspace({ cell, B, I, H }: CellShape): number {
  const G = GATES[cell] * H;
  return Math.max(packed(I, G), packed(H, G) + (cell === 'gru' ? B * G : G));
}

/** Workspace of a cell's backward pass: packed W_hh, then each weight-gradient product's packed operand. */
function backwardWorkspace({ cell, T, B, I, H }: CellShape): number {
  const G = GATES[cell] * H;
  return Math.max(packed(G, H), packed(T * B, I), packed(T * B, H), packed(G, I));
}

export async function loadWasmKernels(options: WasmOptions = {}): Promise<WasmKernels> {
  let variant: WasmVariant = 'simd';
  let bytes = decodeBase64(simdWasm);
  if ((options.relaxedSimd ?? true) && relaxedSimdWasm !== null) {
    const relaxed = decodeBase64(relaxedSimdWasm);
    if (WebAssembly.validate(relaxed)) {
      bytes = relaxed;
      variant = 'relaxed-simd';
    }
  }
  if (variant === 'simd' && !WebAssembly.validate(bytes)) {
    throw new Error('This JavaScript engine does not support WebAssembly SIMD, which the wasm backend needs.');
  }
  const memory = new WebAssembly.Memory({ initial: INITIAL_PAGES, maximum: maximumPages, shared: true });
  const { instance } = await WebAssembly.instantiate(bytes, { env: { memory } });
  const e = instance.exports as unknown as Exports;
  const heap = new WasmHeap(memory, e.heapBase(), maximumPages);
  e.setPackScratch(heap.f32(e.packScratchFloats()).byteOffset);
  const p = (v: Float32Array | Int32Array, n: number, what: string): number => heap.ptr(v, n, what);
  const forwardFns: Record<CellShape['cell'], CellForwardFn> = { lstm: e.lstmForward, gru: e.gruForward, rnn: e.rnnForward };
  const backwardFns: Record<CellShape['cell'], CellBackwardFn> = { lstm: e.lstmBackward, gru: e.gruBackward, rnn: e.rnnBackward };

  /** Pointers of the arguments both cell directions share. */
  function cellPointers({ shape, weights, x, h0, c0, act }: CellForwardArgs<Float32Array>) {
    const { cell, T, B, I, H } = shape;
    const G = GATES[cell] * H;
    if (cell === 'lstm' && c0 === null) throw new Error('wasm kernels: an LSTM needs c0');
    const a = cellActivationSizes(shape);
    return {
      wih: p(weights.wih, G * I, 'wih'), whh: p(weights.whh, G * H, 'whh'),
      x: p(x, T * B * I, 'x'), h0: p(h0, B * H, 'h0'), c0: heap.ptrOrNull(cell === 'lstm' ? c0 : null, B * H, 'c0'),
      gates: p(act.gates, a.gates, 'act.gates'), aux: p(act.aux, a.aux, 'act.aux'), h: p(act.h, a.h, 'act.h'),
    };
  }

  const kernels: WasmKernels = {
    name: 'wasm',
    variant,
    memory,
    alloc: n => heap.f32(n),
    allocInt: n => heap.i32(n),

    matmul(c, a, b, M, N, K, transA, transB, accumulate) {
      const ws = heap.scratch(packed(K, N));
      e.matmul(p(c, M * N, 'c'), p(a, M * K, 'a'), p(b, K * N, 'b'), M, N, K, +transA, +transB, +accumulate, ws);
    },
    addBias(y, bias, rows, cols) {
      e.addBias(p(y, rows * cols, 'y'), p(bias, cols, 'bias'), rows, cols);
    },
    sumRows(dbias, dy, rows, cols) {
      e.sumRows(p(dbias, cols, 'dbias'), p(dy, rows * cols, 'dy'), rows, cols);
    },

    cellForward(args) {
      const { shape, weights } = args;
      const { cell, T, B, I, H } = shape;
      const G = GATES[cell] * H;
      const q = cellPointers(args);
      const ws = heap.scratch(forwardWorkspace(shape));
      forwardFns[cell](T, B, I, H, q.wih, q.whh, p(weights.bih, G, 'bih'), p(weights.bhh, G, 'bhh'),
        q.x, q.h0, q.c0, q.gates, q.aux, q.h, ws);
    },
    cellBackward(args: CellBackwardArgs<Float32Array>) {
      const { shape, grads, scratch } = args;
      const { cell, T, B, I, H } = shape;
      const G = GATES[cell] * H;
      const lstm = cell === 'lstm';
      const q = cellPointers(args);
      const s = cellScratchSizes(shape);
      const ws = heap.scratch(backwardWorkspace(shape));
      backwardFns[cell](T, B, I, H, q.wih, q.whh, q.x, q.h0, q.c0, q.gates, q.aux, q.h,
        p(args.dh, T * B * H, 'dh'), heap.ptrOrNull(args.dhT, B * H, 'dhT'), heap.ptrOrNull(lstm ? args.dcT : null, B * H, 'dcT'),
        p(grads.wih, G * I, 'grads.wih'), p(grads.whh, G * H, 'grads.whh'), p(grads.bih, G, 'grads.bih'), p(grads.bhh, G, 'grads.bhh'),
        heap.ptrOrNull(args.dx, T * B * I, 'dx'), heap.ptrOrNull(args.dh0, B * H, 'dh0'), heap.ptrOrNull(lstm ? args.dc0 : null, B * H, 'dc0'),
        p(scratch.dgates, s.dgates, 'scratch.dgates'), p(scratch.dgatesHidden, s.dgatesHidden, 'scratch.dgatesHidden'),
        p(scratch.dhNext, s.dhNext, 'scratch.dhNext'), p(scratch.dcNext, s.dcNext, 'scratch.dcNext'), ws);
    },

    embeddingForward(out, table, ids, n, dim) {
      e.embeddingForward(p(out, n * dim, 'out'), p(table, 0, 'table'), p(ids, n, 'ids'), n, dim);
    },
    embeddingBackward(dTable, dOut, ids, n, dim) {
      e.embeddingBackward(p(dTable, 0, 'dTable'), p(dOut, n * dim, 'dOut'), p(ids, n, 'ids'), n, dim);
    },
    softmaxCrossEntropy(logits, targets, rows, V, dLogits, gradScale) {
      return e.softmaxCrossEntropy(p(logits, rows * V, 'logits'), p(targets, rows, 'targets'), rows, V,
        heap.ptrOrNull(dLogits, rows * V, 'dLogits'), gradScale);
    },
    multiply(out, x, mask, n) {
      e.multiply(p(out, n, 'out'), p(x, n, 'x'), p(mask, n, 'mask'), n);
    },
    sumSquares(x, n) {
      return e.sumSquares(p(x, n, 'x'), n);
    },
    scale(x, n, s) {
      e.scale(p(x, n, 'x'), n, s);
    },
    adam(param, grad, m, v, n, a: AdamArgs) {
      const stepSize = a.lr / (1 - Math.pow(a.beta1, a.step));
      const invBc2Sqrt = 1 / Math.sqrt(1 - Math.pow(a.beta2, a.step));
      e.adam(p(param, n, 'param'), p(grad, n, 'grad'), p(m, n, 'm'), p(v, n, 'v'), n, a.beta1, a.beta2, stepSize, invBc2Sqrt, a.eps);
    },
    rmsprop(param, grad, v, n, lr, alpha, eps) {
      e.rmsprop(p(param, n, 'param'), p(grad, n, 'grad'), p(v, n, 'v'), n, lr, alpha, eps);
    },
    sgd(param, grad, buf, n, lr, momentum, first) {
      e.sgd(p(param, n, 'param'), p(grad, n, 'grad'), p(buf, n, 'buf'), n, lr, momentum, +first);
    },
    ...wasmStepKernels(e, heap),
  };
  return kernels;
}
