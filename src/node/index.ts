// charrnn's Node entry ('charrnn/node'): what only Node can do — read files and
// the embedded corpora, write atomically, keep a run in a folder, load the
// native engine — and the main entry's model handle, which reads a path once
// this entry is imported. Everything platform-neutral is in the main entry.
import { fileURLToPath } from 'node:url';
import { setModelLoading } from '../generate/char-rnn-model.js';
import { loadKernels } from './backend.js';
import { modelFile } from './base-models.js';
import { readBytes } from './files.js';

// A path, or a base model's name (CharRnnModel.load('english')).
setModelLoading({
  readPath: path => readBytes(typeof path === 'string' ? modelFile(path) : fileURLToPath(path)),
  kernels: backend => loadKernels(backend),
});

export { CharRnnModel } from '../generate/char-rnn-model.js';
export { loadKernels, availableBackends, BACKENDS, type BackendChoice } from './backend.js';
export { loadNativeKernels, nativeUnavailableReason, type NativeKernels, type NativeOptions } from './native-kernels.js';
export { readCorpus, EMBEDDED_CORPORA, type LoadedCorpus, type TextOptions, type ReadCorpusOptions } from './read-corpus.js';
export { folderStore } from './run-folder.js';
export { baseModelNames, baseModelFile, readStartingModel, BASE_MODELS_ENV, type StartingModelFile } from './base-models.js';
export { machineMemory } from './machine.js';
export type { MachineMemory } from '../train/memory-estimate.js';
export { readBytes, writeFileAtomic } from './files.js';
export { writeLossPlot, readRunLog, type LossPlotFiles } from './plot-files.js';
