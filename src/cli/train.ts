import { Command, Option } from 'commander';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { CharrnnError } from '../errors.js';
import type { RunSource } from '../node/run-folder.js';
import type { RunLock } from '../node/run-lock.js';
import type { PlotRefresher } from '../node/plot-refresh.js';
import type { RunStore } from '../run/training-run.js';
import { DEFAULT_EPOCHS, DEFAULT_SETTINGS, resumedSettings, type RunSettings, type StopLimits } from '../run/settings.js';
import type { DecodedCheckpoint } from '../train/checkpoint.js';
import { checkFlagRanges, FLAG_NAMES, withFlagNames } from './flag-names.js';
import type { CliIo } from './io.js';
import { positiveInt, settingFlag } from './flag-parsers.js';
import { settingChoices } from '../run/setting-ranges.js';
import { action, type ExitStatus } from './action.js';

interface TrainFlags extends Partial<RunSettings> {
  steps?: number;
  epochs?: number;
  seconds?: number;
  minutes?: number;
  out?: string;
  json?: boolean;
  quiet?: boolean;
  printEvery?: number;
  backend?: string;
  resume?: string | boolean;
  from?: string;
  force?: boolean;
  recipe: 'auto' | 'on' | 'off';
  /** false with --no-plot: no loss plot is drawn during the run. */
  plot: boolean;
}

/** The flags that are run settings (everything but limits, display and where). */
const SETTING_KEYS = Object.keys(DEFAULT_SETTINGS).concat(['corpus', 'encoding', 'maxVocab', 'sampleEvery']) as (keyof RunSettings)[];

/** Where a run goes without --out: a fresh folder in here for each run. */
const RUNS_ROOT = 'runs';

/** Exit codes after a signal, as a shell reports them (128 + the signal's number). */
const SIGNAL_EXIT: Record<string, number> = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 };

export function trainCommand(io: CliIo, status: ExitStatus): Command {
  const d = DEFAULT_SETTINGS;
  return new Command('train')
    .description('train a model on text files (or an embedded corpus) and save it as safetensors')
    .argument('[files...]', 'text files and folders (read recursively), joined in order; - reads standard input')
    .option('--corpus <name>', 'train on an embedded corpus instead of files: moby-dick, or names (a list: implies --lines)')
    .option('--lines', 'line mode: each non-empty line is one example, from a fresh state to a learned end-of-line (--seq is not used)')
    .option(
      '--encoding <label>',
      "the text files' encoding: utf-8, utf-16le, utf-16be, latin1, cp1252, shift_jis, ... (default: UTF-8, or UTF-16 by its byte order mark)",
    )
    .addOption(
      new Option('--invalid <policy>', 'bytes the encoding cannot decode: error, or replace them with U+FFFD (never generated)')
        .choices(settingChoices('invalid'))
        .argParser(settingFlag('invalid'))
        .default(d.invalid),
    )
    .addOption(
      new Option('--normalize <form>', 'Unicode normalisation of the text, stored in the model and applied to primes')
        .choices(settingChoices('normalize'))
        .argParser(settingFlag('normalize'))
        .default(d.normalize),
    )
    .option(
      '--max-vocab <n>',
      'keep the n - 1 most frequent characters and fold the rest into one unknown symbol (U+FFFD, never generated)',
      settingFlag('maxVocab'),
    )
    .addOption(new Option('--cell <type>', 'recurrent cell').choices(settingChoices('cell')).argParser(settingFlag('cell')).default(d.cell))
    .option('--layers <n>', 'stacked recurrent layers', settingFlag('layers'), d.layers)
    .option('--hidden <n>', 'hidden units per layer', settingFlag('hidden'), d.hidden)
    .option('--emb <n>', 'embedding size', settingFlag('emb'), d.emb)
    .option('--dropout <p>', 'dropout after each recurrent layer', settingFlag('dropout'), d.dropout)
    .option('--batch <n>', 'streams per batch', settingFlag('batch'), d.batch)
    .option('--seq <n>', 'steps per chunk (truncated BPTT length)', settingFlag('seq'), d.seq)
    .option('--lr <rate>', 'learning rate', settingFlag('lr'), d.lr)
    .option('--clip <norm>', 'global gradient-norm limit (0: none)', settingFlag('clip'), d.clip)
    .addOption(
      new Option('--optimizer <name>', 'optimizer')
        .choices(settingChoices('optimizer'))
        .argParser(settingFlag('optimizer'))
        .default(d.optimizer),
    )
    .option('--lr-decay <factor>', 'multiply the learning rate by this every --lr-decay-every steps', settingFlag('lrDecay'), d.lrDecay)
    .option('--lr-decay-every <steps>', 'steps between learning-rate decays (0: never)', settingFlag('lrDecayEvery'), d.lrDecayEvery)
    .addOption(
      new Option(
        '--lr-schedule <name>',
        "learning rate after warm-up: constant, step (--lr-decay every --lr-decay-every steps) or cosine (down to --lr-min at the schedule's last step)",
      )
        .choices(settingChoices('lrSchedule'))
        .argParser(settingFlag('lrSchedule'))
        .default(d.lrSchedule),
    )
    .option('--warmup <steps>', 'steps of linear learning-rate warm-up', settingFlag('warmup'), d.warmup)
    .option('--lr-min <rate>', 'the rate a cosine schedule ends at', settingFlag('lrMin'), d.lrMin)
    .option('--schedule-steps <n>', 'steps a cosine schedule spans (default: --steps, or --epochs in steps)', settingFlag('scheduleSteps'))
    .addOption(
      new Option(
        '--schedule-end <when>',
        "where a cosine schedule reaches --lr-min: after --schedule-steps (steps), or when the --seconds/--minutes budget ends (deadline: re-planned from the measured speed as the run goes; the recipe's choice)",
      )
        .choices(settingChoices('scheduleEnd'))
        .argParser(settingFlag('scheduleEnd'))
        .default(d.scheduleEnd),
    )
    .option(
      '--weight-decay <w>',
      'decoupled weight decay of the weight matrices (Adam becomes AdamW)',
      settingFlag('weightDecay'),
      d.weightDecay,
    )
    .option(
      '--ema <decay>',
      'validate and save an exponential moving average of the weights with this decay (0: off)',
      settingFlag('ema'),
      d.ema,
    )
    .option('--emb-dropout <p>', 'dropout on the embedding output', settingFlag('embDropout'), d.embDropout)
    .addOption(
      new Option('--val-split <how>', 'held-out text: tail (the last --val-frac) or spread (seeded windows across the text)')
        .choices(settingChoices('valSplit'))
        .argParser(settingFlag('valSplit'))
        .default(d.valSplit),
    )
    .addOption(
      new Option(
        '--recipe <when>',
        "auto: with --seconds/--minutes alone (no --steps, --epochs, --layers, --hidden), measure this machine's speed and choose the model and training for the budget; on: the same around a --layers/--hidden given; off: the defaults above",
      )
        .choices(['auto', 'on', 'off'])
        .default('auto'),
    )
    .option('--steps <n>', "stop at this step (the run's total, also when resuming)", settingFlag('steps'))
    .option('--epochs <n>', 'stop after this many passes over the text', settingFlag('epochs'))
    .addOption(
      new Option('--seconds <s>', 'stop within this wall-clock time, final validation and save included')
        .argParser(settingFlag('seconds'))
        .conflicts('minutes'),
    )
    .option('--minutes <m>', 'the same budget in minutes', settingFlag('seconds'))
    .option('--val-every <steps>', 'validate every N steps (0: only at the end)', settingFlag('valEvery'), d.valEvery)
    .option('--val-frac <f>', 'fraction of the text held out for validation', settingFlag('valFrac'), d.valFrac)
    .option('--val-max-chars <n>', 'validate on at most this many held-out characters (0: all)', settingFlag('valMaxChars'), d.valMaxChars)
    .option('--patience <n>', 'stop after N validations in a row without a new best (0: never)', settingFlag('patience'), d.patience)
    .option(
      '--checkpoint-every <steps>',
      'save the latest model every N steps (0: at validations and the end)',
      settingFlag('checkpointEvery'),
      d.checkpointEvery,
    )
    .option('--seed <n>', 'random seed: the same seed, flags and data give the same model', settingFlag('seed'), d.seed)
    .option(
      '--out <dir>',
      'folder for model.safetensors (latest), best.safetensors, checkpoint.safetensors and log.jsonl (default: a fresh folder runs/<text>-<date>-<n>)',
    )
    .option(
      '--sample-every <steps>',
      'print a sample every N steps (default: at every validation; 0: only at the end)',
      settingFlag('sampleEvery'),
    )
    .option(
      '--sample-length <n>',
      'characters in each sample (0: none); with --lines, the longest line of the samples, which are 5 whole lines',
      settingFlag('sampleLength'),
      d.sampleLength,
    )
    .option('--sample-temperature <t>', 'temperature of the samples', settingFlag('sampleTemperature'), d.sampleTemperature)
    .option('--sample-prime <text>', 'text the samples start from', d.samplePrime)
    .option('--backend <name>', 'auto, native, wasm or reference (default: CHARRNN_BACKEND, else auto)')
    .option(
      '--resume [dir]',
      'continue the run saved in DIR (or --out) exactly where it stopped, on the text it records; its settings are kept (--lr may change)',
    )
    .addOption(
      new Option(
        '--from <model>',
        "fine-tune: start the new run's weights from a model file, a run folder (its best model) or a base model's name (english); its size and cell are kept, and characters only the text has get new rows",
      ).conflicts('resume'),
    )
    .addOption(new Option('--force', 'start a new run in --out even though it holds one, replacing it').conflicts('resume'))
    .addOption(new Option('--json', 'print one JSON object per event instead of text').conflicts('quiet'))
    .option('--quiet', 'print only errors and the final line')
    .option('--no-plot', 'do not redraw DIR/loss.svg and DIR/loss.png at each validation (charrnn plot DIR draws them at any time)')
    .option(
      '--print-every <steps>',
      'a progress line every N steps (default: a live display on a terminal, else a line every 10 seconds)',
      positiveInt,
    )
    .addHelpText(
      'after',
      `
Stop limits: --steps, --epochs and --seconds/--minutes may be combined; the first
one reached ends the run. With none of them, the run trains ${DEFAULT_EPOCHS} epochs.
--patience also ends it. With --seconds/--minutes alone (no --steps, --epochs, --layers,
--hidden), the recipe measures this machine's speed on the text for a few seconds of
the budget and chooses the model and its training (--recipe on: also around a
--layers/--hidden given; --recipe off: the defaults); the flags given win, and the
run says what it chose in one line. Ctrl-C, SIGTERM and
SIGHUP finish the current step, save and exit (130, 143, 129); a second signal quits
at once. A run folder is locked by its run (DIR/.lock) while the run goes on.`,
    )
    .action(
      action(
        status,
        withFlagNames((files: string[], flags: TrainFlags, command: Command) => train(io, files, flags, command)),
      ),
    );
}

/** Trains; resolves with the exit code (0, or 128 + a signal's number when one stopped the run). */
async function train(io: CliIo, files: string[], flags: TrainFlags, command: Command): Promise<number> {
  // The run folder's lock is let go when the run ends, not only when the process does: a program that
  // calls runCli goes on, and may run in the same folder again.
  const locks: RunLock[] = [];
  try {
    return await trainHoldingLocks(io, files, flags, command, locks);
  } finally {
    for (const lock of locks) lock.release();
  }
}

async function trainHoldingLocks(io: CliIo, files: string[], flags: TrainFlags, command: Command, locks: RunLock[]): Promise<number> {
  // The engines, the text readers and the run itself load only when a run starts.
  const [
    { loadKernels },
    { isListCorpus, readCorpus },
    { readBytes },
    { engineThreads, machineMemory },
    { claimFreshFolder, folderStore, openRunFolder, readRunSource, recordedInput, RUN_FILES, writeRunSource },
    { RunLogWriter },
    { planRun },
    { TrainingRun },
    { decodeCheckpoint },
    { chooseDisplay },
    { fineTuneSettings, startingModel },
    { readStartingModel },
  ] = await Promise.all([
    import('../node/backend.js'),
    import('../node/read-corpus.js'),
    import('../node/files.js'),
    import('../node/machine.js'),
    import('../node/run-folder.js'),
    import('../node/run-log.js'),
    import('../run/plan-run.js'),
    import('../run/training-run.js'),
    import('../train/checkpoint.js'),
    import('./train-display.js'),
    import('../run/fine-tune.js'),
    import('../node/base-models.js'),
  ]);
  const explicit = (k: string): boolean => command.getOptionValueSource(k) === 'cli';
  const note = (message: string): void => {
    io.stderr.write(`charrnn: ${message}\n`);
  };
  const notes: string[] = []; // said as note events once the run starts

  // A resumed run's folder is locked before its checkpoint is read; a new run's, once its flags and text have passed the run's checks.
  const resumeDir = flags.resume === undefined ? null : typeof flags.resume === 'string' ? flags.resume : flags.out;
  if (flags.resume === true && resumeDir === undefined) throw new CharrnnError("--resume needs the run's folder: give --resume DIR.");
  if (resumeDir) locks.push(openRunFolder(resumeDir, 'resume', m => notes.push(m)));
  const checkpointPath = resumeDir ? join(resumeDir, RUN_FILES.checkpoint) : '';
  const checkpoint: DecodedCheckpoint | null = resumeDir ? decodeCheckpoint(readBytes(checkpointPath), checkpointPath) : null;
  const given: Partial<RunSettings> = {};
  for (const k of SETTING_KEYS) {
    if (flags[k] !== undefined && (checkpoint === null || explicit(k))) (given as Record<string, unknown>)[k] = flags[k];
  }
  const explicitSettings: Partial<RunSettings> = {};
  for (const k of SETTING_KEYS) if (explicit(k)) (explicitSettings as Record<string, unknown>)[k] = flags[k];
  let settings = checkpoint ? resumedSettings(checkpoint.run.settings as Partial<RunSettings>, given) : { ...DEFAULT_SETTINGS, ...given };
  // A fine-tune's model is read before its text: the text is read in the model's normalisation, and a size given against the model's is refused first.
  const fromFile = flags.from === undefined ? null : readStartingModel(flags.from);
  const from = fromFile === null ? null : startingModel(fromFile.bytes, fromFile.name);
  if (from) settings = fineTuneSettings(settings, explicitSettings, from);
  const limits = stopLimits(flags, explicit, checkpoint);
  // The run layer's ranges, judged before a big text is read (the run checks them again, the same way).
  checkFlagRanges(settings, limits, flags.minutes);

  const source = resumeDir ? readRunSource(resumeDir) : null;
  const inputs = resumeDir && files.length === 0 && settings.corpus === undefined ? await recordedFiles(resumeDir, source) : files;
  // The encoded text is cached in a folder that exists already (a resumed run's, or a given --out); a fresh folder has none to reuse.
  const cacheFolder = resumeDir ?? (flags.out !== undefined && existsSync(flags.out) ? flags.out : null);
  const read = await readCorpus(
    inputs,
    settings.corpus,
    { encoding: settings.encoding, invalid: settings.invalid, normalize: settings.normalize, maxVocab: settings.maxVocab },
    { cacheDir: cacheFolder === null ? undefined : join(cacheFolder, 'corpus-cache'), note, stdin: io.stdin },
  );
  if (isListCorpus(settings.corpus)) settings.lines = true; // a list corpus is trained line by line
  const kernels = await loadKernels(flags.backend, note);
  const now = (): number => performance.now();
  // Read from the folder's record, the text keeps the name it was given at the start.
  const plan = await planRun({
    text: inputs !== files && source !== null ? { ...read, source: source.source } : read,
    settings,
    given: explicitSettings,
    limits,
    recipe: flags.recipe,
    resumed: checkpoint !== null,
    kernels,
    machine: machineMemory(kernels.name),
    threads: engineThreads(),
    now,
    names: FLAG_NAMES,
    from,
  });
  const { corpus, startedAt } = plan;
  settings = plan.settings;
  notes.push(...plan.notes);
  const resumedLog = resumeDir && checkpoint ? new RunLogWriter(resumeDir, checkpoint.steps) : null;
  let out = resumeDir ?? flags.out ?? ''; // a fresh folder is claimed below
  const store: RunStore = { save: (file, bytes) => folderStore(out).save(file, bytes) };
  const run = new TrainingRun({
    corpus,
    settings,
    limits,
    kernels,
    store,
    checkpoint,
    timeBefore: resumedLog?.timeBefore,
    notes,
    startedAt,
    now,
    names: FLAG_NAMES,
    from,
  });

  const absolute = inputs.map(recordedInput);
  if (!resumeDir) {
    out = flags.out ?? claimFreshFolder(RUNS_ROOT, settings.corpus ?? inputs[0] ?? 'run');
    locks.push(openRunFolder(out, flags.out === undefined ? 'new' : flags.force ? 'replace' : 'new', m => notes.push(m)));
    writeRunSource(out, { files: absolute, corpus: settings.corpus, source: corpus.source, textHash: run.textHash });
  } else if (files.length > 0 && source !== null && absolute.join('\n') !== source.files.join('\n')) {
    // The same text (the run checked its fingerprint) from another place: read it from there from now on.
    writeRunSource(out, { ...source, files: absolute, source: corpus.source });
    notes.push(`the run's text is now read from ${inputs.join(', ')} (the same text as before, at ${source.files.join(', ')})`);
  } else if (source === null) {
    writeRunSource(out, { files: absolute, corpus: settings.corpus, source: corpus.source, textHash: run.textHash });
  }
  const log = resumedLog ?? new RunLogWriter(out, null);

  const display = chooseDisplay({ json: flags.json ?? false, quiet: flags.quiet ?? false, printEvery: flags.printEvery, out }, io);
  // vega and resvg load only for a run that draws its plot.
  const plot: PlotRefresher | null = flags.plot
    ? (await import('../node/plot-refresh.js')).plotRefresher(out, message => display.notice(message))
    : null;
  run.on(e => log.write(e));
  run.on(e => display.show(e));
  if (plot) run.on(e => plot.onEvent(e));

  // Signals are the real process's (main.ts gives them); a run inside another program is stopped by that program.
  let signalled: string | null = null;
  let stopListening = (): void => {};
  const onSignal = (signal: NodeJS.Signals): void => {
    // A second signal delivered with the first (both while a step ran) quits here; one sent later meets no
    // listener and takes its default action, which ends the process at once even inside a long step or save.
    // What is on disk stays whole either way (atomic writes); the lock left behind is stale and taken over.
    if (signalled !== null) io.signals!.quit(SIGNAL_EXIT[signal]);
    signalled = signal;
    run.requestStop(`received ${signal}`);
    display.notice(`${signal}: stopping after this step and saving (again to quit at once)`);
    setImmediate(() => stopListening());
  };
  if (io.signals) stopListening = io.signals.listen(onSignal);
  let result;
  try {
    result = await run.train();
    await plot?.settle();
  } finally {
    stopListening();
    display.close();
  }
  if (result.step === 0) throw new CharrnnError('Training stopped before the first step; nothing was saved.');
  return signalled !== null ? SIGNAL_EXIT[signalled] : 0;
}

/** The files a resumed run reads when none are given: those its folder records. */
async function recordedFiles(dir: string, source: RunSource | null): Promise<string[]> {
  const { STANDARD_INPUT, standardInputRun } = await import('../node/run-folder.js');
  if (source === null || source.files.length === 0) {
    throw new CharrnnError(
      `${dir} does not record where its text came from (a run from an older charrnn); give its text files: charrnn train FILE... --resume ${dir}.`,
    );
  }
  if (source.files.includes(STANDARD_INPUT))
    throw standardInputRun(dir, `pipe the same text again: cat FILE | charrnn train - --resume ${dir}`);
  const gone = source.files.find(f => !existsSync(f));
  if (gone !== undefined) {
    throw new CharrnnError(
      `The text of the run in ${dir} is no longer at ${gone}; give its new place: charrnn train FILE... --resume ${dir}.`,
    );
  }
  return source.files;
}

/**
 * The stop limits: those given now, else (when resuming) those the run was last
 * given. --minutes is --seconds in minutes.
 */
function stopLimits(flags: TrainFlags, explicit: (k: string) => boolean, checkpoint: DecodedCheckpoint | null): StopLimits {
  const now: StopLimits = {};
  if (flags.steps !== undefined) now.steps = flags.steps;
  if (flags.epochs !== undefined) now.epochs = flags.epochs;
  if (flags.seconds !== undefined) now.seconds = flags.seconds;
  if (flags.minutes !== undefined) now.seconds = flags.minutes * 60;
  const givenNow = ['steps', 'epochs', 'seconds', 'minutes'].some(explicit);
  if (checkpoint === null || givenNow) return now;
  // Checkpoints before the run layer kept the limits among the settings.
  const saved = checkpoint.run.limits ?? checkpoint.run.settings;
  const kept: StopLimits = {};
  for (const k of ['steps', 'epochs', 'seconds'] as const) if (typeof saved[k] === 'number') kept[k] = saved[k] as number;
  return kept;
}
