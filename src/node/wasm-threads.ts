// Node's side of the wasm backend's threads: workers from node:worker_threads,
// and the thread count (CHARRNN_THREADS, else the cores Node reports). The
// engine's pool (src/kernels/wasm/pool.ts) does the rest.
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { loadWasmKernels, type WasmKernels, type WasmOptions, type WasmThreadSpawner } from '../kernels/wasm/index.js';
import { enableWasmFeatures } from './wasm-flags.js';

/**
 * Starts each worker on ./wasm-worker.js with the module and memory as
 * workerData. Workers are unref'd: a pool never keeps the process alive, so a
 * CLI exits when its work is done without having to dispose the kernels.
 */
export const nodeWasmSpawner: WasmThreadSpawner = {
  mainThreadCanBlock: true,
  spawn(init) {
    return new Promise((resolve, reject) => {
      // execArgv: [] because the worker runs this package's own script: Node options of the parent
      // (--input-type, --eval) would not apply to it. V8's flags are the process's, set already.
      const worker = new Worker(new URL('./wasm-worker.js', import.meta.url), { workerData: init, execArgv: [] });
      worker.unref();
      worker.once('error', reject);
      worker.once('message', () => {
        worker.off('error', reject);
        // No 'message' listener from here on: one would keep the process alive. A job that
        // throws is reported by the pool, which fails the call; the worker prints the detail.
        // An 'error' listener does not hold the process; the pool sees the failure through ABORT.
        worker.on('error', () => {});
        resolve({ terminate: () => worker.terminate() });
      });
    });
  },
};

/** Threads for the wasm kernels: `requested`, else CHARRNN_THREADS, else the cores this process may use. */
export function wasmThreadCount(requested?: number): number {
  const fromEnv = process.env.CHARRNN_THREADS;
  const n = requested ?? (fromEnv !== undefined && fromEnv !== '' ? Number(fromEnv) : availableParallelism());
  if (!Number.isInteger(n) || n < 1 || n > 256) {
    throw new RangeError(`thread count must be an integer from 1 to 256, got ${requested ?? `CHARRNN_THREADS=${fromEnv}`}`);
  }
  return n;
}

/** The wasm kernels on Node: engine flags set, and as many threads as wasmThreadCount says. */
export async function loadNodeWasmKernels(options: Omit<WasmOptions, 'spawner'> = {}): Promise<WasmKernels> {
  enableWasmFeatures();
  return loadWasmKernels({ ...options, threads: wasmThreadCount(options.threads), spawner: nodeWasmSpawner });
}
