// A training run as a page starts one: text and a size preset in, a
// TrainingRun out. Platform-neutral (the page runs it in a Web Worker, see
// ./train-worker.ts); the math and the run's rules are the run layer's.
import { CharrnnError } from '../errors.js';
import type { Kernels } from '../kernels/kernels.js';
import { startingModel } from '../run/fine-tune.js';
import { planRun } from '../run/plan-run.js';
import { TrainingRun, type RunStore } from '../run/training-run.js';
import { normalizeText } from '../text/normalize.js';
import { SettingError, type SettingName, type SettingNames } from '../run/setting-error.js';
import { DEFAULT_SETTINGS, type RunSettings } from '../run/settings.js';
import { trainingText } from '../run/training-text.js';

/** The model sizes a page offers (see {@link TRAIN_PRESETS}): 'small' learns within a minute on one thread, 'medium' is the CLI's default model. */
export type TrainSize = 'small' | 'medium';

/**
 * The sizes a page offers. small learns within a minute on one thread (a
 * 1x64 LSTM on short chunks); medium is the CLI's default model (2x128).
 * Validation and samples come often, so a chart and samples show progress early.
 */
export const TRAIN_PRESETS: Record<TrainSize, RunSettings> = {
  small: {
    ...DEFAULT_SETTINGS,
    cell: 'lstm',
    layers: 1,
    hidden: 64,
    emb: 32,
    batch: 16,
    seq: 32,
    lr: 3e-3,
    valEvery: 50,
    valMaxChars: 20_000,
    checkpointEvery: 50,
    sampleLength: 160,
    sampleTemperature: 0.8,
  },
  medium: {
    ...DEFAULT_SETTINGS,
    batch: 32,
    seq: 64,
    lr: 2e-3,
    valEvery: 100,
    valMaxChars: 50_000,
    checkpointEvery: 100,
    sampleLength: 200,
    sampleTemperature: 0.8,
  },
};

/** What a page asks to train, for {@link createTrainingRun} (and, as a 'train' message, the training worker). */
export interface TrainRequest {
  /** The text to learn. */
  text: string;
  /** Where it came from (a file name, "the pasted text"), for messages and the model file. */
  source: string;
  /** The model size and training settings, a preset. */
  size: TrainSize;
  /** Wall-clock budget in seconds, final validation and save included. */
  seconds: number;
  /** Seed of the run (default the CLI's). */
  seed?: number;
  /**
   * Fine-tune: the model file the run starts from (one the user opened, or a
   * base model the server serves) and its name; the run keeps its size, and the
   * recipe plans the fine-tune for the time (see {@link createFineTuneRun}).
   */
  from?: { bytes: Uint8Array; name: string };
}

/**
 * Builds the run a page asked for; a refused setting or text (the run layer's
 * rules: an empty or too short text among them, said in the page's words)
 * throws a CharrnnError (one sentence).
 */
export function createTrainingRun(request: TrainRequest, kernels: Kernels<Float32Array>, store: RunStore): TrainingRun {
  const preset = TRAIN_PRESETS[request.size];
  if (preset === undefined) throw new CharrnnError(`There is no size '${String(request.size)}'; choose small or medium.`);
  const settings: RunSettings = { ...preset, seed: request.seed ?? preset.seed };
  try {
    const corpus = trainingText(request.text, request.source);
    return new TrainingRun({ corpus, settings, limits: { seconds: request.seconds }, kernels, store, names: pageNames(request.size) });
  } catch (e) {
    throw e instanceof SettingError ? e.said(pageNames(request.size)) : e;
  }
}

/**
 * Builds the fine-tuning run a page asked for (`request.from`): the model
 * decoded (a file that is no model is one sentence), the text put in its
 * normalisation form, and the run planned as `charrnn train --from MODEL
 * --seconds S` plans it (the model's size; the recipe's fine-tune). A refused
 * setting or text is a CharrnnError in the page's words.
 */
export async function createFineTuneRun(request: TrainRequest, kernels: Kernels<Float32Array>, store: RunStore): Promise<TrainingRun> {
  const preset = TRAIN_PRESETS[request.size];
  if (preset === undefined) throw new CharrnnError(`There is no size '${String(request.size)}'; choose small or medium.`);
  if (request.from === undefined) throw new CharrnnError('A fine-tuning run needs the model it starts from.');
  const names = pageNames(request.size);
  const limits = { seconds: request.seconds };
  try {
    const from = startingModel(request.from.bytes, request.from.name);
    const text = trainingText(normalizeText(request.text, from.model.vocab.normalization), request.source);
    const settings: RunSettings = { ...preset, seed: request.seed ?? preset.seed };
    const plan = await planRun({ text, settings, given: {}, limits, recipe: 'auto', resumed: false, kernels, from, names });
    return new TrainingRun({ ...plan, limits, kernels, store, names, from });
  } catch (e) {
    throw e instanceof SettingError ? e.said(names) : e;
  }
}

/** The page's words for the settings in a refusal (it offers sizes, each a preset of settings). */
export function pageNames(size: TrainSize): SettingNames {
  const words: Partial<Record<SettingName, string>> = {
    batch: `the ${size} size's batch`,
    seq: `the ${size} size's chunk length`,
    valFrac: 'the validation share',
    timeBudget: 'a time',
    seconds: 'a time',
    text: 'some text (paste it, or drop a text file)',
    from: 'the starting model',
  };
  return setting => words[setting] ?? setting;
}
