import { CharrnnError } from '../errors.js';
import type { Kernels } from '../kernels/kernels.js';
import { referenceKernels } from '../kernels/reference/index.js';
import { loadNativeKernels, nativeUnavailableReason } from './native-kernels.js';
import { loadNodeWasmKernels } from './wasm-threads.js';

/** The engines {@link loadKernels} accepts by name, 'auto' (the fastest that loads) first: what --backend and CHARRNN_BACKEND take. */
export const BACKENDS = ['auto', 'native', 'wasm', 'reference'] as const;
/** One of {@link BACKENDS}. */
export type BackendChoice = (typeof BACKENDS)[number];

let warnedNative = false;

/**
 * The kernels to run on: the one asked for (flag, else CHARRNN_BACKEND), or by
 * default the fastest that loads here: native C, then WebAssembly. When the
 * native addon did not build, auto says so once and goes on with wasm.
 */
export async function loadKernels(choice?: string, warn: (message: string) => void = () => {}): Promise<Kernels<Float32Array>> {
  const wanted = (choice ?? (process.env.CHARRNN_BACKEND || 'auto')) as BackendChoice;
  if (!BACKENDS.includes(wanted)) throw new CharrnnError(`Unknown backend '${wanted}': choose one of ${BACKENDS.join(', ')}.`);
  if (wanted === 'reference') return referenceKernels('f32');
  if (wanted === 'native' || wanted === 'auto') {
    const native = loadNativeKernels();
    if (native) return native;
    if (wanted === 'native')
      throw new CharrnnError(`The native backend is not available here (${nativeUnavailableReason()}); use --backend wasm.`);
    if (!warnedNative) {
      warnedNative = true;
      warn(`native kernels unavailable (${nativeUnavailableReason()}); using WebAssembly`);
    }
  }
  return loadNodeWasmKernels();
}

/** The fast backends that load on this machine, fastest first (the reference backend is the specification, not a contender). */
export async function availableBackends(): Promise<string[]> {
  return loadNativeKernels() ? ['native', 'wasm'] : ['wasm'];
}
