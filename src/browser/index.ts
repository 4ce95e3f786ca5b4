// charrnn in a browser: the whole platform-neutral library (the main entry)
// with the browser's parts: the wasm engine on Web Workers, a memory store
// for runs, file reading, a training run from a page, and a client of
// `charrnn serve`. No Node built-ins; bundled as dist/browser/charrnn.js.
export * from '../index.js';
export { loadBrowserKernels, browserWasmSpawner, browserThreadCount, canUseThreads } from './kernels.js';
export { memoryStore, type MemoryStore } from './memory-store.js';
export { readTextFile, readBytes, type NamedBlob } from './files.js';
export { createTrainingRun, createFineTuneRun, TRAIN_PRESETS, type TrainRequest, type TrainSize } from './training.js';
export type { ToTrainWorker, FromTrainWorker } from './train-worker-messages.js';
export { pageSentence, PAGE_SKIP_ADVICE, SKIP_UNKNOWN_LABEL } from './page-words.js';
export { serverModels, serverStream, type ServerModel, type ServerGenerateRequest } from './server.js';
