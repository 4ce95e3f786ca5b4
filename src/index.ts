// charrnn's main entry: what an application needs. A model handle to load,
// generate, stream and score; a training run from a text and its settings,
// with typed events; the errors; reading text in any encoding; the run
// reports a face draws. Platform-neutral (no Node built-ins, no DOM), so the
// same code runs in Node and in a browser. Everything an engine builder needs
// (kernels, layers, the model, trainer, batchers, generators) is in
// 'charrnn/engine'; Node's files, corpora and native engine in 'charrnn/node';
// the browser's workers and page helpers in 'charrnn/browser'.

// Errors: every message is one sentence saying what is wrong.
export { CharrnnError } from './errors.js';
export { GenerateOptionsError } from './generate/options.js';
export { DecodeError } from './text/decoder.js';

// The model handle.
export { CharRnnModel, type ModelSource, type LoadOptions, type GenerateOutput, type CharProbability } from './generate/char-rnn-model.js';
export { DEFAULT_LENGTH, MAX_LENGTH, type GenerateOptions } from './generate/options.js';
export { DEFAULT_MAX_LINE, type LineOptions } from './generate/line-options.js';
export type { FinishReason, GenerationUsage } from './generate/generator.js';
export type { TextScore, LinesScore } from './train/evaluate.js';
export type { TraceOptions, TracedValue, TraceChunk, TextTrace, LayerTrace } from './explain/trace.js';
export type { ExplainOptions } from './explain/explain-text.js';
export type { PatternFeature } from './explain/text-features.js';
export type {
  Explanation,
  ShownChar,
  UnitRef,
  UnitKind,
  UnitCorrelation,
  FeatureUnits,
  GateSaturation,
  Passage,
  ClassSurprise,
} from './explain/explanation.js';
export type { LineModelInfo } from './model/line-model.js';
export type { LineSet } from './text/line-set.js';
export type { ModelConfig } from './model/config.js';
export type { CellType } from './kernels/kernels.js';

// Training: a run from a text and settings, its plan, its rules, its events and stop limits.
export { TrainingRun, type RunOptions, type RunStore } from './run/training-run.js';
export type { DecodedCheckpoint, RunRecord } from './train/checkpoint.js';
export { trainingText, type TrainingText } from './run/training-text.js';
export type { LineCorpus } from './data/line-corpus.js';
export { DEFAULT_SETTINGS, DEFAULT_EPOCHS, type RunSettings, type ScheduleEnd, type StopLimits } from './run/settings.js';
export { budgetRecipe, type BudgetRecipe, type BudgetRecipeOptions } from './run/budget-recipe.js';
export { planRun, type PlanOptions, type RunPlan, type RecipeWhen } from './run/plan-run.js';
export type { MachineMemory } from './train/memory-estimate.js';
export { checkSettings } from './run/check-settings.js';
export { SettingError, type SettingName, type SettingNames } from './run/setting-error.js';
export { eventToJson, type RunEvent, type RunEventType, type SavedFile, type StopReason } from './run/events.js';
export type {
  RunPosition,
  ConfigEvent,
  StepEvent,
  ValidationEvent,
  SampleEvent,
  SavedEvent,
  StoppedEvent,
  NoteEvent,
  ResultEvent,
} from './run/events.js';

// Reading text: any encoding, Unicode normalisation, corpora too big for one string.
export { decodeText, type DecodeOptions, type InvalidPolicy } from './text/decoder.js';
export { normalizeText, type Normalization } from './text/normalize.js';
export { CorpusEncoder, type CorpusIds, type EncodedText, type EncoderOptions } from './text/corpus-encoder.js';
export { Vocabulary, type EncodeResult, type UnknownPolicy } from './text/vocabulary.js';

// Reports of a run: its progress line, its log, its loss plot and a corpus's report (vega-lite specs).
export { ProgressTracker, progressLine, eventLine, formatDuration, type Progress } from './report/progress.js';
export { parseRunLog, runHistory, type RunLog } from './report/log.js';
export { lossPlotData, lossPlotSpec, type LossPlotData, type LossPoint, type TrainingPoint, type PlotSize } from './report/loss-plot.js';
export {
  corpusReport,
  type CorpusReport,
  type CorpusReportOptions,
  type CharCount,
  type LineStats,
  type LengthBin,
  type SplitCheck,
} from './report/corpus-report.js';
export { corpusPlotSpec } from './report/corpus-plot.js';
