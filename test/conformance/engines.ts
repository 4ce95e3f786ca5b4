// The engines the conformance suite runs over: every backend, at every
// instruction path and thread count this machine can execute. A new backend (or
// a new path of one) joins the suite with one entry here.
//
// The native addon picks its matmul and cell kernels once per process
// (CHARRNN_NATIVE_SIMD caps the choice), so its capped paths run in processes of
// their own: each entry names its process, and each process has its test file
// (test/conformance*.test.ts) that sets that environment first.
import type { FloatArray, Kernels } from '../../src/kernels/kernels.js';
import { referenceKernels } from '../../src/kernels/reference/index.js';
import { loadWasmKernels, relaxedSimdSupported } from '../../src/kernels/wasm/index.js';
import { loadNativeKernels, nativeUnavailableReason, type NativeKernels, type StepSimd } from '../../src/node/native-kernels.js';
import { enableWasmFeatures } from '../../src/node/wasm-flags.js';
import { loadNodeWasmKernels } from '../../src/node/wasm-threads.js';

/** The environment each process of the suite runs in. */
export const PROCESSES = {
  main: { CHARRNN_NATIVE_SIMD: undefined },
  'native-avx2': { CHARRNN_NATIVE_SIMD: 'avx2' },
  'native-generic': { CHARRNN_NATIVE_SIMD: 'generic' },
} as const satisfies Record<string, Record<string, string | undefined>>;
export type ProcessName = keyof typeof PROCESSES;

/** Why an engine cannot run here: its tests skip, saying this. */
export class Unavailable {
  constructor(readonly reason: string) {}
}

export interface Engine {
  /** Its name in test titles and in the error table. */
  name: string;
  process: ProcessName;
  /** The kernels, or why they cannot run on this machine. Throws when they must run and cannot. */
  load(): Promise<Kernels<FloatArray> | Unavailable>;
  /**
   * An engine whose results this one reproduces bit for bit (the same arithmetic
   * split differently between threads, or the same FMA chains at another
   * vector width): 'all' of them, or only 'training' (forward and backward).
   */
  sameBitsAs?: { engine: string; what: 'all' | 'training' };
}

export const ENGINES: Engine[] = [
  { name: 'reference-f64', process: 'main', load: async () => referenceKernels('f64') },
  { name: 'reference-f32', process: 'main', load: async () => referenceKernels('f32') },
  { name: 'wasm-simd', process: 'main', load: () => wasm(false, 1) },
  { name: 'wasm-simd x2', process: 'main', load: () => wasm(false, 2), sameBitsAs: { engine: 'wasm-simd', what: 'all' } },
  { name: 'wasm-relaxed', process: 'main', load: () => wasm(true, 1) },
  { name: 'wasm-relaxed x3', process: 'main', load: () => wasm(true, 3), sameBitsAs: { engine: 'wasm-relaxed', what: 'all' } },
  { name: 'native-avx512', process: 'main', load: async () => native('avx512', 1) },
  {
    name: 'native-avx512 x2',
    process: 'main',
    load: async () => native('avx512', 2),
    sameBitsAs: { engine: 'native-avx512', what: 'all' },
  },
  {
    name: 'native-avx512 x3',
    process: 'main',
    load: async () => native('avx512', 3),
    sameBitsAs: { engine: 'native-avx512', what: 'all' },
  },
  {
    name: 'native-avx2',
    process: 'native-avx2',
    load: async () => native('avx2-fma', 1),
    sameBitsAs: { engine: 'native-avx512', what: 'training' },
  },
  {
    name: 'native-avx2 x2',
    process: 'native-avx2',
    load: async () => native('avx2-fma', 2),
    sameBitsAs: { engine: 'native-avx2', what: 'all' },
  },
  { name: 'native-generic', process: 'native-generic', load: async () => native('generic', 1) },
  {
    name: 'native-generic x2',
    process: 'native-generic',
    load: async () => native('generic', 2),
    sameBitsAs: { engine: 'native-generic', what: 'all' },
  },
];

export function engine(name: string): Engine {
  const e = ENGINES.find(x => x.name === name);
  if (!e) throw new Error(`no engine ${name} in test/conformance/engines.ts`);
  return e;
}

async function wasm(relaxed: boolean, threads: number): Promise<Kernels<FloatArray> | Unavailable> {
  enableWasmFeatures();
  if (relaxed && !relaxedSimdSupported()) return new Unavailable('this JavaScript engine does not validate the relaxed-SIMD build');
  const k = threads === 1 ? await loadWasmKernels({ relaxedSimd: relaxed }) : await loadNodeWasmKernels({ relaxedSimd: relaxed, threads });
  if (k.variant !== (relaxed ? 'relaxed-simd' : 'simd'))
    throw new Error(`asked for the ${relaxed ? 'relaxed-SIMD' : 'SIMD'} build, got ${k.variant}`);
  return k;
}

/**
 * The native kernels on `threads` threads, their matmul, cell and step kernels
 * all at `isa`. Several threads: every model step on all of them, however small
 * (stepParallelMin 0, no autotuning), so the threaded step is what runs.
 */
function native(isa: StepSimd, threads: number): Kernels<FloatArray> | Unavailable {
  const k: NativeKernels | null =
    threads === 1
      ? loadNativeKernels({ threads: 1, stepSimd: isa })
      : loadNativeKernels({ threads, stepSimd: isa, stepParallelMin: 0, stepAutotune: false });
  if (!k) {
    const why = `the native addon is not available: ${nativeUnavailableReason()}`;
    // CI has a compiler: there a missing addon is a failure, not a skip.
    if (process.env.CHARRNN_REQUIRE_NATIVE === '1') throw new Error(`${why} (CHARRNN_REQUIRE_NATIVE=1)`);
    return new Unavailable(why);
  }
  if (k.simd !== isa || k.stepSimd !== isa) {
    return new Unavailable(`this CPU runs native at ${k.simd} at most (no ${isa} here)`);
  }
  return k;
}

/**
 * The float32 engines of this process that run on this machine, loaded: what
 * the tests of code built on the kernels (generation) run over, so that a new
 * engine joins them too. The ones that cannot run here are left out; the
 * suite reports them as skips.
 */
export async function float32Engines(): Promise<{ name: string; kernels: Kernels<Float32Array> }[]> {
  const here = ENGINES.filter(e =>
    Object.entries(PROCESSES[e.process] as Record<string, string | undefined>).every(([key, v]) => process.env[key] === v),
  );
  const loaded: { name: string; kernels: Kernels<Float32Array> }[] = [];
  for (const e of here) {
    const k = await e.load();
    if (!(k instanceof Unavailable) && k.alloc(1) instanceof Float32Array)
      loaded.push({ name: e.name, kernels: k as Kernels<Float32Array> });
  }
  return loaded;
}
