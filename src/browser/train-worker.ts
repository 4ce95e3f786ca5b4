// The playground's training worker: runs one TrainingRun on the wasm engine
// (threads when the page is cross-origin isolated) and posts its events and
// model file to the page. Started as a module worker on this file.
import { CharrnnError } from '../errors.js';
import type { TrainingRun } from '../run/training-run.js';
import { loadBrowserKernels } from './kernels.js';
import { memoryStore } from './memory-store.js';
import type { FromTrainWorker, ToTrainWorker } from './train-worker-messages.js';
import { createFineTuneRun, createTrainingRun } from './training.js';

const scope = self as unknown as {
  onmessage: ((e: MessageEvent<ToTrainWorker>) => void) | null;
  postMessage(message: FromTrainWorker): void;
};
const post = (m: FromTrainWorker): void => scope.postMessage(m);
let run: TrainingRun | null = null;
let stopAsked = false;

scope.onmessage = e => {
  const m = e.data;
  if (m.type === 'stop') {
    stopAsked = true;
    run?.requestStop('stopped from the page');
    return;
  }
  if (m.type === 'train' && run === null) void train(m);
};

async function train(request: Extract<ToTrainWorker, { type: 'train' }>): Promise<void> {
  try {
    const kernels = await loadBrowserKernels({ threads: request.threads });
    post({ type: 'engine', threads: kernels.threads, variant: kernels.variant });
    const store = memoryStore((file, bytes) => {
      if (file === 'model') post({ type: 'file', file, bytes: bytes.slice() });
    });
    run = request.from ? await createFineTuneRun(request, kernels, store) : createTrainingRun(request, kernels, store);
    if (stopAsked) run.requestStop('stopped from the page');
    run.on(event => post({ type: 'event', event }));
    await run.train();
    await kernels.dispose();
  } catch (error) {
    const userError = error instanceof CharrnnError;
    post({ type: 'error', message: error instanceof Error ? error.message : String(error), userError });
  }
  post({ type: 'done' });
}
