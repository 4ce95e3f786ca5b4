// charrnn/engine: the pieces an engine builder or researcher works with, below
// the main entry's model handle and training run. The kernel interface and its
// reference and WebAssembly implementations, the model and its parameters, the
// model file format, the trainer, optimizers and schedules, the batchers of
// both training modes, and the generators. Platform-neutral, like the main entry.

// Kernels: one interface, every engine joins the same conformance suite.
export { IGNORE_TARGET, type CellType, type FloatArray, type Kernels } from './kernels/kernels.js';
export type {
  CellShape,
  CellWeights,
  CellActivations,
  CellScratch,
  CellForwardArgs,
  CellBackwardArgs,
  CellStepArgs,
  StepInput,
  ModelStepArgs,
  ModelStepWeights,
  AdamArgs,
} from './kernels/kernels.js';
export { referenceKernels } from './kernels/reference/index.js';
export { loadWasmKernels, type WasmKernels, type WasmOptions, type WasmVariant } from './kernels/wasm/index.js';
export type { WasmThreadSpawner, WasmWorkerHandle, WasmWorkerInit } from './kernels/wasm/pool.js';
export { runWasmWorker } from './kernels/wasm/worker.js';

// The model, its parameters and its file.
export { CharRNN, type ModelState, type ForwardOptions } from './model/charrnn.js';
export type { LayerState } from './layers/recurrent.js';
export { DEFAULT_MODEL, type ModelConfig } from './model/config.js';
export { Parameters, parameterSpecs, type ParameterSpec } from './model/parameters.js';
export { encodeSafetensors, decodeSafetensors, type Tensor, type NamedTensor, type StoredDtype } from './model/safetensors.js';
export { MODEL_FORMAT, encodeModel, decodeModel, loadModel, type DecodedModel } from './model/model-file.js';
export { lineModelInfo, lineModelMetadata, type LineModelInfo } from './model/line-model.js';

// Data: the two training modes' batchers and the held-out split.
export { StreamBatcher, evaluationChunks, windowChunks, type TokenIds, type StreamState, type EvalChunk } from './data/streams.js';
export type { Batcher, BatcherState, Chunk } from './data/batcher.js';
export { LineBatcher } from './data/line-batcher.js';
export { EOL, MAX_LINE_LENGTH, splitLines, encodeLines, type LineExamples, type TextLines } from './data/line-examples.js';
export { splitCorpus, spreadSplit, holdOut, type HeldOut, type ValSplit } from './data/split.js';

// Training: the trainer, its optimizers and schedules, and scoring.
export { Trainer, validationLoss, withEvaluationWeights, type TrainingConfig, type StepResult } from './train/trainer.js';
export { Optimizer, clipGradNorm, DEFAULT_OPTIMIZER, type OptimizerConfig, type OptimizerName } from './train/optimizer.js';
export { learningRateAt, plannedSteps, type LearningRateSchedule, type ScheduleName, type Replan } from './train/schedule.js';
export { WeightAverage } from './train/average.js';
export { lineLoss, type LineLoss } from './train/line-loss.js';
export { scoreText, scoreLines, type TextScore, type LinesScore } from './train/evaluate.js';
export { trainingMemory, generationMemory, parameterCount, type MemoryEstimate, type TrainingShape } from './train/memory-estimate.js';

// Generation: a batch of streams stepping together, and the request generators on it.
export { GenerationBatch, GenerationStream } from './generate/generation-batch.js';
export { parseGenerateOptions, type GenerateSettings, type OptionNames } from './generate/options.js';
export { createGenerator } from './generate/create-generator.js';
export type { TextGenerator, GenerationResult } from './generate/generator.js';
export { chooseNext, type SamplingRule } from './generate/decoding.js';

// Seeded randomness, the same stream in every engine.
export { Random } from './util/random.js';
