import { availableParallelism, freemem, totalmem } from 'node:os';
import { maximumPages } from '../kernels/wasm/generated/binaries.js';
import type { MachineMemory } from '../train/memory-estimate.js';

const WASM_PAGE = 65536;

/** This machine's memory (its container's limit when there is one) and the limit of the backend in use. */
export function machineMemory(backend: string): MachineMemory {
  let total = totalmem();
  // A cgroup limit (docker --memory) is what the kernel enforces; without one Node reports a huge number.
  const limit = process.constrainedMemory?.() ?? 0;
  if (limit > 0 && limit < total) total = limit;
  const available = Math.min(freemem(), total);
  return { total, available, ...(backend === 'wasm' ? { engineLimit: { bytes: maximumPages * WASM_PAGE, engine: 'wasm' } } : {}) };
}

/** Threads an engine may use here, each with its own scratch. */
export function engineThreads(): number {
  return availableParallelism();
}
