// The settings -> program table of `charrnn export-torch`: for every setting a
// run can have, what it puts into the PyTorch program. A setting the table does
// not know is refused with a sentence naming it, so a run is never exported
// with part of its math silently dropped; supporting a new setting is one row
// here (and, when it needs a new place in the program, one slot). Platform-neutral.
import { CharrnnError } from '../errors.js';
import { DEFAULT_OPTIMIZER, type OptimizerName } from '../train/optimizer.js';

/** The places in the program that settings fill; each is a list of Python lines. */
export interface ProgramParts {
  /** NAME = value lines at the top. */
  constants: string[];
  /** The recurrent layers' class (nn.LSTM, nn.GRU, nn.RNN) and its extra arguments. */
  rnnClass: string;
  rnnArgs: string[];
  /** CharRNN.__init__ lines after the embedding, recurrent and output layers. */
  modelInit: string[];
  /** forward lines after x = self.emb(ids), x [T, B, EMB]. */
  afterEmbedding: string[];
  /** forward lines after y, state = self.rnn(x, state), y [T, B, HIDDEN]. */
  afterRecurrent: string[];
  /** The torch.optim class, its arguments, the names of its per-parameter state that charrnn keeps as
   *  train.optimizer.first / second, and whether that state counts steps. */
  optimizerClass: string;
  optimizerArgs: string[];
  moments: { first: string; second: string | null; counted: boolean };
  /** learning_rate(steps_done) body lines between `lr = LR` and `return lr`. */
  learningRate: string[];
}

type Settings = Readonly<Record<string, unknown>>;

interface SettingRule {
  /** What the setting puts into the program (absent: nothing, because `note` says why). */
  apply?(parts: ProgramParts, value: unknown, settings: Settings): void;
  note?: string;
  /** The one value the program carries (a training technique it does not translate yet, exported only when off). */
  off?: unknown;
}

const py = (v: unknown): string => JSON.stringify(v);
const constant = (name: string) => (p: ProgramParts, v: unknown): void => { p.constants.push(`${name} = ${py(v)}`); };

const CELLS: Record<string, string> = { lstm: 'nn.LSTM', gru: 'nn.GRU', rnn: 'nn.RNN' };
const { beta1, beta2, alpha, momentum, eps } = DEFAULT_OPTIMIZER;
const OPTIMIZERS: Record<OptimizerName, Pick<ProgramParts, 'optimizerClass' | 'optimizerArgs' | 'moments'>> = {
  adam: { optimizerClass: 'torch.optim.Adam', optimizerArgs: [`betas=(${beta1}, ${beta2})`, `eps=${eps}`], moments: { first: 'exp_avg', second: 'exp_avg_sq', counted: true } },
  rmsprop: { optimizerClass: 'torch.optim.RMSprop', optimizerArgs: [`alpha=${alpha}`, `eps=${eps}`], moments: { first: 'square_avg', second: null, counted: true } },
  sgd: { optimizerClass: 'torch.optim.SGD', optimizerArgs: [`momentum=${momentum}`], moments: { first: 'momentum_buffer', second: null, counted: false } },
};

/** Every setting charrnn train saves in a checkpoint today, and what it becomes in the program (rows apply in this order). */
export const TORCH_SETTINGS: Readonly<Record<string, SettingRule>> = {
  corpus: { note: 'the embedded corpus the run trains on: its text travels as ids, and CORPUS names it in the model files' },
  lines: {
    apply(_p, v) {
      // Line mode's batches of padded lines and its held-out lines are not in the program yet.
      if (v === true) throw new CharrnnError('The run trains on lines (--lines), which the PyTorch program of export-torch does not do yet, so it is not exported.');
    },
    note: 'false: the run trains on streams of running text, as the program does',
  },
  encoding: { note: 'how the text files were read: the text travels as ids, read with it' },
  invalid: { note: 'see encoding' },
  normalize: { note: 'see encoding (the model files keep the form for primes)' },
  maxVocab: { note: 'see encoding: the unknown symbol is one more id' },
  cell: {
    apply(p, v) {
      p.constants.push(`CELL = ${py(v)}`);
      const cls = CELLS[String(v)];
      if (cls === undefined) throw new CharrnnError(`The run's cell ${py(v)} is not one PyTorch has (lstm, gru, rnn).`);
      p.rnnClass = cls;
    },
  },
  layers: { apply: constant('LAYERS') },
  hidden: { apply: constant('HIDDEN') },
  emb: { apply: constant('EMB') },
  dropout: {
    apply(p, v, s) {
      p.constants.push(`DROPOUT = ${py(v)}`);
      if (Number(v) === 0) return;
      // charrnn drops out after every recurrent layer: nn.LSTM's own dropout is between layers, one more after the last.
      if (Number(s.layers) > 1) p.rnnArgs.push('dropout=DROPOUT');
      p.modelInit.push('self.drop = nn.Dropout(DROPOUT)  # after the last layer (the recurrent module drops out between layers)');
      p.afterRecurrent.push('y = self.drop(y)');
    },
  },
  batch: { apply: constant('BATCH') },
  seq: { apply: constant('SEQ') },
  optimizer: {
    apply(p, v) {
      const o = OPTIMIZERS[v as OptimizerName];
      if (o === undefined) throw new CharrnnError(`The run's optimizer ${py(v)} has no PyTorch counterpart here (adam, rmsprop, sgd).`);
      Object.assign(p, { ...o, optimizerArgs: [...o.optimizerArgs] });
    },
  },
  lr: { apply: constant('LR') },
  clip: { apply: constant('CLIP') },
  lrDecay: {
    apply(p, v, s) {
      p.constants.push(`LR_DECAY = ${py(v)}`);
      if (Number(v) !== 1 && Number(s.lrDecayEvery) > 0) p.learningRate.push('lr *= LR_DECAY ** (steps_done // LR_DECAY_EVERY)  # step decay');
    },
  },
  lrDecayEvery: { apply: constant('LR_DECAY_EVERY') },
  valFrac: { apply: constant('VAL_FRAC') },
  valEvery: { apply: constant('VAL_EVERY') },
  valMaxChars: { apply: constant('VAL_MAX_CHARS') },
  patience: { apply: constant('PATIENCE') },
  checkpointEvery: { apply: constant('CHECKPOINT_EVERY') },
  seed: { apply: constant('SEED') },
  // The training techniques (README, Training techniques): the program does not translate them yet, so a run exports only with them off.
  lrSchedule: { off: 'step', note: 'exported as step decay only (lrDecay, lrDecayEvery)' },
  warmup: { off: 0, note: 'not translated yet: exported only without warm-up' },
  lrMin: { off: 0, note: 'belongs to a cosine schedule (not translated yet)' },
  scheduleSteps: { off: 0, note: 'belongs to a cosine schedule (not translated yet)' },
  weightDecay: { off: 0, note: 'not translated yet (AdamW with the weight matrices in their own group)' },
  ema: { off: 0, note: 'not translated yet (AveragedModel)' },
  embDropout: { off: 0, note: 'not translated yet (nn.Dropout after the embedding)' },
  valSplit: { off: 'tail', note: 'not translated yet: the program holds out the tail' },
  sampleEvery: { note: 'samples are for people watching charrnn train; the program draws none' },
  sampleLength: { note: 'see sampleEvery' },
  sampleTemperature: { note: 'see sampleEvery' },
  samplePrime: { note: 'see sampleEvery' },
  steps: { note: 'a stop limit: the program takes the run\'s own unless --steps, --epochs, --seconds or --minutes is given' },
  epochs: { note: 'a stop limit (see steps)' },
  seconds: { note: 'a stop limit (see steps)' },
};

/** Settings the program needs that older checkpoints may lack: what charrnn did before they existed. */
const DEFAULTS: Settings = {
  lrDecay: 1, lrDecayEvery: 0, clip: 5, valFrac: 0.1, valEvery: 500, valMaxChars: 0, patience: 0, checkpointEvery: 500, dropout: 0, optimizer: 'adam', seed: 1,
};

/** The program parts for a run's settings; a setting the table does not know is refused by name. */
export function programParts(saved: Settings, source: string): ProgramParts {
  const settings: Settings = { ...DEFAULTS, corpus: null, ...saved };
  const on = Object.keys(settings).filter(k => TORCH_SETTINGS[k]?.off !== undefined && settings[k] !== TORCH_SETTINGS[k].off);
  if (on.length > 0) {
    const flags = on.map(k => `--${k.replace(/[A-Z]/g, c => `-${c.toLowerCase()}`)} ${py(settings[k])}`).join(', ');
    throw new CharrnnError(`The run in ${source} uses ${flags}, which export-torch cannot carry over to PyTorch yet, so it is not exported.`);
  }
  const unknown = Object.keys(settings).filter(k => !Object.hasOwn(TORCH_SETTINGS, k));
  if (unknown.length > 0) {
    const flags = unknown.map(k => `--${k.replace(/[A-Z]/g, c => `-${c.toLowerCase()}`)} ${py(settings[k])}`).join(', ');
    throw new CharrnnError(`The run in ${source} uses ${flags}, which export-torch cannot carry over to PyTorch yet, so it is not exported.`);
  }
  for (const k of ['cell', 'layers', 'hidden', 'emb', 'batch', 'seq', 'lr']) {
    if (settings[k] === undefined) throw new CharrnnError(`The run in ${source} does not record its --${k}, so it cannot be exported.`);
  }
  const parts: ProgramParts = {
    constants: [], rnnClass: '', rnnArgs: [], modelInit: [], afterEmbedding: [], afterRecurrent: [],
    ...OPTIMIZERS.adam, learningRate: [],
  };
  for (const [k, rule] of Object.entries(TORCH_SETTINGS)) if (k in settings && k !== 'corpus') rule.apply?.(parts, settings[k], settings);
  return parts;
}
