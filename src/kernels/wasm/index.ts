// The WebAssembly backend: the kernels of src/kernels/wasm/assembly (AssemblyScript
// compiled with SIMD by scripts/build-wasm.mjs), behind the Kernels interface.
//
// Platform-neutral: the binaries are embedded as base64, nothing here touches fs
// or process. The relaxed-SIMD build (fused multiply-add) is used where the engine
// validates it; on Node 20 that needs V8's --experimental-wasm-relaxed-simd,
// which the Node side sets through enableWasmFeatures() (src/node/wasm-flags.ts)
// before loading; elsewhere the plain SIMD128 build runs.
//
// With `threads` > 1 and a platform's `spawner`, the big kernels run on a pool
// of workers (./pool.ts) that share the module and the memory. Every threaded
// kernel computes each output exactly as the single-threaded one does (work is
// split by output rows, columns, streams or ranges, never inside a sum), so the
// results are the same bit for bit whatever the thread count and timing. Small
// problems, where waking the pool would cost more than it saves, run on the
// calling thread alone.

import {
  cellActivationSizes,
  cellScratchSizes,
  GATES,
  type AdamArgs,
  type CellBackwardArgs,
  type CellForwardArgs,
  type CellShape,
  type Kernels,
} from '../kernels.js';
import { maximumPages, relaxedSimdWasm, simdWasm } from './generated/binaries.js';
import { WasmHeap } from './heap.js';
import { CONTROL_BYTES, THREADED_JOBS, WasmThreadPool, type JobFunction, type ThreadedJob, type WasmThreadSpawner } from './pool.js';
import { wasmStepKernels, type StepExports } from './step.js';

export type { WasmThreadSpawner, WasmWorkerHandle, WasmWorkerInit } from './pool.js';

/** Which WebAssembly build runs: 'relaxed-simd' (fused multiply-add, where the engine validates it) or plain 'simd' (SIMD128). */
export type WasmVariant = 'relaxed-simd' | 'simd';

/**
 * The WebAssembly backend, from {@link loadWasmKernels}: the Kernels on one
 * shared memory, single- or multi-threaded, with the same results bit for bit
 * whatever the thread count.
 */
export interface WasmKernels extends Kernels<Float32Array> {
  readonly name: 'wasm';
  /** Which build runs: relaxed SIMD (fused multiply-add) or plain SIMD128. */
  readonly variant: WasmVariant;
  /** The shared memory every buffer of this backend lives in. */
  readonly memory: WebAssembly.Memory;
  /** Threads the kernels run on, the calling one included (1 after dispose). */
  readonly threads: number;
  /** Kernel calls that ran on the worker pool so far (the rest ran on the calling thread alone): for tests and benchmarks. */
  readonly threadedCalls: number;
  /**
   * Stops the worker threads; the kernels go on, single-threaded, with the same
   * results. Workers do not keep a process alive (the Node spawner unrefs them),
   * so calling this is optional.
   */
  dispose(): Promise<void>;
}

/** How {@link loadWasmKernels} builds the backend: which build and how many threads. */
export interface WasmOptions {
  /** Use the relaxed-SIMD build when the engine supports it (default true). */
  relaxedSimd?: boolean;
  /** Threads to run on, the calling one included (default 1: no workers). More than one needs `spawner`. */
  threads?: number;
  /** Starts worker threads: the platform's part (Node: src/node/wasm-threads.ts). */
  spawner?: WasmThreadSpawner;
}

type Ptr = number;
type CellForwardFn = (
  T: number,
  B: number,
  I: number,
  H: number,
  wih: Ptr,
  whh: Ptr,
  bih: Ptr,
  bhh: Ptr,
  x: Ptr,
  h0: Ptr,
  c0: Ptr,
  gates: Ptr,
  aux: Ptr,
  h: Ptr,
  ws: Ptr,
) => void;
type CellBackwardFn = (
  T: number,
  B: number,
  I: number,
  H: number,
  wih: Ptr,
  whh: Ptr,
  x: Ptr,
  h0: Ptr,
  c0: Ptr,
  gates: Ptr,
  aux: Ptr,
  h: Ptr,
  dh: Ptr,
  dhT: Ptr,
  dcT: Ptr,
  gWih: Ptr,
  gWhh: Ptr,
  gBih: Ptr,
  gBhh: Ptr,
  dx: Ptr,
  dh0: Ptr,
  dc0: Ptr,
  dgates: Ptr,
  dgatesHidden: Ptr,
  dhNext: Ptr,
  dcNext: Ptr,
  ws: Ptr,
) => void;

/** The module's exports (see assembly/index.ts); booleans travel as 0 / 1. */
interface Exports extends StepExports {
  heapBase(): number;
  packScratchFloats(): number;
  setPackScratch(p: Ptr): void;
  threadInit(count: number, control: Ptr, canSleep: number): void;
  matmul(c: Ptr, a: Ptr, b: Ptr, M: number, N: number, K: number, transA: number, transB: number, accumulate: number, ws: Ptr): void;
  sumF64(p: Ptr, n: number): number;
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
  adam(
    param: Ptr,
    grad: Ptr,
    m: Ptr,
    v: Ptr,
    n: number,
    beta1: number,
    beta2: number,
    stepSize: number,
    invBc2Sqrt: number,
    eps: number,
  ): void;
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

/** Threaded forward (assembly/cells.ts forwardThreaded): W_ih^T and W_hh^T packed side by side, then the biases or GRU's step scratch. */
function forwardWorkspaceThreaded({ cell, B, I, H }: CellShape): number {
  const G = GATES[cell] * H;
  return packed(I, G) + packed(H, G) + (cell === 'gru' ? B * G : G);
}

/** Threaded backward (assembly/cells.ts backwardThreaded): W_hh, x, h0, h_0..h_{T-2} and W_ih, all packed at once. */
function backwardWorkspaceThreaded({ cell, T, B, I, H }: CellShape): number {
  const G = GATES[cell] * H;
  return packed(G, H) + packed(T * B, I) + packed(B, H) + packed((T - 1) * B, H) + packed(G, I);
}

/**
 * Below these sizes a kernel runs on the calling thread alone: a job costs a
 * few microseconds of hand-over (more when a worker has gone to sleep), worth
 * it from about 100 us of work.
 */
const THREADED_MIN_FLOPS = 4e6; // matmul: 2 M N K
const THREADED_MIN_FLOATS = 32768; // elementwise and row-wise kernels
/** A cell runs threaded from two ranges of streams up (assembly/cells.ts: a range has at least 4 streams). */
const THREADED_MIN_STREAMS = 8;

function threadCount(threads: number | undefined, spawner: WasmThreadSpawner | undefined): number {
  const n = threads ?? 1;
  if (!Number.isInteger(n) || n < 1 || n > 256) throw new RangeError(`wasm kernels: threads must be an integer from 1 to 256, got ${n}`);
  if (n > 1 && spawner === undefined) throw new Error('wasm kernels: threads > 1 needs a spawner to start worker threads');
  return n;
}

/**
 * Compiles and starts the WebAssembly kernels (embedded, nothing is fetched),
 * the relaxed-SIMD build where the engine supports it, with a pool of
 * `threads - 1` workers when asked. Runs in Node and browsers alike. Throws a
 * RangeError for a thread count outside 1 to 256, an Error for threads > 1
 * without a spawner, or when the engine lacks WebAssembly SIMD.
 */
export async function loadWasmKernels(options: WasmOptions = {}): Promise<WasmKernels> {
  const threads = threadCount(options.threads, options.spawner);
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
  // One compiled module for every thread: workers instantiate the same Module, so
  // the engine compiles once. Each instance rewrites the module's few constant
  // data segments (Math.log's tables) with the same bytes; that happens while the
  // pool starts, before any kernel runs.
  const module = await WebAssembly.compile(bytes);
  const instance = await WebAssembly.instantiate(module, { env: { memory } });
  const e = instance.exports as unknown as Exports;
  const heap = new WasmHeap(memory, e.heapBase(), maximumPages);
  e.setPackScratch(heap.f32(e.packScratchFloats()).byteOffset);
  let pool: WasmThreadPool | null = null;
  if (threads > 1 && options.spawner) {
    const control = heap.i32(CONTROL_BYTES / 4).byteOffset;
    const scratch = Array.from({ length: threads - 1 }, () => heap.f32(e.packScratchFloats()).byteOffset);
    pool = await WasmThreadPool.start(
      options.spawner,
      module,
      memory,
      instance.exports as unknown as Record<ThreadedJob, JobFunction> & Exports,
      threads,
      control,
      scratch,
    );
  }
  /** Whether to run a problem of this size on the pool. */
  const threaded = (work: number, min: number): WasmThreadPool | null => (pool !== null && pool.running && work >= min ? pool : null);
  const JOB = Object.fromEntries(THREADED_JOBS.map((name, i) => [name, i])) as Record<ThreadedJob, number>;
  const p = (v: Float32Array | Int32Array, n: number, what: string): number => heap.ptr(v, n, what);
  const forwardFns: Record<CellShape['cell'], CellForwardFn> = { lstm: e.lstmForward, gru: e.gruForward, rnn: e.rnnForward };
  const backwardFns: Record<CellShape['cell'], CellBackwardFn> = { lstm: e.lstmBackward, gru: e.gruBackward, rnn: e.rnnBackward };
  const forwardJobs: Record<CellShape['cell'], number> = {
    lstm: JOB.lstmForwardThreaded,
    gru: JOB.gruForwardThreaded,
    rnn: JOB.rnnForwardThreaded,
  };
  const backwardJobs: Record<CellShape['cell'], number> = {
    lstm: JOB.lstmBackwardThreaded,
    gru: JOB.gruBackwardThreaded,
    rnn: JOB.rnnBackwardThreaded,
  };

  /** Pointers of the arguments both cell directions share. */
  function cellPointers({ shape, weights, x, h0, c0, act }: CellForwardArgs<Float32Array>) {
    const { cell, T, B, I, H } = shape;
    const G = GATES[cell] * H;
    if (cell === 'lstm' && c0 === null) throw new Error('wasm kernels: an LSTM needs c0');
    const a = cellActivationSizes(shape);
    return {
      wih: p(weights.wih, G * I, 'wih'),
      whh: p(weights.whh, G * H, 'whh'),
      x: p(x, T * B * I, 'x'),
      h0: p(h0, B * H, 'h0'),
      c0: heap.ptrOrNull(cell === 'lstm' ? c0 : null, B * H, 'c0'),
      gates: p(act.gates, a.gates, 'act.gates'),
      aux: p(act.aux, a.aux, 'act.aux'),
      h: p(act.h, a.h, 'act.h'),
    };
  }

  const kernels: WasmKernels = {
    name: 'wasm',
    variant,
    memory,
    get threads() {
      return pool !== null && pool.running ? pool.threads : 1;
    },
    get threadedCalls() {
      return pool?.calls ?? 0;
    },
    async dispose() {
      await pool?.dispose();
    },
    alloc: n => heap.f32(n),
    allocInt: n => heap.i32(n),

    matmul(c, a, b, M, N, K, transA, transB, accumulate) {
      const ws = heap.scratch(packed(K, N));
      const args = [p(c, M * N, 'c'), p(a, M * K, 'a'), p(b, K * N, 'b'), M, N, K, +transA, +transB, +accumulate, ws] as const;
      const t = threaded(2 * M * N * K, THREADED_MIN_FLOPS);
      if (t) t.run(JOB.matmulThreaded, [...args]);
      else e.matmul(...args);
    },
    addBias(y, bias, rows, cols) {
      const args = [p(y, rows * cols, 'y'), p(bias, cols, 'bias'), rows, cols] as const;
      const t = threaded(rows * cols, THREADED_MIN_FLOATS);
      if (t) t.run(JOB.addBiasThreaded, [...args]);
      else e.addBias(...args);
    },
    sumRows(dbias, dy, rows, cols) {
      const args = [p(dbias, cols, 'dbias'), p(dy, rows * cols, 'dy'), rows, cols] as const;
      const t = threaded(rows * cols, THREADED_MIN_FLOATS);
      if (t) t.run(JOB.sumRowsThreaded, [...args]);
      else e.sumRows(...args);
    },

    cellForward(args) {
      const { shape, weights } = args;
      const { cell, T, B, I, H } = shape;
      const G = GATES[cell] * H;
      const q = cellPointers(args);
      const t = threaded(B, THREADED_MIN_STREAMS);
      const ws = heap.scratch(t ? forwardWorkspaceThreaded(shape) : forwardWorkspace(shape));
      const call = [
        T,
        B,
        I,
        H,
        q.wih,
        q.whh,
        p(weights.bih, G, 'bih'),
        p(weights.bhh, G, 'bhh'),
        q.x,
        q.h0,
        q.c0,
        q.gates,
        q.aux,
        q.h,
        ws,
      ] as const;
      if (t) t.run(forwardJobs[cell], [...call]);
      else forwardFns[cell](...call);
    },
    cellBackward(args: CellBackwardArgs<Float32Array>) {
      const { shape, grads, scratch } = args;
      const { cell, T, B, I, H } = shape;
      const G = GATES[cell] * H;
      const lstm = cell === 'lstm';
      const q = cellPointers(args);
      const s = cellScratchSizes(shape);
      const t = threaded(B, THREADED_MIN_STREAMS);
      const ws = heap.scratch(t ? backwardWorkspaceThreaded(shape) : backwardWorkspace(shape));
      const call = [
        T,
        B,
        I,
        H,
        q.wih,
        q.whh,
        q.x,
        q.h0,
        q.c0,
        q.gates,
        q.aux,
        q.h,
        p(args.dh, T * B * H, 'dh'),
        heap.ptrOrNull(args.dhT, B * H, 'dhT'),
        heap.ptrOrNull(lstm ? args.dcT : null, B * H, 'dcT'),
        p(grads.wih, G * I, 'grads.wih'),
        p(grads.whh, G * H, 'grads.whh'),
        p(grads.bih, G, 'grads.bih'),
        p(grads.bhh, G, 'grads.bhh'),
        heap.ptrOrNull(args.dx, T * B * I, 'dx'),
        heap.ptrOrNull(args.dh0, B * H, 'dh0'),
        heap.ptrOrNull(lstm ? args.dc0 : null, B * H, 'dc0'),
        p(scratch.dgates, s.dgates, 'scratch.dgates'),
        p(scratch.dgatesHidden, s.dgatesHidden, 'scratch.dgatesHidden'),
        p(scratch.dhNext, s.dhNext, 'scratch.dhNext'),
        p(scratch.dcNext, s.dcNext, 'scratch.dcNext'),
        ws,
      ] as const;
      if (t) t.run(backwardJobs[cell], [...call]);
      else backwardFns[cell](...call);
    },

    embeddingForward(out, table, ids, n, dim) {
      e.embeddingForward(p(out, n * dim, 'out'), p(table, 0, 'table'), p(ids, n, 'ids'), n, dim);
    },
    embeddingBackward(dTable, dOut, ids, n, dim) {
      e.embeddingBackward(p(dTable, 0, 'dTable'), p(dOut, n * dim, 'dOut'), p(ids, n, 'ids'), n, dim);
    },
    softmaxCrossEntropy(logits, targets, rows, V, dLogits, gradScale) {
      const args = [
        p(logits, rows * V, 'logits'),
        p(targets, rows, 'targets'),
        rows,
        V,
        heap.ptrOrNull(dLogits, rows * V, 'dLogits'),
        gradScale,
      ] as const;
      const t = threaded(rows * V, THREADED_MIN_FLOATS);
      if (!t) return e.softmaxCrossEntropy(...args);
      // Per-row losses [rows] f64, then their sum in row order, as the single-threaded kernel adds them.
      const losses = heap.scratch(2 * rows);
      t.run(JOB.softmaxCrossEntropyThreaded, [...args, losses]);
      return e.sumF64(losses, rows);
    },
    multiply(out, x, mask, n) {
      const args = [p(out, n, 'out'), p(x, n, 'x'), p(mask, n, 'mask'), n] as const;
      const t = threaded(n, THREADED_MIN_FLOATS);
      if (t) t.run(JOB.multiplyThreaded, [...args]);
      else e.multiply(...args);
    },
    sumSquares(x, n) {
      // Single-threaded: one running sum, so the clipping norm does not depend on a split.
      return e.sumSquares(p(x, n, 'x'), n);
    },
    scale(x, n, s) {
      const args = [p(x, n, 'x'), n, s] as const;
      const t = threaded(n, THREADED_MIN_FLOATS);
      if (t) t.run(JOB.scaleThreaded, [...args]);
      else e.scale(...args);
    },
    adam(param, grad, m, v, n, a: AdamArgs) {
      const stepSize = a.lr / (1 - Math.pow(a.beta1, a.step));
      const invBc2Sqrt = 1 / Math.sqrt(1 - Math.pow(a.beta2, a.step));
      const args = [
        p(param, n, 'param'),
        p(grad, n, 'grad'),
        p(m, n, 'm'),
        p(v, n, 'v'),
        n,
        a.beta1,
        a.beta2,
        stepSize,
        invBc2Sqrt,
        a.eps,
      ] as const;
      const t = threaded(n, THREADED_MIN_FLOATS);
      if (t) t.run(JOB.adamThreaded, [...args]);
      else e.adam(...args);
    },
    rmsprop(param, grad, v, n, lr, alpha, eps) {
      const args = [p(param, n, 'param'), p(grad, n, 'grad'), p(v, n, 'v'), n, lr, alpha, eps] as const;
      const t = threaded(n, THREADED_MIN_FLOATS);
      if (t) t.run(JOB.rmspropThreaded, [...args]);
      else e.rmsprop(...args);
    },
    sgd(param, grad, buf, n, lr, momentum, first) {
      const args = [p(param, n, 'param'), p(grad, n, 'grad'), p(buf, n, 'buf'), n, lr, momentum, +first] as const;
      const t = threaded(n, THREADED_MIN_FLOATS);
      if (t) t.run(JOB.sgdThreaded, [...args]);
      else e.sgd(...args);
    },
    ...wasmStepKernels(e, heap),
  };
  return kernels;
}
