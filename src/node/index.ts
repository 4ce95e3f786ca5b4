// charrnn's Node entry ('charrnn/node'): what only Node can do — read files and
// the embedded corpus, write atomically, load the native addon — and the backend
// choice the CLI uses. Everything platform-neutral is in the main entry.
export { loadKernels, availableBackends, BACKENDS, type BackendChoice } from './backend.js';
export { loadNativeKernels, nativeUnavailableReason, type NativeKernels, type NativeOptions } from './native-kernels.js';
export { enableWasmFeatures } from './wasm-flags.js';
export { loadNodeWasmKernels, nodeWasmSpawner, wasmThreadCount } from './wasm-threads.js';
export { loadCorpus, readCorpus, EMBEDDED_CORPORA, type Corpus, type EncodedCorpus, type TextOptions, type ReadCorpusOptions } from './corpus.js';
export { machineMemory } from './memory.js';
export { readBytes, writeFileAtomic } from './files.js';
export { writeLossPlot, readRunLog, type LossPlotFiles } from './loss-plot.js';
export { renderSvg, svgToPng } from './render.js';
export { CharRnnModel, type NodeLoadOptions } from './model.js';
