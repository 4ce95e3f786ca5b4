// charrnn's library API: platform-neutral (no Node imports), so the same code
// runs in Node and in a browser. Node-only helpers (files, corpora, the native
// backend) live under src/node.
export { CharrnnError } from './errors.js';
export { Vocabulary } from './text/vocabulary.js';
export { decodeText } from './text/utf8.js';
export { splitCorpus, spreadSplit, holdOut, type HeldOut, type ValSplit } from './data/split.js';
export { StreamBatcher, evaluationChunks, windowChunks } from './data/streams.js';
export type { CellType, FloatArray, Kernels } from './kernels/kernels.js';
export { referenceKernels } from './kernels/reference/index.js';
export { loadWasmKernels, type WasmKernels, type WasmOptions } from './kernels/wasm/index.js';
export type { WasmThreadSpawner, WasmWorkerHandle, WasmWorkerInit } from './kernels/wasm/pool.js';
export { runWasmWorker } from './kernels/wasm/worker.js';
export { CharRNN, type ModelState, type ForwardOptions } from './model/charrnn.js';
export { DEFAULT_MODEL, type ModelConfig } from './model/config.js';
export { Parameters, parameterSpecs, type ParameterSpec } from './model/parameters.js';
export { encodeSafetensors, decodeSafetensors } from './model/safetensors.js';
export { MODEL_FORMAT, encodeModel, decodeModel, loadModel } from './model/model-file.js';
export { Optimizer, clipGradNorm, decayedLearningRate, isDecayed, DEFAULT_OPTIMIZER, type OptimizerConfig, type OptimizerName } from './train/optimizer.js';
export { learningRateAt, checkSchedule, plannedSteps, stepDecaySchedule, type LearningRateSchedule, type ScheduleName } from './train/schedule.js';
export { WeightAverage } from './train/average.js';
export { chooseRecipe, estimateSpeed, parameterCount, costPerChar, type Recipe, type RecipeInput, type RecipeSettings, type MeasuredSpeed } from './run/recipe.js';
export { Trainer, validationLoss, withEvaluationWeights, type TrainingConfig, type StepResult } from './train/trainer.js';
export { runTraining, type RunLimits, type RunHooks, type RunSummary, type ProgressReport, type ValidationReport } from './train/loop.js';
export { scoreText, type TextScore } from './train/evaluate.js';
export { generate, sample, sampleBatch, type SampleOptions } from './sample/sampler.js';
export type { SamplingRule } from './sample/choose.js';
export { Random } from './util/random.js';
