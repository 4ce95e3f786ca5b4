// The native backend: C kernels in an N-API addon (native/), built by
// `npm install` when a compiler and Node's headers are at hand. Optional: when
// the addon is missing or does not load, loadNativeKernels returns null and
// nativeUnavailableReason() says why, so the caller can fall back to wasm.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type AdamArgs,
  type CellBackwardArgs,
  type CellForwardArgs,
  type CellStepArgs,
  type CellType,
  type Kernels,
  type ModelStepArgs,
  type ModelStepWeights,
} from '../kernels/kernels.js';

/** A thread pool plus scratch memory on the C side; opaque here. */
type NativeContext = { readonly __nativeContext: never };
/** A model step bound to its buffers on the C side (native/src/step_addon.c); opaque here. */
type NativeStepPlan = { readonly __nativeStepPlan: never };
/** One layer of a model step as modelStepBind reads it. */
interface NativeStepLayer {
  inputSize: number;
  wih: F32;
  whh: F32;
  bih?: F32;
  bhh?: F32;
  h?: F32;
  c?: F32OrNull;
}
type F32 = Float32Array;
type F32OrNull = Float32Array | null;

/** The addon's exports (native/src/addon.c): every kernel takes the context first, then positional arguments. */
interface NativeAddon {
  createContext(threads: number): NativeContext;
  contextInfo(ctx: NativeContext): { threads: number; avx2: boolean; simd?: string };
  alignmentOffset(buffer: ArrayBuffer): number;
  matmul(
    ctx: NativeContext,
    c: F32,
    a: F32,
    b: F32,
    M: number,
    N: number,
    K: number,
    transA: boolean,
    transB: boolean,
    accumulate: boolean,
  ): void;
  addBias(ctx: NativeContext, y: F32, bias: F32, rows: number, cols: number): void;
  sumRows(ctx: NativeContext, dbias: F32, dy: F32, rows: number, cols: number): void;
  cellForward(
    ctx: NativeContext,
    cell: number,
    T: number,
    B: number,
    I: number,
    H: number,
    wih: F32,
    whh: F32,
    bih: F32,
    bhh: F32,
    x: F32,
    h0: F32,
    c0: F32OrNull,
    gates: F32,
    aux: F32,
    h: F32,
  ): void;
  cellBackward(
    ctx: NativeContext,
    cell: number,
    T: number,
    B: number,
    I: number,
    H: number,
    wih: F32,
    whh: F32,
    bih: F32,
    bhh: F32,
    x: F32,
    h0: F32,
    c0: F32OrNull,
    gates: F32,
    aux: F32,
    h: F32,
    dh: F32,
    dhT: F32OrNull,
    dcT: F32OrNull,
    gwih: F32,
    gwhh: F32,
    gbih: F32,
    gbhh: F32,
    dx: F32OrNull,
    dh0: F32OrNull,
    dc0: F32OrNull,
    dgates: F32,
    dgatesHidden: F32,
    dhNext: F32,
    dcNext: F32,
  ): void;
  embeddingForward(ctx: NativeContext, out: F32, table: F32, ids: Int32Array, n: number, dim: number): void;
  embeddingBackward(ctx: NativeContext, dTable: F32, dOut: F32, ids: Int32Array, n: number, dim: number): void;
  softmaxCrossEntropy(
    ctx: NativeContext,
    logits: F32,
    targets: Int32Array,
    rows: number,
    V: number,
    dLogits: F32OrNull,
    gradScale: number,
  ): number;
  multiply(ctx: NativeContext, out: F32, x: F32, mask: F32, n: number): void;
  sumSquares(ctx: NativeContext, x: F32, n: number): number;
  scale(ctx: NativeContext, x: F32, n: number, s: number): void;
  adam(
    ctx: NativeContext,
    param: F32,
    grad: F32,
    m: F32,
    v: F32,
    n: number,
    lr: number,
    beta1: number,
    beta2: number,
    eps: number,
    step: number,
  ): void;
  rmsprop(ctx: NativeContext, param: F32, grad: F32, v: F32, n: number, lr: number, alpha: number, eps: number): void;
  sgd(ctx: NativeContext, param: F32, grad: F32, buf: F32, n: number, lr: number, momentum: number, first: boolean): void;
  /** The best instruction set of the step kernels here: 0 generic C, 1 AVX2/FMA, 2 AVX-512. */
  stepIsa(): number;
  cellStep(
    ctx: NativeContext,
    isa: number,
    cell: number,
    B: number,
    I: number,
    H: number,
    wih: F32,
    whh: F32,
    bih: F32,
    bhh: F32,
    x: F32OrNull,
    table: F32OrNull,
    ids: Int32Array | null,
    h: F32,
    c: F32OrNull,
    scratch: F32,
  ): void;
  /** Floats of a model's packed step weights (native/src/step.c's panels). */
  modelStepPackSize(cell: number, L: number, H: number, V: number): number;
  modelStepPack(cell: number, H: number, V: number, layers: NativeStepLayer[], outWeight: F32, packed: F32): void;
  modelStepBind(
    ctx: NativeContext,
    isa: number,
    cell: number,
    B: number,
    H: number,
    V: number,
    table: F32,
    layers: NativeStepLayer[],
    outWeight: F32,
    outBias: F32,
    ids: Int32Array,
    logits: F32,
    scratch: F32,
    parallelMin: number,
    autotune: boolean,
    packed: F32,
  ): NativeStepPlan;
  modelStepRun(plan: NativeStepPlan): void;
  modelStepThreads(plan: NativeStepPlan): number;
}

/** Instruction sets of the step kernels, in the addon's numbering. */
const STEP_SIMD = ['generic', 'avx2-fma', 'avx512'] as const;
export type StepSimd = (typeof STEP_SIMD)[number];

/**
 * Weights read per model step (floats, times the streams) from which a model
 * step may use the kernels' threads: below it a step takes about what two cores
 * need to meet. Above it the plan measures one thread against all and keeps the
 * faster (native/src/step.c).
 */
export const STEP_PARALLEL_MIN = 100_000;

/** The native kernels, with what they run on. */
export interface NativeKernels extends Kernels<Float32Array> {
  /** Threads of the kernels' pool. */
  readonly threads: number;
  /** The matmul micro-kernel picked for this CPU (CHARRNN_NATIVE_SIMD=avx2|generic caps it, for comparisons). */
  readonly simd: 'avx512' | 'avx2-fma' | 'generic';
  /** The instruction set of the inference-step kernels (cellStep, bindModelStep). */
  readonly stepSimd: StepSimd;
  /** Threads the last bound model step runs on now (1 until one is bound). */
  readonly stepThreads: number;
  /** The native model step reads its weight matrices packed in panels of 16 rows (native/src/step.c); one copy per model. */
  packModelStep(args: ModelStepWeights<Float32Array>, into?: Float32Array): Float32Array;
}

/** How {@link loadNativeKernels} sets up the native engine: its threads and the tuning of its inference step. */
export interface NativeOptions {
  /** Threads for the kernels; default CHARRNN_THREADS, else the number of cores. */
  threads?: number;
  /** At most this instruction set for the step kernels (testing the fallbacks); default the best here. */
  stepSimd?: StepSimd;
  /** Floats of weights times streams from which a model step may use the threads; default STEP_PARALLEL_MIN. */
  stepParallelMin?: number;
  /**
   * Whether a model step that may use the threads measures one thread against
   * all and keeps the faster (default true); false runs every such step on all
   * threads (tests of the threaded path).
   */
  stepAutotune?: boolean;
}

const ADDON = path.join('native', 'build', 'Release', 'charrnn_native.node');
const CELL_CODE: Record<CellType, number> = { lstm: 0, gru: 1, rnn: 2 };

let addon: NativeAddon | null | undefined;
let unavailable: string | null = null;

/** The package root holds native/: src/node/ in a checkout run from source, dist/src/node/ once compiled. */
function addonPath(): string | null {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const candidate = path.join(dir, ADDON);
    if (existsSync(candidate)) return candidate;
    dir = path.dirname(dir);
  }
  return null;
}

function loadAddon(): NativeAddon | null {
  if (addon !== undefined) return addon;
  const file = addonPath();
  if (!file) {
    unavailable = `the native addon was not built (no ${ADDON}; \`npm run build:native\` builds it)`;
    addon = null;
    return addon;
  }
  try {
    addon = createRequire(import.meta.url)(file) as NativeAddon;
  } catch (e) {
    unavailable = `the native addon ${file} failed to load: ${e instanceof Error ? e.message : String(e)}`;
    addon = null;
  }
  return addon;
}

/** Why the native kernels are not available, or null when they load. */
export function nativeUnavailableReason(): string | null {
  loadAddon();
  return unavailable;
}

function threadCount(requested: number | undefined): number {
  const fromEnv = process.env.CHARRNN_THREADS;
  const n = requested ?? (fromEnv !== undefined && fromEnv !== '' ? Number(fromEnv) : availableParallelism());
  if (!Number.isInteger(n) || n < 1 || n > 256) {
    throw new RangeError(`thread count must be an integer from 1 to 256, got ${requested ?? `CHARRNN_THREADS=${fromEnv}`}`);
  }
  return n;
}

/**
 * The native kernels with their own thread pool, or null when the addon is not
 * available here (see nativeUnavailableReason).
 */
export function loadNativeKernels(options: NativeOptions = {}): NativeKernels | null {
  const lib = loadAddon();
  if (!lib) return null;
  const ctx = lib.createContext(threadCount(options.threads));
  const info = lib.contextInfo(ctx);
  const isa = Math.min(lib.stepIsa(), STEP_SIMD.indexOf(options.stepSimd ?? 'avx512'));
  const parallelMin = options.stepParallelMin ?? STEP_PARALLEL_MIN;
  const autotune = options.stepAutotune ?? true;
  let lastPlan: NativeStepPlan | null = null;

  // 64-byte aligned views: over-allocate, then start at the first aligned byte.
  const aligned = <T>(length: number, bytes: number, make: (buf: ArrayBuffer, offset: number, length: number) => T): T => {
    const buf = new ArrayBuffer(length * bytes + 64);
    return make(buf, lib.alignmentOffset(buf), length);
  };

  return {
    name: 'native',
    threads: info.threads,
    simd: (info.simd ?? (info.avx2 ? 'avx2-fma' : 'generic')) as NativeKernels['simd'],
    stepSimd: STEP_SIMD[isa],
    get stepThreads() {
      return lastPlan ? lib.modelStepThreads(lastPlan) : 1;
    },
    alloc: n => aligned(n, 4, (b, o, l) => new Float32Array(b, o, l)),
    allocInt: n => aligned(n, 4, (b, o, l) => new Int32Array(b, o, l)),
    matmul: (c, a, b, M, N, K, transA, transB, accumulate) => lib.matmul(ctx, c, a, b, M, N, K, transA, transB, accumulate),
    addBias: (y, bias, rows, cols) => lib.addBias(ctx, y, bias, rows, cols),
    sumRows: (dbias, dy, rows, cols) => lib.sumRows(ctx, dbias, dy, rows, cols),
    cellForward({ shape, weights: w, x, h0, c0, act }: CellForwardArgs<F32>) {
      lib.cellForward(
        ctx,
        CELL_CODE[shape.cell],
        shape.T,
        shape.B,
        shape.I,
        shape.H,
        w.wih,
        w.whh,
        w.bih,
        w.bhh,
        x,
        h0,
        c0,
        act.gates,
        act.aux,
        act.h,
      );
    },
    cellBackward(a: CellBackwardArgs<F32>) {
      const { shape, weights: w, act, grads: g, scratch: s } = a;
      lib.cellBackward(
        ctx,
        CELL_CODE[shape.cell],
        shape.T,
        shape.B,
        shape.I,
        shape.H,
        w.wih,
        w.whh,
        w.bih,
        w.bhh,
        a.x,
        a.h0,
        a.c0,
        act.gates,
        act.aux,
        act.h,
        a.dh,
        a.dhT,
        a.dcT,
        g.wih,
        g.whh,
        g.bih,
        g.bhh,
        a.dx,
        a.dh0,
        a.dc0,
        s.dgates,
        s.dgatesHidden,
        s.dhNext,
        s.dcNext,
      );
    },
    cellStep({ shape, weights: w, input, h, c, scratch }: CellStepArgs<F32>) {
      if (shape.T !== 1) throw new RangeError(`cellStep runs one time step, got T = ${shape.T}`);
      const table = 'table' in input ? input : null;
      lib.cellStep(
        ctx,
        isa,
        CELL_CODE[shape.cell],
        shape.B,
        shape.I,
        shape.H,
        w.wih,
        w.whh,
        w.bih,
        w.bhh,
        table ? null : (input as { x: F32 }).x,
        table?.table ?? null,
        table?.ids ?? null,
        h,
        c,
        scratch,
      );
    },
    packModelStep(a: ModelStepWeights<F32>, into?: F32) {
      const size = lib.modelStepPackSize(CELL_CODE[a.cell], a.layers.length, a.H, a.V);
      if (into !== undefined && into.length !== size)
        throw new RangeError(`packed weights of this model are ${size} floats, got ${into.length}`);
      const packed = into ?? aligned(size, 4, (b, o, l) => new Float32Array(b, o, l));
      const layers = a.layers.map((l): NativeStepLayer => ({ inputSize: l.inputSize, wih: l.weights.wih, whh: l.weights.whh }));
      lib.modelStepPack(CELL_CODE[a.cell], a.H, a.V, layers, a.outWeight, packed);
      return packed;
    },
    bindModelStep(a: ModelStepArgs<F32>) {
      if (a.packed === undefined) throw new RangeError("the native model step reads packed weights: pass packModelStep's buffer as packed");
      const layers = a.layers.map((l, i): NativeStepLayer => ({
        inputSize: l.inputSize,
        wih: l.weights.wih,
        whh: l.weights.whh,
        bih: l.weights.bih,
        bhh: l.weights.bhh,
        h: a.state[i].h,
        c: a.cell === 'lstm' ? a.state[i].c : null,
      }));
      if (a.state.length !== layers.length) throw new RangeError(`${layers.length} layers but ${a.state.length} states`);
      const plan = lib.modelStepBind(
        ctx,
        isa,
        CELL_CODE[a.cell],
        a.B,
        a.H,
        a.V,
        a.table,
        layers,
        a.outWeight,
        a.outBias,
        a.ids,
        a.logits,
        a.scratch,
        parallelMin,
        autotune,
        a.packed,
      );
      lastPlan = plan;
      // The closure keeps `a` (every buffer the plan points into) and the context alive as long as the plan.
      return () => {
        void a;
        lib.modelStepRun(plan);
      };
    },
    embeddingForward: (out, table, ids, n, dim) => lib.embeddingForward(ctx, out, table, ids, n, dim),
    embeddingBackward: (dTable, dOut, ids, n, dim) => lib.embeddingBackward(ctx, dTable, dOut, ids, n, dim),
    softmaxCrossEntropy: (logits, targets, rows, V, dLogits, gradScale) =>
      lib.softmaxCrossEntropy(ctx, logits, targets, rows, V, dLogits, gradScale),
    multiply: (out, x, mask, n) => lib.multiply(ctx, out, x, mask, n),
    sumSquares: (x, n) => lib.sumSquares(ctx, x, n),
    scale: (x, n, s) => lib.scale(ctx, x, n, s),
    adam: (param, grad, m, v, n, { lr, beta1, beta2, eps, step }: AdamArgs) =>
      lib.adam(ctx, param, grad, m, v, n, lr, beta1, beta2, eps, step),
    rmsprop: (param, grad, v, n, lr, alpha, eps) => lib.rmsprop(ctx, param, grad, v, n, lr, alpha, eps),
    sgd: (param, grad, buf, n, lr, momentum, first) => lib.sgd(ctx, param, grad, buf, n, lr, momentum, first),
  };
}
