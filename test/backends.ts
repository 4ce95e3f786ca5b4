// The float32 backends every kernel and parity test runs against. Each fast
// backend adds itself here; the reference backend is the specification.
import type { Kernels } from '../src/kernels/kernels.js';
import { referenceKernels } from '../src/kernels/reference/index.js';
import { loadWasmKernels } from '../src/kernels/wasm/index.js';
import { enableWasmFeatures } from '../src/node/wasm-flags.js';
import { loadNativeKernels } from '../src/node/native-kernels.js';
import { loadNodeWasmKernels } from '../src/node/wasm-threads.js';

export interface BackendUnderTest {
  kernels: Kernels<Float32Array>;
  /** Largest relative error allowed against float64 / PyTorch references. */
  tolerance: number;
}

export async function backendsUnderTest(): Promise<BackendUnderTest[]> {
  const list: BackendUnderTest[] = [{ kernels: referenceKernels('f32'), tolerance: 1e-5 }];
  enableWasmFeatures(); // the relaxed-SIMD build where Node needs the flag for it
  list.push({ kernels: await loadWasmKernels(), tolerance: 1e-4 });
  // The wasm kernels on a 2-thread pool (test/wasm-threads.test.ts checks them bit for bit against one thread).
  list.push({ kernels: { ...(await loadNodeWasmKernels({ threads: 2 })), name: 'wasm (2 threads)' }, tolerance: 1e-4 });
  const native = loadNativeKernels(); // null when the addon was not built here
  if (native) list.push({ kernels: native, tolerance: 1e-4 });
  return list;
}
