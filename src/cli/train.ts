import { Command, Option } from 'commander';
import { join } from 'node:path';
import { holdOut, type ValSplit } from '../data/split.js';
import { StreamBatcher } from '../data/streams.js';
import { CharrnnError } from '../errors.js';
import type { CellType } from '../kernels/kernels.js';
import { CharRNN } from '../model/charrnn.js';
import { DEFAULT_MODEL } from '../model/config.js';
import { encodeModel } from '../model/model-file.js';
import { loadKernels } from '../node/backend.js';
import { loadCorpus } from '../node/corpus.js';
import { ensureFolder, readBytes, writeFileAtomic } from '../node/files.js';
import { sample } from '../sample/sampler.js';
import { Vocabulary } from '../text/vocabulary.js';
import { decodeCheckpoint, encodeCheckpoint, fingerprint } from '../train/checkpoint.js';
import { runTraining, type ProgressReport, type ValidationReport } from '../train/loop.js';
import { DEFAULT_OPTIMIZER, type OptimizerName } from '../train/optimizer.js';
import type { ScheduleName } from '../train/schedule.js';
import { Trainer, withEvaluationWeights } from '../train/trainer.js';
import { dropoutRate, fraction, nonNegativeInt, nonNegativeNumber, positiveInt, positiveNumber, seedValue } from './options.js';
import { action } from './run.js';

interface TrainFlags {
  corpus?: string;
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
  lrSchedule: ScheduleName;
  warmup: number;
  lrMin: number;
  scheduleSteps?: number;
  weightDecay: number;
  ema: number;
  embDropout: number;
  valSplit: ValSplit;
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
const RUN_SETTINGS = ['corpus', 'cell', 'layers', 'hidden', 'emb', 'dropout', 'batch', 'seq', 'lr', 'clip', 'optimizer', 'lrDecay',
  'lrDecayEvery', 'valFrac', 'valEvery', 'checkpointEvery', 'seed',
  // Training techniques (README, Training techniques); a run saved before they existed resumes without them.
  'lrSchedule', 'warmup', 'lrMin', 'scheduleSteps', 'weightDecay', 'ema', 'embDropout', 'valSplit'] as const;
/** Stop limits: a resumed run keeps them unless new ones are given. */
const STOP_LIMITS = ['steps', 'epochs', 'seconds'] as const;

const DEFAULT_EPOCHS = 10;
/** Settings a run saved before they existed lacks: it resumes with their defaults (which are what it ran with). */
const NEWER_SETTINGS = new Set<string>(['lrSchedule', 'warmup', 'lrMin', 'scheduleSteps', 'weightDecay', 'ema', 'embDropout', 'valSplit']);

export function trainCommand(): Command {
  return new Command('train')
    .description('train a model on UTF-8 text files (or an embedded corpus) and save it as safetensors')
    .argument('[files...]', 'UTF-8 text files, joined in order')
    .option('--corpus <name>', 'train on an embedded corpus instead of files: moby-dick')
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
    .addOption(new Option('--lr-schedule <name>', 'learning rate after warm-up: constant, step (--lr-decay every --lr-decay-every steps) or cosine (down to --lr-min at the run\'s last step)')
      .choices(['constant', 'step', 'cosine']).default('step'))
    .option('--warmup <steps>', 'steps of linear learning-rate warm-up', nonNegativeInt, 0)
    .option('--lr-min <rate>', 'the rate a cosine schedule ends at', nonNegativeNumber, 0)
    .option('--schedule-steps <n>', 'steps a cosine schedule spans (default: --steps, or --epochs in steps)', positiveInt)
    .option('--weight-decay <w>', 'decoupled weight decay of the weight matrices (Adam becomes AdamW)', nonNegativeNumber, 0)
    .option('--ema <decay>', 'validate and save an exponential moving average of the weights with this decay (0: off)', dropoutRate, 0)
    .option('--emb-dropout <p>', 'dropout on the embedding output', dropoutRate, 0)
    .addOption(new Option('--val-split <how>', 'held-out text: tail (the last --val-frac) or spread (seeded windows across the text)')
      .choices(['tail', 'spread']).default('tail'))
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
  const vocab = Vocabulary.fromText(corpus.text);
  const { ids } = vocab.encode(corpus.text);
  const { train, val, windows: valWindows } = holdOut(ids, flags.valFrac, flags.valSplit, flags.seed);
  // Said here rather than by the batcher, which sees only the training split.
  const needed = flags.batch * flags.seq + 1;
  if (train.length < needed) {
    throw new CharrnnError(`The text is too short for --batch ${flags.batch} and --seq ${flags.seq}: training needs at least ${needed} characters, ` +
      `and ${corpus.source} has ${ids.length}${flags.valFrac > 0 ? `, ${train.length} of them left for training after --val-frac ${flags.valFrac}` : ''}; use a smaller --batch or --seq.`);
  }
  const textHash = fingerprint(ids);
  if (checkpoint && (checkpoint.run.textHash !== textHash || checkpoint.vocab.size !== vocab.size)) {
    throw new CharrnnError(`The text differs from the one the run in ${flags.out} was trained on, so it cannot resume on it.`);
  }
  ensureFolder(flags.out); // now, not after an hour of training
  const kernels = await loadKernels(flags.backend, note);
  const config = { cell: flags.cell, layers: flags.layers, hidden: flags.hidden, emb: flags.emb, dropout: flags.dropout, vocabSize: vocab.size,
    ...(flags.embDropout > 0 ? { embDropout: flags.embDropout } : {}) };
  const model = checkpoint ? checkpoint.model(kernels) : new CharRNN(config, kernels, { seed: flags.seed });
  const stepsPerEpoch = new StreamBatcher(train, flags.batch, flags.seq).stepsPerEpoch;
  const epochs = flags.steps === undefined && flags.epochs === undefined && flags.seconds === undefined ? DEFAULT_EPOCHS : flags.epochs ?? 0;
  const totalSteps = flags.steps ?? (epochs > 0 ? Math.ceil(epochs * stepsPerEpoch) : 0);
  if (flags.lrSchedule === 'cosine' && flags.scheduleSteps === undefined) {
    if (totalSteps === 0) throw new CharrnnError('--lr-schedule cosine with only --seconds needs --schedule-steps: the steps the time allows.');
    flags.scheduleSteps = totalSteps; // fixed now, so a resumed run keeps the same curve
  }
  if (flags.lrSchedule !== 'step' && flags.lrDecayEvery > 0) {
    throw new CharrnnError(`--lr-decay-every belongs to --lr-schedule step, not ${flags.lrSchedule}.`);
  }
  if (flags.weightDecay > 0 && flags.optimizer !== 'adam') {
    throw new CharrnnError(`--weight-decay is decoupled weight decay (AdamW) and needs --optimizer adam, not ${flags.optimizer}.`);
  }
  const trainer = new Trainer(model, train, {
    batch: flags.batch, seq: flags.seq, clip: flags.clip, lrDecay: flags.lrDecay, lrDecayEvery: flags.lrDecayEvery,
    optimizer: { ...DEFAULT_OPTIMIZER, name: flags.optimizer, lr: flags.lr, ...(flags.weightDecay > 0 ? { weightDecay: flags.weightDecay } : {}) },
    schedule: { lr: flags.lr, name: flags.lrSchedule, warmup: flags.warmup, decay: flags.lrDecay, decayEvery: flags.lrDecayEvery,
      lrMin: flags.lrMin, totalSteps: flags.scheduleSteps ?? 0 },
    ...(flags.ema > 0 ? { ema: flags.ema } : {}),
  });
  checkpoint?.restore(trainer);
  const settings: Record<string, unknown> = {};
  for (const k of [...RUN_SETTINGS, ...STOP_LIMITS]) if (flags[k] !== undefined) settings[k] = flags[k];

  const header = {
    config: { ...config, batch: flags.batch, seq: flags.seq, optimizer: flags.optimizer, lr: flags.lr, clip: flags.clip, seed: flags.seed },
    corpus: corpus.source, chars: ids.length, train_chars: train.length, val_chars: val.length, vocab: vocab.size,
    params: model.params.size, backend: kernels.name, out: flags.out,
  };
  if (flags.json) emit(header);
  else if (checkpoint) log(`resuming the run in ${flags.out} at step ${trainer.steps}${totalSteps ? ` of ${totalSteps}` : ''}`);
  else log(`training a ${flags.layers}x${flags.hidden} ${flags.cell.toUpperCase()} (${model.params.size.toLocaleString('en')} parameters) on ${corpus.source}: ` +
    `${ids.length.toLocaleString('en')} characters, ${vocab.size} distinct, ${kernels.name} backend; saving to ${flags.out}`);

  const training = (step: number, extra: Record<string, string> = {}): Record<string, string> => ({
    training: JSON.stringify({ steps: step, corpus: corpus.source, batch: flags.batch, seq: flags.seq, seed: flags.seed }), ...extra,
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

  const summary = await runTraining(trainer, val, {
    steps: totalSteps, epochs: 0, seconds: flags.seconds ?? 0,
    valEvery: flags.valEvery, checkpointEvery: flags.checkpointEvery, printEvery: flags.printEvery,
    bestValLoss: checkpoint?.run.bestValLoss ?? null, valWindows,
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
    saveLatest: async (step, bestValLoss) => {
      // The model file holds the weights the run validates (the moving average when kept); the checkpoint, both.
      await withEvaluationWeights(trainer, () => writeFileAtomic(latestPath, encodeModel(model, vocab, training(step))));
      writeFileAtomic(checkpointPath, encodeCheckpoint(trainer, vocab, { settings, textHash, bestValLoss }));
    },
    saveBest: r => writeFileAtomic(bestPath, encodeModel(model, vocab, training(r.step, { val_loss: String(r.valLoss) }))),
  });
  process.off('SIGINT', onSigint);
  if (summary.steps === 0) throw new CharrnnError('Training stopped before the first step; nothing was saved.');
  if (checkpoint && summary.steps === checkpoint.run.settings.steps && trainer.steps === summary.steps && summary.seconds === 0) {
    note(`the run in ${flags.out} had already reached its ${summary.steps} steps; give a larger --steps to train on`);
  }

  const text = flags.sampleLength > 0 ? await withEvaluationWeights(trainer,
    () => sample(model, vocab, { length: flags.sampleLength, temperature: given.sampleTemperature, seed: flags.seed })) : '';
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
    if (k in saved || !NEWER_SETTINGS.has(k)) flags[k] = saved[k];
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
