// The wasm engine in a browser: threads on a pool of Web Workers when the page
// is cross-origin isolated (SharedArrayBuffer and Atomics.wait need it), one
// thread otherwise. The kernels' bytes are embedded in the module, so nothing
// is fetched.
import { loadWasmKernels, type WasmKernels, type WasmThreadSpawner } from '../kernels/wasm/index.js';

/** Most threads a page takes by default: training shares the machine with the page itself. */
const MAX_DEFAULT_THREADS = 4;

interface BrowserScope {
  crossOriginIsolated?: boolean;
  navigator?: { hardwareConcurrency?: number };
  document?: unknown;
}

const scope = globalThis as unknown as BrowserScope;

/** Whether this page (or worker) may share memory between threads. */
export function canUseThreads(): boolean {
  return scope.crossOriginIsolated === true && typeof SharedArrayBuffer === 'function' && typeof Worker === 'function';
}

/**
 * Starts each pool thread as a module worker on ./wasm-worker.js. A page's
 * main thread may not block in Atomics.wait, a worker's may: so a pool started
 * from a worker (the playground trains in one) sleeps between kernels like
 * Node's does, and one started from a page spins.
 */
export const browserWasmSpawner: WasmThreadSpawner = {
  mainThreadCanBlock: scope.document === undefined,
  spawn(init) {
    return new Promise((resolve, reject) => {
      const worker = new Worker(new URL('./wasm-worker.js', import.meta.url), { type: 'module', name: `charrnn-wasm-${init.thread}` });
      worker.onerror = e => {
        worker.terminate();
        reject(new Error(`a wasm worker failed to start: ${e.message}`));
      };
      worker.onmessage = () => {
        worker.onmessage = null;
        worker.onerror = null;
        resolve({ terminate: () => worker.terminate() });
      };
      worker.postMessage(init);
    });
  },
};

/**
 * Threads a browser gives the engine: `requested` when isolated (else 1), by
 * default the cores the browser reports, at most 4.
 */
export function browserThreadCount(requested?: number): number {
  if (!canUseThreads()) return 1;
  return requested ?? Math.max(1, Math.min(MAX_DEFAULT_THREADS, scope.navigator?.hardwareConcurrency ?? 1));
}

/** The wasm kernels for this page or worker: threaded when it is cross-origin isolated, one thread otherwise. */
export async function loadBrowserKernels(options: { threads?: number; relaxedSimd?: boolean } = {}): Promise<WasmKernels> {
  const threads = browserThreadCount(options.threads);
  return loadWasmKernels({ relaxedSimd: options.relaxedSimd, threads, spawner: threads > 1 ? browserWasmSpawner : undefined });
}
