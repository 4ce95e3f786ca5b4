// Entry point of one wasm worker thread on Node (started by ./wasm-threads.ts):
// the platform-neutral loop of src/kernels/wasm/worker.ts, fed from workerData.
import { parentPort, workerData } from 'node:worker_threads';
import type { WasmWorkerInit } from '../kernels/wasm/pool.js';
import { runWasmWorker } from '../kernels/wasm/worker.js';

const port = parentPort;
if (port === null) throw new Error('wasm-worker.js runs as a worker thread, started by src/node/wasm-threads.ts');
const init = workerData as WasmWorkerInit;
await runWasmWorker(
  init,
  () => port.postMessage('ready'),
  error =>
    process.stderr.write(
      `charrnn: wasm worker ${init.thread}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    ),
);
