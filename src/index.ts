// charrnn's library API: platform-neutral (no Node imports), so the same code
// runs in Node and in a browser. Node-only helpers (files, corpora, the native
// backend) live under src/node.
export { CharrnnError } from './errors.js';
export { Vocabulary } from './text/vocabulary.js';
export { decodeText, ChunkDecoder, DecodeError, encodingName, type DecodeOptions, type InvalidPolicy } from './text/decoder.js';
export { CorpusEncoder, type CorpusIds, type EncodedText, type EncoderOptions } from './text/corpus-encoder.js';
export { normalizeText, ChunkNormalizer, DEFAULT_NORMALIZATION, type Normalization } from './text/normalize.js';
export { primeInModelForm, type PrimeInModelForm } from './text/prime.js';
export { trainingMemory, generationMemory, checkMemory, parameterCount, type MemoryEstimate, type MachineMemory } from './train/memory.js';
export { splitCorpus, spreadSplit, holdOut, type HeldOut, type ValSplit } from './data/split.js';
export { StreamBatcher, evaluationChunks, windowChunks } from './data/streams.js';
export type { Batcher, BatcherState, Chunk } from './data/batcher.js';
export { EOL, MAX_LINE_LENGTH, splitLines, encodeLines, holdOutLines, type LineExamples, type TextLines } from './data/line-examples.js';
export { LineBatcher, linePadding, writeLineBatch } from './data/line-batcher.js';
export { lineCorpus, type LineCorpus } from './data/line-corpus.js';
export { LineSet, lineHash, normaliseLine } from './text/line-set.js';
export { IGNORE_TARGET, type CellType, type FloatArray, type Kernels } from './kernels/kernels.js';
export { referenceKernels } from './kernels/reference/index.js';
export { loadWasmKernels, type WasmKernels, type WasmOptions } from './kernels/wasm/index.js';
export type { WasmThreadSpawner, WasmWorkerHandle, WasmWorkerInit } from './kernels/wasm/pool.js';
export { runWasmWorker } from './kernels/wasm/worker.js';
export { CharRNN, type ModelState, type ForwardOptions } from './model/charrnn.js';
export { DEFAULT_MODEL, type ModelConfig } from './model/config.js';
export { Parameters, parameterSpecs, type ParameterSpec } from './model/parameters.js';
export { encodeSafetensors, decodeSafetensors } from './model/safetensors.js';
export { MODEL_FORMAT, encodeModel, decodeModel, loadModel } from './model/model-file.js';
export { lineModelInfo, lineModelMetadata, type LineModelInfo } from './model/line-model.js';
export { Optimizer, clipGradNorm, decayedLearningRate, isDecayed, DEFAULT_OPTIMIZER, type OptimizerConfig, type OptimizerName } from './train/optimizer.js';
export { learningRateAt, checkSchedule, plannedSteps, stepDecaySchedule, type LearningRateSchedule, type ScheduleName } from './train/schedule.js';
export { WeightAverage } from './train/average.js';
export { measureSpeeds, type ProbeModel, type ProbeOptions } from './run/probe.js';
export { budgetRecipe, probeModels, probeSeconds, type BudgetRecipe, type BudgetRecipeOptions } from './run/budget-recipe.js';
export { chooseRecipe, estimateSpeed, costPerChar, type Recipe, type RecipeInput, type RecipeSettings, type MeasuredSpeed } from './run/recipe.js';
export { Trainer, validationLoss, withEvaluationWeights, type TrainingConfig, type StepResult } from './train/trainer.js';
export { lineLoss, lineLossPass, lineValidationLoss, type LineLoss } from './train/line-loss.js';
export { TrainingRun, prepareTraining, WARMUP_STEPS, SAMPLE_LINES, type EncodedCorpus, type RunStore, type RunOptions } from './run/run.js';
export { withLines } from './run/corpus.js';
export { DEFAULT_SETTINGS, DEFAULT_EPOCHS, resumedSettings, type RunSettings, type StopLimits } from './run/settings.js';
export { eventToJson, type RunEvent, type RunEventType, type SavedFile, type StopReason } from './run/events.js';
export { ProgressTracker, progressLine, eventLine, formatDuration, type Progress } from './report/progress.js';
export { scoreText, scoreLines, type TextScore, type LinesScore } from './train/evaluate.js';
export { generate, sample, sampleBatch, type SampleOptions } from './sample/sampler.js';
export { StreamBatch, BatchStream } from './generate/batch.js';
export { inputTable, packedStepWeights } from './generate/table.js';
export { chooseNext, DEFAULT_RULE, type SamplingRule } from './generate/decoding.js';
export { StopMatcher, END_OF_LINE } from './generate/stop.js';
export { encodePrime } from './generate/prime.js';
export {
  parseGenerateOptions, GenerateOptionsError, DEFAULT_LENGTH, MAX_LENGTH,
  type GenerateOptions, type GenerateSettings, type OptionNames,
} from './generate/options.js';
export { createGenerator } from './generate/create.js';
export { sampleLines, type LineRequest, type LineSamplingOptions, type SampledLines } from './generate/lines.js';
export { SamplingGenerator, type TextGenerator, type GenerationResult, type GenerationUsage, type FinishReason } from './generate/generator.js';
export { BeamSearch } from './generate/beam.js';
export { CharRnnModel, type ModelSource, type LoadOptions, type GenerateOutput, type CharProbability } from './generate/handle.js';
export { Random } from './util/random.js';
export { parseRunLog, jsonToEvent, runHistory, type RunLog } from './report/log.js';
export { lossPlotData, lossPlotSpec, type LossPlotData, type LossPoint, type PlotSize } from './report/loss-plot.js';
export { corpusReport, describeChar, type CorpusReport, type CorpusReportOptions, type CharCount, type LengthBin } from './report/corpus.js';
export { corpusPlotSpec } from './report/corpus-plot.js';
