// A worker thread of the wasm engine's pool in a browser: the module the
// browser spawner starts (./kernels.ts). It sets up its instance from the
// posted WasmWorkerInit, says 'ready', then runs jobs until the pool quits.
import { runWasmWorker } from '../kernels/wasm/worker.js';
import type { WasmWorkerInit } from '../kernels/wasm/pool.js';

const scope = self as unknown as { onmessage: ((e: MessageEvent<WasmWorkerInit>) => void) | null; postMessage(message: unknown): void };
scope.onmessage = e => {
  scope.onmessage = null;
  void runWasmWorker(
    e.data,
    () => scope.postMessage('ready'),
    error => console.error('charrnn wasm worker:', error),
  );
};
