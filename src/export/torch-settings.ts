// The settings table of `charrnn export-torch`: for every setting a run can
// have, the entries it gives settings.json, the data the PyTorch program
// (python/train_torch.py, copied unchanged) reads and branches on. A setting the
// table does not know is refused with a sentence naming it, so a run is never
// exported with part of its math silently dropped; supporting a new setting is
// one row here and, where the program must do something new, a branch there
// (and its name in the program's SETTING_NAMES). Platform-neutral.
import type { ValSplit } from '../data/split.js';
import { CharrnnError, WordedError } from '../errors.js';
import { checkLineSplit, checkWeightDecay } from '../run/check-settings.js';
import { SettingError, type SettingNames } from '../run/setting-error.js';
import { DEFAULT_OPTIMIZER, type OptimizerName } from '../train/optimizer.js';

/** The files export-torch writes beside the run's text. */
export const TORCH_PROGRAM_NAME = 'train_torch.py';
export const TORCH_LAUNCHER_NAME = 'run.sh';
export const TORCH_SETTINGS_NAME = 'settings.json';
/** A line model's metadata entries (lines, lines_seen) for the model files the program saves. */
export const LINE_METADATA_FILE = 'lines.json';
/** settings.json's "format": the program refuses a file of another. */
export const TORCH_SETTINGS_FORMAT = 'charrnn-torch-settings/1';

/** The run's math as train_torch.py reads it (snake_case, as Python names it). */
export interface TorchSettings {
  cell: 'lstm' | 'gru' | 'rnn';
  layers: number;
  hidden: number;
  emb: number;
  /** After every recurrent layer (0: none), and on the embedding's output. */
  dropout: number;
  emb_dropout: number;
  /** Line mode: batches of whole lines, each from a zero state. */
  lines: boolean;
  batch: number;
  seq: number;
  optimizer: OptimizerName;
  /** charrnn's fixed optimizer constants (Adam's betas and eps, RMSprop's alpha, SGD's momentum). */
  betas: [number, number];
  alpha: number;
  momentum: number;
  eps: number;
  /** AdamW's decoupled decay on the weight matrices (0: plain Adam). */
  weight_decay: number;
  lr: number;
  /** The gradient norm's clip (0: none). */
  clip: number;
  /** The moving average of the weights that validation and the model files use (0: none). */
  ema: number;
  /** Linear warm-up steps; the schedule counts from their end. */
  warmup: number;
  lr_schedule: 'constant' | 'step' | 'cosine';
  lr_decay: number;
  lr_decay_every: number;
  lr_min: number;
  /** The cosine's length after warm-up. */
  cosine_steps: number;
  /** A deadline schedule's re-plans, [step, new end] counted after warm-up. */
  replans: [number, number][];
  val_split: 'tail' | 'spread';
  val_frac: number;
  val_every: number;
  val_max_chars: number;
  patience: number;
  checkpoint_every: number;
  seed: number;
}

/** What the run is and where its text lies, beside the program: the rest of settings.json. */
export interface TorchRunFiles {
  /** For people reading settings.json: "a 1x32 LSTM on corpus.txt". */
  summary: string;
  /** Where the text came from (files or a corpus name), as the model files' metadata says it. */
  corpus: string;
  /** The run folder, relative to the program's folder: the default of --resume. */
  run_folder: string;
  /** The file holding the training text's ids: '<u2' or '<u4' little-endian, ids_count of them. */
  ids_file: string;
  ids_dtype: '<u2' | '<u4';
  ids_count: number;
  /** The run's text fingerprint (checkpoint.ts `fingerprint`), checked against the checkpoint. */
  text_hash: string;
  /** Line mode: the end-of-line's id and the file of the line model's metadata entries (null otherwise). */
  eol_id: number | null;
  lines_file: string | null;
}

type Settings = Readonly<Record<string, unknown>>;

interface SettingRule {
  /** The entries the setting gives the program (absent: none, because `note` says why). */
  apply?(value: unknown, settings: Settings): Partial<TorchSettings>;
  note?: string;
}

const py = (v: unknown): string => JSON.stringify(v);
/** A setting the program takes as it is, under its Python name. */
const as =
  (name: keyof TorchSettings) =>
  (v: unknown): Partial<TorchSettings> => ({ [name]: v });

const CELLS = ['lstm', 'gru', 'rnn'];
const OPTIMIZERS: readonly OptimizerName[] = ['adam', 'rmsprop', 'sgd'];

/** The run's learning-rate schedule after warm-up (runs from before schedules: step decay). */
const scheduleOf = (s: Settings): unknown => s.lrSchedule ?? 'step';

/** Every setting charrnn train saves in a checkpoint today, and what it becomes in settings.json. */
export const TORCH_SETTINGS: Readonly<Record<string, SettingRule>> = {
  corpus: { note: 'the embedded corpus the run trains on: its text travels as ids, and corpus names it in the model files' },
  lines: {
    apply(v, s) {
      // The run layer's rule (a checkpoint that breaks it was not written by charrnn train), not one of its own.
      // A split the program does not know is valSplit's row's refusal.
      const split = s.valSplit ?? 'tail';
      if (split === 'tail' || split === 'spread') keepsRunRule(() => checkLineSplit({ lines: v === true, valSplit: split as ValSplit }));
      return { lines: v === true };
    },
  },
  encoding: { note: 'how the text files were read: the text travels as ids, read with it' },
  invalid: { note: 'see encoding' },
  normalize: { note: 'see encoding (the model files keep the form for primes)' },
  maxVocab: { note: 'see encoding: the unknown symbol is one more id' },
  cell: {
    apply(v) {
      if (!CELLS.includes(v as string)) throw new CharrnnError(`The run's cell ${py(v)} is not one PyTorch has (lstm, gru, rnn).`);
      return { cell: v as TorchSettings['cell'] };
    },
  },
  layers: { apply: as('layers') },
  hidden: { apply: as('hidden') },
  emb: { apply: as('emb') },
  dropout: { apply: as('dropout') },
  batch: { apply: as('batch') },
  seq: { apply: as('seq') },
  optimizer: {
    apply(v) {
      if (!OPTIMIZERS.includes(v as OptimizerName))
        throw new CharrnnError(`The run's optimizer ${py(v)} has no PyTorch counterpart here (adam, rmsprop, sgd).`);
      return { optimizer: v as OptimizerName };
    },
  },
  lr: { apply: as('lr') },
  clip: { apply: as('clip') },
  // The learning rate as schedule.ts `learningRateAt` has it: warm-up first, then the schedule counted from its end.
  warmup: {
    apply(v) {
      if (v === 0) return {};
      if (!(Number.isInteger(v) && Number(v) > 0))
        throw new CharrnnError(`The run's warm-up ${py(v)} is not a whole number of steps, so it is not exported.`);
      return { warmup: v as number };
    },
  },
  // A deadline schedule's re-plans (src/train/schedule.ts cosinePhase), which hold from the first one on.
  scheduleReplans: {
    apply(v, s) {
      if (!Array.isArray(v) || v.length === 0) return {};
      if (scheduleOf(s) !== 'cosine')
        throw new CharrnnError(`The run re-planned a ${py(scheduleOf(s))} schedule, which only a cosine can be, so it is not exported.`);
      const warmup = Number(s.warmup ?? 0);
      const replans = (v as unknown[]).map((r): [number, number] => {
        const { at, totalSteps } = (r ?? {}) as { at?: unknown; totalSteps?: unknown };
        if (!(Number.isInteger(at) && Number.isInteger(totalSteps) && Number(at) >= warmup && Number(totalSteps) > Number(at))) {
          throw new CharrnnError(
            `The run's schedule re-plan ${py(r)} is not a step after warm-up with a later end, so it is not exported.`,
          );
        }
        return [Number(at) - warmup, Number(totalSteps) - warmup];
      });
      return { replans };
    },
  },
  lrDecay: { apply: as('lr_decay') },
  lrDecayEvery: { apply: as('lr_decay_every') },
  lrSchedule: {
    apply(v, s) {
      if (v === 'step' || v === 'constant') return { lr_schedule: v };
      if (v !== 'cosine')
        throw new CharrnnError(
          `The run's learning-rate schedule ${py(v)} is not one export-torch knows (constant, step, cosine), so it is not exported.`,
        );
      const span = Number(s.scheduleSteps ?? 0) - Number(s.warmup ?? 0);
      if (!(Number.isInteger(span) && span > 0)) {
        throw new WordedError(
          n =>
            `The run's cosine schedule has no steps after its warm-up (${n('scheduleSteps')} ${py(s.scheduleSteps ?? 0)}), so it is not exported.`,
        );
      }
      return { lr_schedule: 'cosine', cosine_steps: span };
    },
  },
  lrMin: { apply: (v, s) => (scheduleOf(s) === 'cosine' ? { lr_min: v as number } : {}) },
  scheduleSteps: { note: "the cosine's length, warm-up included: lrSchedule's row gives cosine_steps, the steps after warm-up" },
  scheduleEnd: {
    note: 'how the run planned its cosine; the curve it followed is scheduleSteps with scheduleReplans, which the program follows (it does not re-plan to its own --minutes)',
  },
  weightDecay: {
    apply(v, s) {
      if (v === 0) return {};
      if (!(Number(v) > 0)) throw new CharrnnError(`The run's weight decay ${py(v)} is not a positive number, so it is not exported.`);
      keepsRunRule(() => checkWeightDecay({ weightDecay: v as number, optimizer: (s.optimizer ?? 'adam') as OptimizerName }));
      return { weight_decay: v as number };
    },
  },
  embDropout: { apply: as('emb_dropout') },
  ema: {
    apply(v) {
      if (v === 0) return {};
      if (!(Number(v) > 0 && Number(v) < 1))
        throw new WordedError(n => `The run's ${n('ema')} ${py(v)} is not between 0 and 1, so it is not exported.`);
      return { ema: v as number };
    },
  },
  valSplit: {
    apply(v) {
      if (v !== 'tail' && v !== 'spread')
        throw new WordedError(
          n => `The run's ${n('valSplit')} ${py(v)} is not one export-torch knows (tail, spread), so it is not exported.`,
        );
      return { val_split: v };
    },
  },
  valFrac: { apply: as('val_frac') },
  valEvery: { apply: as('val_every') },
  valMaxChars: { apply: as('val_max_chars') },
  patience: { apply: as('patience') },
  checkpointEvery: { apply: as('checkpoint_every') },
  seed: { apply: as('seed') },
  sampleEvery: { note: 'samples are for people watching charrnn train; the program draws none' },
  sampleLength: { note: 'see sampleEvery' },
  sampleTemperature: { note: 'see sampleEvery' },
  samplePrime: { note: 'see sampleEvery' },
  steps: { note: "a stop limit: the program takes the run's own unless --steps, --epochs, --seconds or --minutes is given" },
  epochs: { note: 'a stop limit (see steps)' },
  seconds: { note: 'a stop limit (see steps)' },
};

/** Settings the program needs that older checkpoints may lack: what charrnn did before they existed. */
const DEFAULTS: Settings = {
  lines: false,
  lrDecay: 1,
  lrDecayEvery: 0,
  clip: 5,
  valFrac: 0.1,
  valEvery: 500,
  valMaxChars: 0,
  patience: 0,
  checkpointEvery: 500,
  dropout: 0,
  optimizer: 'adam',
  seed: 1,
};

const { beta1, beta2, alpha, momentum, eps } = DEFAULT_OPTIMIZER;
/** The entries of a run with none of the training techniques: what a setting the run lacks (or has off) leaves. */
const OFF: Omit<TorchSettings, 'cell' | 'layers' | 'hidden' | 'emb' | 'batch' | 'seq' | 'lr'> = {
  dropout: 0,
  emb_dropout: 0,
  lines: false,
  optimizer: 'adam',
  betas: [beta1, beta2],
  alpha,
  momentum,
  eps,
  weight_decay: 0,
  clip: 5,
  ema: 0,
  warmup: 0,
  lr_schedule: 'step',
  lr_decay: 1,
  lr_decay_every: 0,
  lr_min: 0,
  cosine_steps: 0,
  replans: [],
  val_split: 'tail',
  val_frac: 0.1,
  val_every: 500,
  val_max_chars: 0,
  patience: 0,
  checkpoint_every: 500,
  seed: 1,
};

/**
 * A saved run that breaks one of the run layer's rules, refused with that
 * rule's sentence in flag words: the export has no rule of its own for it.
 */
function keepsRunRule(check: () => void): void {
  try {
    check();
  } catch (e) {
    if (!(e instanceof SettingError)) throw e;
    // Said in the words of whoever reads it, as the run layer's own sentence is: the CLI's flags, the library's names.
    throw new WordedError<string>(
      n => `The run's settings break a rule of charrnn train, so it is not exported: ${e.in(n as SettingNames)}`,
    );
  }
}

/** The program's settings for a run's saved settings; a setting the table does not know is refused by name. */
export function torchSettings(saved: Settings, source: string): TorchSettings {
  const settings: Settings = { ...DEFAULTS, corpus: null, ...saved };
  const unknown = Object.keys(settings).filter(k => !Object.hasOwn(TORCH_SETTINGS, k));
  if (unknown.length > 0) {
    throw new WordedError(
      n =>
        `The run in ${source} uses ${unknown.map(k => `${n(k)} ${py(settings[k])}`).join(', ')}, ` +
        'which export-torch cannot carry over to PyTorch yet, so it is not exported.',
    );
  }
  for (const k of ['cell', 'layers', 'hidden', 'emb', 'batch', 'seq', 'lr']) {
    if (settings[k] === undefined)
      throw new WordedError(n => `The run in ${source} does not record its ${n(k)}, so it cannot be exported.`);
  }
  let out = { ...OFF } as TorchSettings;
  for (const [k, rule] of Object.entries(TORCH_SETTINGS)) {
    if (k in settings && rule.apply) out = { ...out, ...rule.apply(settings[k], settings) };
  }
  return out;
}

/** settings.json: the run's settings and files, as the program reads them. */
export function torchSettingsFile(settings: TorchSettings, files: TorchRunFiles): string {
  return `${JSON.stringify({ format: TORCH_SETTINGS_FORMAT, ...files, ...settings }, null, 2)}\n`;
}
