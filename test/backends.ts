// The float32 backends every kernel and parity test runs against. Each fast
// backend adds itself here; the reference backend is the specification.
import type { Kernels } from '../src/kernels/kernels.js';
import { referenceKernels } from '../src/kernels/reference/index.js';
import { loadNativeKernels } from '../src/node/native-kernels.js';

export interface BackendUnderTest {
  kernels: Kernels<Float32Array>;
  /** Largest relative error allowed against float64 / PyTorch references. */
  tolerance: number;
}

export async function backendsUnderTest(): Promise<BackendUnderTest[]> {
  const list: BackendUnderTest[] = [{ kernels: referenceKernels('f32'), tolerance: 1e-5 }];
  const native = loadNativeKernels(); // null when the addon was not built here
  if (native) list.push({ kernels: native, tolerance: 1e-4 });
  return list;
}
