import { Command, Option } from 'commander';
import { join } from 'node:path';
import { LineBatcher } from '../data/line-batcher.js';
import { lineCorpus } from '../data/line-corpus.js';
import { EOL } from '../data/line-examples.js';
import { splitCorpus } from '../data/split.js';
import { CharrnnError } from '../errors.js';
import type { CellType } from '../kernels/kernels.js';
import { CharRNN } from '../model/charrnn.js';
import { DEFAULT_MODEL } from '../model/config.js';
import { lineModelMetadata } from '../model/line-model.js';
import { encodeModel } from '../model/model-file.js';
import { loadKernels } from '../node/backend.js';
import { loadCorpus } from '../node/corpus.js';
import { ensureFolder, readBytes, writeFileAtomic } from '../node/files.js';
import { sample, sampleBatch } from '../sample/sampler.js';
import { Vocabulary } from '../text/vocabulary.js';
import { decodeCheckpoint, encodeCheckpoint, fingerprint } from '../train/checkpoint.js';
import { runTraining, type ProgressReport, type ValidationReport } from '../train/loop.js';
import { DEFAULT_OPTIMIZER, type OptimizerName } from '../train/optimizer.js';
import { lineValidationLoss } from '../train/line-loss.js';
import { Trainer } from '../train/trainer.js';
import { dropoutRate, fraction, nonNegativeInt, nonNegativeNumber, positiveInt, positiveNumber, seedValue } from './options.js';
import { action } from './run.js';

interface TrainFlags {
  corpus?: string;
  lines?: boolean;
  cell: CellType;
  layers: number;
  hidden: number;
  emb: number;
  dropout: number;
  batch: number;
  seq: number;
  lr: number;
  clip: number;
  optimizer: OptimizerName;
  lrDecay: number;
  lrDecayEvery: number;
  steps?: number;
  epochs?: number;
  seconds?: number;
  valEvery: number;
  valFrac: number;
  checkpointEvery: number;
  printEvery: number;
  seed: number;
  out: string;
  json?: boolean;
  backend?: string;
  sampleLength: number;
  sampleTemperature: number;
  resume?: boolean;
}

/** Flags that define a run; a resumed run keeps the values it started with. */
const RUN_SETTINGS = ['corpus', 'lines', 'cell', 'layers', 'hidden', 'emb', 'dropout', 'batch', 'seq', 'lr', 'clip', 'optimizer', 'lrDecay',
  'lrDecayEvery', 'valFrac', 'valEvery', 'checkpointEvery', 'seed'] as const;
/** Stop limits: a resumed run keeps them unless new ones are given. */
const STOP_LIMITS = ['steps', 'epochs', 'seconds'] as const;

const DEFAULT_EPOCHS = 10;

export function trainCommand(): Command {
  return new Command('train')
    .description('train a model on UTF-8 text files (or an embedded corpus) and save it as safetensors')
    .argument('[files...]', 'UTF-8 text files, joined in order')
    .option('--corpus <name>', 'train on an embedded corpus instead of files: moby-dick, or names (a list: implies --lines)')
    .option('--lines', 'line mode: each non-empty line is one example, from a fresh state to a learned end-of-line (--seq is not used)')
    .addOption(new Option('--cell <type>', 'recurrent cell').choices(['lstm', 'gru', 'rnn']).default(DEFAULT_MODEL.cell))
    .option('--layers <n>', 'stacked recurrent layers', positiveInt, DEFAULT_MODEL.layers)
    .option('--hidden <n>', 'hidden units per layer', positiveInt, DEFAULT_MODEL.hidden)
    .option('--emb <n>', 'embedding size', positiveInt, DEFAULT_MODEL.emb)
    .option('--dropout <p>', 'dropout after each recurrent layer', dropoutRate, DEFAULT_MODEL.dropout)
    .option('--batch <n>', 'streams per batch', positiveInt, 50)
    .option('--seq <n>', 'steps per chunk (truncated BPTT length)', positiveInt, 50)
    .option('--lr <rate>', 'learning rate', positiveNumber, DEFAULT_OPTIMIZER.lr)
    .option('--clip <norm>', 'global gradient-norm limit (0: none)', nonNegativeNumber, 5)
    .addOption(new Option('--optimizer <name>', 'optimizer').choices(['adam', 'rmsprop', 'sgd']).default('adam'))
    .option('--lr-decay <factor>', 'multiply the learning rate by this every --lr-decay-every steps', positiveNumber, 1)
    .option('--lr-decay-every <steps>', 'steps between learning-rate decays (0: never)', nonNegativeInt, 0)
    .addOption(new Option('--steps <n>', 'stop after this many steps').argParser(positiveInt).conflicts('epochs'))
    .addOption(new Option('--epochs <n>', `stop after this many passes over the text (default ${DEFAULT_EPOCHS})`).argParser(positiveNumber))
    .option('--seconds <s>', 'stop after this much training time', positiveNumber)
    .option('--val-every <steps>', 'validate every N steps (0: only at the end)', nonNegativeInt, 500)
    .option('--val-frac <f>', 'fraction of the text held out for validation', fraction, 0.1)
    .option('--checkpoint-every <steps>', 'save the latest model every N steps (0: at validations and the end)', nonNegativeInt, 500)
    .option('--print-every <steps>', 'print progress every N steps', positiveInt, 10)
    .option('--seed <n>', 'random seed: the same seed, flags and data give the same model', seedValue, 1)
    .option('--out <dir>', 'folder for model.safetensors (latest) and best.safetensors', 'runs/latest')
    .option('--sample-length <n>', 'characters to sample from the model at the end (0: none)', nonNegativeInt, 200)
    .option('--sample-temperature <t>', 'temperature of that sample', positiveNumber, 0.8)
    .option('--backend <name>', 'auto, native, wasm or reference (default: CHARRNN_BACKEND, else auto)')
    .option('--resume', 'continue the run saved in --out exactly where it stopped (same text; its settings are kept)')
    .option('--json', 'print one JSON object per line instead of text')
    .action(action(train));
}

async function train(files: string[], given: TrainFlags, command: Command): Promise<void> {
  const checkpointPath = join(given.out, 'checkpoint.safetensors');
  const checkpoint = given.resume ? decodeCheckpoint(readBytes(checkpointPath), checkpointPath) : null;
  const flags = checkpoint ? resumedFlags(given, checkpoint.run.settings, command) : given;
  const log = (line: string): void => { process.stdout.write(line + '\n'); };
  const emit = (obj: object): void => log(JSON.stringify(obj));
  const note = (message: string): void => { process.stderr.write(`charrnn: ${message}\n`); };

  const corpus = loadCorpus(files, flags.corpus);
  // Line mode (--lines, or a list corpus): whole lines held out, batches of whole lines.
  const lines = flags.lines || corpus.lines ? lineCorpus(corpus.text, corpus.source, flags.valFrac, flags.seed) : null;
  const vocab = lines ? lines.vocab : Vocabulary.fromText(corpus.text);
  const ids = lines ? lines.ids : vocab.encode(corpus.text).ids;
  // In line mode the streams' split is unused: its empty `val` stands for "no validation" when no line is held out.
  const { train, val } = splitCorpus(ids, lines ? 0 : flags.valFrac);
  // Said here rather than by the batcher, which sees only the training split.
  const needed = flags.batch * flags.seq + 1;
  if (!lines && train.length < needed) {
    throw new CharrnnError(`The text is too short for --batch ${flags.batch} and --seq ${flags.seq}: training needs at least ${needed} characters, ` +
      `and ${corpus.source} has ${ids.length}${flags.valFrac > 0 ? `, ${train.length} of them left for training after --val-frac ${flags.valFrac}` : ''}; use a smaller --batch or --seq.`);
  }
  const textHash = fingerprint(ids);
  if (checkpoint && (checkpoint.run.textHash !== textHash || checkpoint.vocab.size !== vocab.size)) {
    throw new CharrnnError(`The text differs from the one the run in ${flags.out} was trained on, so it cannot resume on it.`);
  }
  ensureFolder(flags.out); // now, not after an hour of training
  const kernels = await loadKernels(flags.backend, note);
  const config = { cell: flags.cell, layers: flags.layers, hidden: flags.hidden, emb: flags.emb, dropout: flags.dropout, vocabSize: vocab.size };
  const model = checkpoint ? checkpoint.model(kernels) : new CharRNN(config, kernels, { seed: flags.seed });
  const trainer = new Trainer(model, lines ? new LineBatcher(lines.train, flags.batch, flags.seed) : train, {
    batch: flags.batch, seq: flags.seq, clip: flags.clip, lrDecay: flags.lrDecay, lrDecayEvery: flags.lrDecayEvery,
    optimizer: { ...DEFAULT_OPTIMIZER, name: flags.optimizer, lr: flags.lr },
  });
  checkpoint?.restore(trainer);
  const settings: Record<string, unknown> = {};
  for (const k of [...RUN_SETTINGS, ...STOP_LIMITS]) if (flags[k] !== undefined) settings[k] = flags[k];
  const epochs = flags.steps === undefined && flags.epochs === undefined && flags.seconds === undefined ? DEFAULT_EPOCHS : flags.epochs ?? 0;
  const totalSteps = flags.steps ?? (epochs > 0 ? Math.ceil(epochs * trainer.batcher.stepsPerEpoch) : 0);

  const header = {
    config: { ...config, batch: flags.batch, seq: flags.seq, optimizer: flags.optimizer, lr: flags.lr, clip: flags.clip, seed: flags.seed },
    corpus: corpus.source, chars: ids.length, vocab: vocab.size,
    ...(lines ? { lines: lines.lines.length, train_lines: lines.train.starts.length - 1, val_lines: lines.val.starts.length - 1 }
      : { train_chars: train.length, val_chars: val.length }),
    params: model.params.size, backend: kernels.name, out: flags.out,
  };
  if (flags.json) emit(header);
  else if (checkpoint) log(`resuming the run in ${flags.out} at step ${trainer.steps}${totalSteps ? ` of ${totalSteps}` : ''}`);
  else log(`training a ${flags.layers}x${flags.hidden} ${flags.cell.toUpperCase()} (${model.params.size.toLocaleString('en')} parameters) on ${corpus.source}: ` +
    `${ids.length.toLocaleString('en')} characters${lines ? ` in ${lines.lines.length.toLocaleString('en')} lines (line mode)` : ''}, ` +
    `${vocab.size} distinct, ${kernels.name} backend; saving to ${flags.out}`);

  const lineMetadata = lines ? lineModelMetadata(EOL, lines.lines) : {};
  const training = (step: number, extra: Record<string, string> = {}): Record<string, string> => ({
    training: JSON.stringify({ steps: step, corpus: corpus.source, batch: flags.batch, seq: flags.seq, seed: flags.seed }), ...lineMetadata, ...extra,
  });
  const latestPath = join(flags.out, 'model.safetensors');
  const bestPath = join(flags.out, 'best.safetensors');
  let stopRequested = false;
  let lastValLoss: number | null = checkpoint?.run.bestValLoss ?? null;
  const onSigint = (): void => {
    if (stopRequested) process.exit(130); // a second Ctrl-C: files on disk are always whole (atomic writes)
    stopRequested = true;
    note('stopping after this step and saving (Ctrl-C again to quit at once)');
  };
  process.on('SIGINT', onSigint);

  const validation = lines && lines.val.starts.length > 1 ? () => lineValidationLoss(model, lines.val, flags.batch) : val;
  const summary = await runTraining(trainer, validation, {
    steps: totalSteps, epochs: 0, seconds: flags.seconds ?? 0,
    valEvery: flags.valEvery, checkpointEvery: flags.checkpointEvery, printEvery: flags.printEvery,
    bestValLoss: checkpoint?.run.bestValLoss ?? null,
  }, {
    now: () => performance.now(),
    shouldStop: () => stopRequested,
    onProgress: (r: ProgressReport) => {
      if (flags.json) emit({ step: r.step, epoch: round(r.epoch, 4), train_loss: round(r.loss, 4), lr: r.lr, grad_norm: round(r.gradNorm, 4), chars_per_s: Math.round(r.charsPerSecond), seconds: round(r.seconds, 3) });
      else log(`step ${r.step}${totalSteps ? `/${totalSteps}` : ''}  epoch ${r.epoch.toFixed(2)}  loss ${r.loss.toFixed(4)}  ` +
        `${lastValLoss === null ? '' : `val ${lastValLoss.toFixed(4)}  `}${Math.round(r.charsPerSecond).toLocaleString('en')} chars/s`);
    },
    onValidation: (r: ValidationReport) => {
      lastValLoss = r.valLoss;
      if (flags.json) emit({ step: r.step, epoch: round(r.epoch, 4), val_loss: round(r.valLoss, 4), best: r.best });
      else log(`step ${r.step}  validation loss ${r.valLoss.toFixed(4)} nats/char (${(r.valLoss / Math.LN2).toFixed(3)} bits)${r.best ? '  best so far' : ''}`);
    },
    saveLatest: (step, bestValLoss) => {
      writeFileAtomic(latestPath, encodeModel(model, vocab, training(step)));
      writeFileAtomic(checkpointPath, encodeCheckpoint(trainer, vocab, { settings, textHash, bestValLoss }));
    },
    saveBest: r => writeFileAtomic(bestPath, encodeModel(model, vocab, training(r.step, { val_loss: String(r.valLoss) }))),
  });
  process.off('SIGINT', onSigint);
  if (summary.steps === 0) throw new CharrnnError('Training stopped before the first step; nothing was saved.');
  if (checkpoint && summary.steps === checkpoint.run.settings.steps && trainer.steps === summary.steps && summary.seconds === 0) {
    note(`the run in ${flags.out} had already reached its ${summary.steps} steps; give a larger --steps to train on`);
  }

  const text = flags.sampleLength <= 0 ? '' : lines ? sampleLines(model, vocab, flags.sampleLength, given.sampleTemperature, flags.seed)
    : sample(model, vocab, { length: flags.sampleLength, temperature: given.sampleTemperature, seed: flags.seed });
  if (flags.json) {
    emit({ result: true, steps: summary.steps, epoch: round(summary.epoch, 4), train_seconds: round(summary.seconds, 3),
      chars_per_s: Math.round(summary.charsPerSecond), train_loss: round(summary.lastLoss, 4), val_loss: summary.valLoss === null ? null : round(summary.valLoss, 4),
      best_val_loss: summary.bestValLoss === null ? null : round(summary.bestValLoss, 4), stopped_early: summary.stoppedEarly,
      model: latestPath, best: summary.bestValLoss === null ? null : bestPath, ...(text ? { sample: text } : {}) });
  } else {
    log(`${summary.stoppedEarly ? 'stopped' : 'done'} after ${summary.steps} steps (${summary.seconds.toFixed(1)} s, ` +
      `${Math.round(summary.charsPerSecond).toLocaleString('en')} chars/s); saved ${latestPath}${summary.bestValLoss === null ? '' : ` and ${bestPath}`}`);
    if (text) log(`\nsample:\n${text}\n`);
  }
}

/**
 * Line mode's sample at the end of training: whole lines, each from a zero
 * state (sampleBatch starts every stream at the end-of-line), cut at their
 * end-of-line; about `length` characters of them. A stop-gap until generation
 * has its end-of-line rule (src/generate).
 */
function sampleLines(model: CharRNN<Float32Array>, vocab: Vocabulary, length: number, temperature: number, seed: number): string {
  const count = Math.max(1, Math.ceil(length / 8));
  const texts = sampleBatch(model, vocab, { count, length: 64, temperature, seed });
  return texts.map(t => t.split(EOL)[0]).join(EOL);
}

/**
 * The flags of a resumed run: the settings it started with, new stop limits if
 * given, and a refusal when a setting given on this command line differs.
 */
function resumedFlags(given: TrainFlags, saved: Record<string, unknown>, command: Command): TrainFlags {
  const flags = { ...given } as Record<string, unknown>;
  for (const k of RUN_SETTINGS) {
    const fromCli = command.getOptionValueSource(k) === 'cli';
    if (fromCli && k in saved && saved[k] !== given[k]) {
      throw new CharrnnError(`The run being resumed has --${kebab(k)} ${String(saved[k])}; a resumed run keeps its settings, so leave --${kebab(k)} out.`);
    }
    flags[k] = saved[k];
  }
  const newLimits = STOP_LIMITS.some(k => command.getOptionValueSource(k) === 'cli');
  if (!newLimits) for (const k of STOP_LIMITS) flags[k] = saved[k];
  return flags as unknown as TrainFlags;
}

function kebab(name: string): string {
  return name.replace(/[A-Z]/g, c => `-${c.toLowerCase()}`);
}

function round(v: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}
