// The run layer: one training run from text and settings (or from a
// checkpoint), with its stop limits, validation, samples and saves, seen from
// outside only through typed events. Every face (the CLI's displays, --json,
// log.jsonl, plots, the server, the page) subscribes; none wires training
// itself. Platform-neutral: files are the store's business, time the clock's.
import { CharrnnError } from '../errors.js';
import type { Kernels } from '../kernels/kernels.js';
import { CharRNN } from '../model/charrnn.js';
import { encodeModel } from '../model/model-file.js';
import { originMetadata, type ModelOrigin } from '../model/origin.js';
import type { Vocabulary } from '../text/vocabulary.js';
import { encodeCheckpoint, fingerprint, type DecodedCheckpoint, type RunRecord } from '../train/checkpoint.js';
import { DivergedError } from '../train/diverged-error.js';
import { DEFAULT_OPTIMIZER } from '../train/optimizer.js';
import { Trainer, withEvaluationWeights, type StepResult } from '../train/trainer.js';
import { Budget } from './budget.js';
import { checkSettings } from './check-settings.js';
import { DeadlineFollower, replanEvery } from './deadline.js';
import { checkFineTuneSettings, fineTuneNote, fineTuneText, grownModel, inVocabulary, type StartingModel } from './fine-tune.js';
import type { RunEvent, RunPosition, SavedFile, StopReason, ValidationEvent } from './events.js';
import { LIBRARY_NAMES, type SettingNames } from './setting-error.js';
import { DEFAULT_EPOCHS, stopStep, type RunSettings, type StopLimits } from './settings.js';
import { SmoothedLoss } from './smoothed-loss.js';
import { trainingData, type TrainingData } from './training-data.js';
import type { TrainingText } from './training-text.js';
import { runPass } from './validate.js';

export type { TrainingText } from './training-text.js';
export { SAMPLE_LINES } from './training-data.js';

/** Where a run's files go: a folder in Node, memory or a download in a browser. */
export interface RunStore {
  /** Writes one of the run's files whole: a reader never sees a half-written one. */
  save(file: SavedFile, bytes: Uint8Array): void | Promise<void>;
}

/**
 * What a {@link TrainingRun} is built from: the text, the settings and stop
 * limits, the engine to run on, and where its files go; optionally a
 * checkpoint to continue, a clock, notes to say at the start, and the names
 * its messages give settings.
 */
export interface RunOptions {
  /** The training text, encoded (see {@link trainingText}). */
  corpus: TrainingText;
  /** The run's settings (start from {@link DEFAULT_SETTINGS}); a resumed run should pass the checkpoint's. */
  settings: RunSettings;
  /** When to stop: the first limit reached wins; none at all trains {@link DEFAULT_EPOCHS} epochs. */
  limits: StopLimits;
  /** The engine to train on (from charrnn/node's loadKernels, or loadWasmKernels). */
  kernels: Kernels<Float32Array>;
  /** Where the model, best model and checkpoint are written. */
  store: RunStore;
  /** Continue this checkpoint's run instead of starting a new one. */
  checkpoint?: DecodedCheckpoint | null;
  /**
   * Fine-tune: start the weights from this model (see {@link startingModel})
   * rather than a fresh draw. The settings must keep its architecture
   * ({@link planRun} makes them so); characters of the text the model lacks get
   * new rows. Not with a checkpoint: a resumed fine-tuning run's checkpoint
   * holds everything, its origin included.
   */
  from?: StartingModel | null;
  /** Milliseconds, monotonic (default: performance.now). */
  now?: () => number;
  /**
   * The clock's reading when this invocation's budget began (default: now); a
   * caller that measured the machine's speed first passes when it started, so
   * the measuring counts inside the time budget.
   */
  startedAt?: number;
  /**
   * Wall seconds the run took before this invocation (a resumed run's log
   * knows); kept out of the checkpoint so that its bytes depend on the math only.
   */
  timeBefore?: number;
  /**
   * Things said before the run starts (a stale lock taken over, leftovers
   * removed), emitted as note events after the config event; read when the run
   * starts, so a caller may add to it after building the run.
   */
  notes?: readonly string[];
  /**
   * How the run's notes and stop messages name settings (default: the
   * library's own names; the CLI passes its flags). Errors are SettingErrors,
   * which a face words itself.
   */
  names?: SettingNames;
}

/** Steps excluded from the throughput figure (the benchmark protocol's warm-up). */
export const WARMUP_STEPS = 3;

/** Pieces of a validation pass (after its first) timed to learn its cost before the first validation. */
const PROBE_PIECES = 2;

/** How often (ms) a run lets the event loop turn, so a stop request (a signal, a button) arrives. */
const YIELD_MS = 100;

/** The model, the trainer and the data of a run, built the one way every caller builds them. */
export interface PreparedTraining {
  model: CharRNN<Float32Array>;
  trainer: Trainer<Float32Array>;
  /** What the run trains and validates on: streams of running text, or line mode's lines. */
  data: TrainingData;
  /** The settings as trained with: a cosine schedule's length fixed from the limits when not given. */
  settings: RunSettings;
  /** The text as trained on: a fine-tuning run's (or a resumed one's) in the model's grown vocabulary. */
  corpus: TrainingText;
  /** The characters a fine-tuning run added to its starting model's vocabulary (empty otherwise). */
  added: string[];
}

/**
 * Checks the settings (checkSettings), chooses the data (streams or lines),
 * builds the model (fresh, from a checkpoint, or grown from a starting model
 * to fine-tune) and its trainer with the run's techniques; `limits` give a
 * cosine schedule its length when the settings do not.
 */
export function prepareTraining(
  text: TrainingText,
  given: RunSettings,
  kernels: Kernels<Float32Array>,
  checkpoint?: DecodedCheckpoint | null,
  limits: StopLimits = {},
  from?: StartingModel | null,
): PreparedTraining {
  let s = given;
  let corpus = text;
  let added: string[] = [];
  if (checkpoint) {
    // A fine-tuning run's text, read anew, has its own ids: encoded as the checkpoint's (grown) vocabulary has them.
    corpus = inVocabulary(text, checkpoint.vocab) ?? text;
    checkSameText(corpus, checkpoint);
  } else if (from) {
    checkFineTuneSettings(s, from);
    ({ text: corpus, added } = fineTuneText(text, from));
  }
  checkSettings(s, limits, corpus, checkpoint?.steps);
  const data = trainingData(corpus, s);
  if (s.lrSchedule === 'cosine' && s.scheduleSteps === 0) {
    // checkSettings made sure a limit gives the step the run stops at.
    s = { ...s, scheduleSteps: stopStep(limits, data.batcher.stepsPerEpoch)! }; // fixed now and saved, so a resumed run keeps the same curve
  }
  const config = {
    cell: s.cell,
    layers: s.layers,
    hidden: s.hidden,
    emb: s.emb,
    dropout: s.dropout,
    vocabSize: corpus.vocab.size,
    ...(s.embDropout > 0 ? { embDropout: s.embDropout } : {}),
  };
  const model = checkpoint
    ? checkpoint.model(kernels)
    : from
      ? grownModel(from, config, kernels, s.seed)
      : new CharRNN(config, kernels, { seed: s.seed });
  const trainer = new Trainer(model, data.batcher, {
    batch: s.batch,
    seq: s.seq,
    clip: s.clip,
    lrDecay: s.lrDecay,
    lrDecayEvery: s.lrDecayEvery,
    optimizer: { ...DEFAULT_OPTIMIZER, name: s.optimizer, lr: s.lr, ...(s.weightDecay > 0 ? { weightDecay: s.weightDecay } : {}) },
    schedule: {
      lr: s.lr,
      name: s.lrSchedule,
      warmup: s.warmup,
      decay: s.lrDecay,
      decayEvery: s.lrDecayEvery,
      lrMin: s.lrMin,
      totalSteps: s.scheduleSteps,
      ...(s.scheduleReplans.length > 0 ? { replans: s.scheduleReplans } : {}),
    },
    ...(s.ema > 0 ? { ema: s.ema } : {}),
  });
  checkpoint?.restore(trainer);
  return { model, trainer, data, settings: s, corpus, added };
}

/** The fingerprint a run records of its text: readCorpus's hash when it made one, else one of the ids. */
function textFingerprint(corpus: TrainingText): string {
  return corpus.hash ?? fingerprint(corpus.ids);
}

/**
 * Refuses to resume on another text, before anything else about the text is
 * checked: another text's length or vocabulary would otherwise fail a later
 * rule (the saved batch position, the prime) with a sentence that hides why.
 */
function checkSameText(corpus: TrainingText, checkpoint: DecodedCheckpoint): void {
  if (checkpoint.run.textHash !== textFingerprint(corpus) || checkpoint.vocab.size !== corpus.vocab.size) {
    throw new CharrnnError(`The text differs from the one the run was trained on (${corpus.source}), so it cannot resume on it.`);
  }
}

/**
 * One training run, from a text and its settings or from a checkpoint, to its
 * saved model. Build it, subscribe with `on`, call `train` once; everything
 * the run does comes out as typed events (config, step, validation, sample,
 * saved, stopped, note, result). It stops at the first limit (steps, epochs,
 * seconds), when patience runs out, or on `requestStop`, then validates a last
 * time (not after a stop request) and saves. Its files go to the RunStore. The
 * constructor throws a {@link SettingError} (a CharrnnError, one sentence) for
 * settings that conflict or do not fit the text, and a CharrnnError for a
 * checkpoint of another text. `train` throws a CharrnnError when training
 * diverges, after it emits a 'stopped' event with reason 'diverged'.
 */
export class TrainingRun {
  readonly model: CharRNN<Float32Array>;
  readonly trainer: Trainer<Float32Array>;
  readonly vocab: Vocabulary;
  /** The model a fine-tuning run started from (kept from the checkpoint when it resumes); null for a run from scratch. */
  readonly origin: ModelOrigin | null;
  /** The text as trained on (a fine-tuning run's in the grown vocabulary). */
  private readonly corpus: TrainingText;
  /** What a fine-tuning run says as it starts: its starting model and the characters added. */
  private readonly fineTuning: string | null;
  /** The settings as trained with (a deadline schedule's re-plans join them as they are made). */
  private currentSettings: RunSettings;
  readonly limits: StopLimits;
  /** The step the run stops at, when a step or epoch limit gives one. */
  readonly totalSteps: number | null;
  /** What the run trains and validates on: streams of running text, or line mode's lines. */
  private readonly data: TrainingData;
  /** Training characters (scored targets) seen so far, across resumes. */
  private chars: number;
  /** How notes and stop messages name settings. */
  private readonly names: SettingNames;
  /** The training text's fingerprint, which a resumed run must match. */
  readonly textHash: string;
  private readonly listeners = new Set<(e: RunEvent) => void>();
  private readonly now: () => number;
  private readonly store: RunStore;
  private readonly resumed: boolean;
  private readonly startedAt: number;
  private readonly timeBefore: number; // wall seconds of the run before this invocation
  private readonly smoothed: SmoothedLoss;
  private stopReason: StopReason | null = null;
  private stopMessage = '';
  private bestValLoss: number | null;
  private sinceBest: number;
  private valLoss: number | null = null;
  private lastValidatedStep = -1;
  private lastSavedStep = -1;
  /** The step each file was last saved at by this invocation. */
  private readonly savedAt = new Map<SavedFile, number>();

  constructor(private readonly options: RunOptions) {
    const { settings, kernels, checkpoint } = options;
    if (checkpoint && options.from)
      throw new CharrnnError('A run either resumes a checkpoint or fine-tunes a model, not both: the checkpoint holds the model already.');
    this.limits = options.limits;
    this.store = options.store;
    this.now = options.now ?? (() => performance.now());
    this.startedAt = options.startedAt ?? this.now();
    this.names = options.names ?? LIBRARY_NAMES;
    const prepared = prepareTraining(options.corpus, settings, kernels, checkpoint, this.limits, options.from);
    this.corpus = prepared.corpus;
    this.vocab = prepared.corpus.vocab;
    this.currentSettings = prepared.settings;
    this.model = prepared.model;
    this.trainer = prepared.trainer;
    this.data = prepared.data;
    this.textHash = textFingerprint(prepared.corpus);
    this.origin = options.from ? { name: options.from.name, sha256: options.from.sha256 } : (checkpoint?.origin ?? null);
    this.fineTuning = options.from ? fineTuneNote(options.from, prepared.added) : null;
    const run = checkpoint?.run;
    this.resumed = run !== undefined;
    this.bestValLoss = run?.bestValLoss ?? null;
    this.sinceBest = run?.sinceBest ?? 0;
    this.timeBefore = options.timeBefore ?? 0;
    this.smoothed = new SmoothedLoss(run?.smoothLoss ?? null);
    // Checkpoints before line mode did not count characters; their runs were on streams of batch x seq.
    this.chars = run?.chars ?? this.trainer.steps * settings.batch * settings.seq;
    this.totalSteps = stopStep(this.limits, this.trainer.batcher.stepsPerEpoch);
  }

  get settings(): RunSettings {
    return this.currentSettings;
  }

  /** Whether this invocation re-plans its schedule to end at the deadline: a cosine set to, and a time budget. */
  get followsDeadline(): boolean {
    const s = this.settings;
    return s.scheduleEnd === 'deadline' && s.lrSchedule === 'cosine' && Number.isFinite(this.limits.seconds);
  }

  /** Calls `listener` with every event from now on; returns the unsubscribe function. */
  on(listener: (e: RunEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Asks the run to stop: the current step finishes (a validation in progress
   * is abandoned), the run saves and ends with reason 'signal'.
   */
  requestStop(message = 'stopped on request'): void {
    if (this.stopReason !== null) return;
    this.stopReason = 'signal';
    this.stopMessage = message;
  }

  get stopRequested(): boolean {
    return this.stopReason === 'signal';
  }

  /** Trains until a limit, patience or a stop request; saves; returns the result event. */
  async train(): Promise<Extract<RunEvent, { type: 'result' }>> {
    const { settings: s, trainer, model, data } = this;
    // What a validation scores and a step trains on, to guess a validation's time before one is timed.
    const budget = new Budget(this.limits.seconds ?? Infinity, this.startedAt, data.validates ? data.valChars : 0, data.charsPerStep);
    this.budget = budget;
    this.emit({
      type: 'config',
      ...this.position(),
      resumed: this.resumed,
      model: { ...model.config },
      settings: { ...s, ...this.limits },
      corpus: {
        source: this.corpus.source,
        chars: this.corpus.ids.length,
        trainChars: data.trainChars,
        valChars: data.valChars,
        vocab: this.vocab.size,
        lines: data.lines,
        ...data.lineCounts,
      },
      params: model.params.size,
      backend: model.kernels.name,
      totalSteps: this.totalSteps,
      budgetSeconds: this.limits.seconds ?? null,
    });
    if (this.fineTuning !== null) this.note(this.fineTuning);
    for (const message of this.options.notes ?? []) this.note(message);
    const savedLr = this.options.checkpoint?.run.settings.lr;
    if (typeof savedLr === 'number' && savedLr !== s.lr)
      this.note(`the learning rate changes from ${savedLr} to ${s.lr} at step ${trainer.steps}`);
    if (this.totalSteps !== null && trainer.steps >= this.totalSteps) {
      this.note(`the run had already reached its ${this.totalSteps} steps; give a larger ${this.names('steps')} to train on`);
    }

    // A fine-tuning run scores its starting point first: small texts overfit fast, and the best model may be the one it started from.
    if (this.fineTuning !== null && trainer.steps === 0 && this.stopReason === null) await this.validate();
    const follower = this.followsDeadline ? new DeadlineFollower(this.now()) : null;
    const checkEvery = replanEvery(s.valEvery, s.scheduleSteps);
    let last: StepResult | null = null;
    let lastYield = this.now();
    while (this.stopReason === null) {
      const limit = this.limitReached(last, budget);
      if (limit) {
        this.stop('limit', limit);
        break;
      }
      const t0 = this.now();
      try {
        last = trainer.step();
      } catch (e) {
        const error =
          e instanceof DivergedError ? new CharrnnError(`${e.problem} (${this.savedSoFar()}); try a smaller learning rate.`) : e;
        if (error instanceof CharrnnError) this.emit({ type: 'stopped', ...this.position(), reason: 'diverged', message: error.message });
        throw error;
      }
      const dt = (this.now() - t0) / 1000;
      budget.recordStep(dt);
      follower?.recordStep();
      this.chars += last.chars;
      this.recordTiming(dt, last.chars);
      this.emit({
        type: 'step',
        ...this.position(),
        loss: last.loss,
        smoothLoss: this.smoothed.add(last.loss),
        lr: last.lr,
        gradNorm: last.gradNorm,
        charsPerSecond: this.throughput(),
      });
      if (budget.wantsProbe()) this.probeValidation(budget);
      if (s.valEvery > 0 && last.step % s.valEvery === 0 && budget.allowsValidation(this.now())) await this.validate();
      // After the validation (its time is in the window, and measured for the closing reserve), before any save (which keeps the new plan).
      if (follower && last.step % checkEvery === 0) this.followDeadline(follower, budget);
      if (s.sampleEvery !== undefined && s.sampleEvery > 0 && last.step % s.sampleEvery === 0) await this.sample();
      if (s.checkpointEvery > 0 && last.step % s.checkpointEvery === 0) await this.saveLatest();
      if (this.now() - lastYield > YIELD_MS) {
        await new Promise(resolve => setTimeout(resolve, 0));
        lastYield = this.now();
      }
    }
    const stepped = this.stepsThisRun > 0;
    // The closing validation, unless the user asked to stop now or the last step was just validated.
    if (stepped && this.stopReason !== 'signal' && this.lastValidatedStep !== trainer.steps) await this.validate(true);
    if (stepped && this.lastSavedStep !== trainer.steps) await this.saveLatest();
    if (this.stopReason !== null) this.emit({ type: 'stopped', ...this.position(), reason: this.stopReason, message: this.stopMessage });
    const text = stepped && s.sampleLength > 0 && this.stopReason !== 'signal' ? await this.sampleText() : null;
    const result = {
      type: 'result' as const,
      ...this.position(),
      reason: this.stopReason ?? 'limit',
      stepsThisRun: this.stepsThisRun,
      trainSeconds: this.trainSeconds,
      charsPerSecond: this.throughput(),
      lastLoss: last?.loss ?? NaN,
      valLoss: this.valLoss,
      bestValLoss: this.bestValLoss,
      sample: text,
    };
    this.emit(result);
    return result;
  }

  /** Re-plans the schedule's rest when the measured speed says the deadline is elsewhere, and says so. */
  private followDeadline(follower: DeadlineFollower, budget: Budget): void {
    const now = this.now();
    const check = follower.check(now, this.trainer.schedule, this.trainer.steps, budget.remaining(now) - budget.closingSeconds());
    if (!check?.schedule) return;
    this.trainer.reschedule(check.schedule);
    this.currentSettings = { ...this.currentSettings, scheduleReplans: check.schedule.replans ?? [] };
    const charsPerSecond = this.data.charsPerSecond(check.secondsPerStep);
    const rate = charsPerSecond === null ? '' : ` (${Math.round(charsPerSecond).toLocaleString('en')} chars/s)`;
    this.note(
      `the learning rate now reaches ${this.settings.lrMin} at step ${check.to.toLocaleString('en')}, not ${check.from.toLocaleString('en')}: ` +
        `${check.secondsPerStep.toFixed(3)} s per step over the last ${check.steps}${rate}, ${Math.round(check.secondsLeft)} s left to train`,
    );
  }

  // Throughput: the steady state once past the warm-up steps; until then, the speed so far.
  private stepsThisRun = 0;
  private charsThisRun = 0;
  private trainSeconds = 0;
  private timedChars = 0;
  private timedSeconds = 0;
  private budget: Budget | null = null;

  /** @param chars the characters the step trained on (StepResult.chars: padding of line batches not counted) */
  private recordTiming(dt: number, chars: number): void {
    this.trainSeconds += dt;
    this.charsThisRun += chars;
    if (++this.stepsThisRun > WARMUP_STEPS) {
      this.timedSeconds += dt;
      this.timedChars += chars;
    }
  }

  private throughput(): number {
    return this.timedSeconds > 0 ? this.timedChars / this.timedSeconds : this.trainSeconds > 0 ? this.charsThisRun / this.trainSeconds : 0;
  }

  /** Which limit ends the run before the next step, in words, or null. */
  private limitReached(last: StepResult | null, budget: Budget): string | null {
    const steps = this.trainer.steps;
    if (this.totalSteps !== null && steps >= this.totalSteps) {
      return this.limits.steps !== undefined && this.totalSteps === this.limits.steps
        ? `reached ${this.names('steps')} ${this.totalSteps}`
        : `reached ${this.limits.epochs ?? DEFAULT_EPOCHS} epochs (step ${this.totalSteps})`;
    }
    if (last !== null && !budget.allowsStep(this.now())) {
      return `the ${formatSeconds(budget.seconds)} budget leaves time only for the final validation and save`;
    }
    return null;
  }

  private stop(reason: StopReason, message: string): void {
    if (this.stopReason !== null) return;
    this.stopReason = reason;
    this.stopMessage = message;
  }

  private position(): RunPosition {
    const step = this.trainer.steps;
    return {
      step,
      epoch: this.trainer.batcher.epoch,
      chars: this.chars,
      time: this.timeBefore + (this.now() - this.startedAt) / 1000,
    };
  }

  private emit(e: RunEvent): void {
    for (const l of this.listeners) l(e);
  }

  private note(message: string): void {
    this.emit({ type: 'note', ...this.position(), message });
  }

  /**
   * Validates (and saves a new best) with the weights the run evaluates: the
   * moving average when it keeps one.
   * @param closing the run's last validation: its sample is the result's, not a sample event
   */
  private async validate(closing = false): Promise<void> {
    if (!this.data.validates) return;
    await withEvaluationWeights(this.trainer, () => this.validateNow(closing));
  }

  private async validateNow(closing: boolean): Promise<void> {
    const s = this.settings;
    const t0 = this.now();
    const until = closing ? (this.budget?.closingValidationEnd() ?? Infinity) : Infinity;
    const sums = await runPass(this.data.validationPass(this.model), {
      now: this.now,
      shouldStop: () => this.stopRequested,
      until,
      expected: this.data.valChars,
    });
    if (sums === null || sums.count === 0) return; // abandoned for a stop request
    this.budget?.recordValidation((this.now() - t0) / 1000, sums.count);
    const loss = sums.total / sums.count;
    if (!sums.complete) {
      this.note(
        `the closing validation scored ${sums.count.toLocaleString('en')} of the ${this.data.valChars.toLocaleString('en')} held-out ` +
          `characters: the ${formatSeconds(this.budget!.seconds)} budget left no time for the rest`,
      );
    }
    this.lastValidatedStep = this.trainer.steps;
    this.valLoss = loss;
    const best = this.bestValLoss === null || loss < this.bestValLoss;
    if (best) {
      this.bestValLoss = loss;
      this.sinceBest = 0;
    } else {
      this.sinceBest++;
    }
    const event: ValidationEvent = {
      type: 'validation',
      ...this.position(),
      loss,
      best,
      bestLoss: this.bestValLoss!,
      sinceBest: this.sinceBest,
    };
    this.emit(event);
    if (best) await this.save(['best'], () => [this.modelBytes({ val_loss: String(loss) })]);
    if (s.sampleEvery === undefined && !closing) this.emitSample(this.sampleNow());
    if (s.patience > 0 && this.sinceBest >= s.patience) {
      this.stop(
        'patience',
        `${this.sinceBest} validations in a row without a new best (${this.names('patience')} ${s.patience}); the best is ${this.bestValLoss!.toFixed(4)}`,
      );
    }
  }

  /**
   * Times a few pieces of a validation pass, so that the budget knows what a
   * validation costs per character before the first one runs (the weights do
   * not change the cost, nor does an evaluation pass change training).
   */
  private probeValidation(budget: Budget): void {
    const pieces = this.data.validationPass(this.model)[Symbol.iterator]();
    const t0 = this.now();
    const first = pieces.next();
    if (first.done) return;
    // The first piece also sets the pass up: timed alone only when it is the whole pass.
    const t1 = this.now();
    let last = first.value;
    let timed = 0;
    for (; timed < PROBE_PIECES; timed++) {
      const next = pieces.next();
      if (next.done) break;
      last = next.value;
    }
    pieces.return?.();
    if (timed === 0) budget.recordValidation((t1 - t0) / 1000, first.value.count);
    else budget.recordValidation((this.now() - t1) / 1000, last.count - first.value.count);
  }

  private async sample(): Promise<void> {
    if (this.settings.sampleLength <= 0) return;
    this.emitSample(await this.sampleText());
  }

  private emitSample(text: string | null): void {
    if (text === null) return;
    this.emit({
      type: 'sample',
      ...this.position(),
      prime: this.settings.samplePrime,
      temperature: this.settings.sampleTemperature,
      text,
      ...(this.data.lines ? { lines: true } : {}),
    });
  }

  /**
   * A sample from the weights the run evaluates; it draws from its own
   * generator, so training is unaffected. A line model's is whole lines (TrainingData.sample).
   */
  private async sampleText(): Promise<string> {
    return withEvaluationWeights(this.trainer, () => this.sampleNow()!);
  }

  /** A sample from the weights as they are now (null when samples are off). */
  private sampleNow(): string | null {
    const s = this.settings;
    if (s.sampleLength <= 0) return null;
    return this.data.sample(this.model, this.vocab, s);
  }

  /** The model file holds the weights the run evaluates (the average when kept); the checkpoint, the raw ones beside it. */
  private async saveLatest(): Promise<void> {
    await this.save(['model', 'checkpoint'], async () => [
      await withEvaluationWeights(this.trainer, () => this.modelBytes()),
      encodeCheckpoint(this.trainer, this.vocab, this.record(), originMetadata(this.origin)),
    ]);
    this.lastSavedStep = this.trainer.steps;
  }

  /**
   * What the run's store holds now, for a run that cannot go on: the files this
   * invocation saved, or a resumed run's files as it found them, or nothing.
   * (A forced new run's folder was emptied of the old run's files before it started.)
   */
  private savedSoFar(): string {
    const latest = this.savedAt.get('model') ?? this.options.checkpoint?.steps;
    const best = this.savedAt.get('best');
    const kept = [
      ...(latest === undefined ? [] : [`the model and checkpoint of step ${latest}`]),
      ...(best === undefined ? [] : [`the best model of step ${best}`]),
    ];
    if (kept.length === 0) return 'nothing was saved';
    return `${kept.join(' and ')} ${latest === undefined ? 'is' : 'are'} kept`;
  }

  private async save(files: SavedFile[], encode: () => Uint8Array[] | Promise<Uint8Array[]>): Promise<void> {
    const t0 = this.now();
    const bytes = await encode();
    for (let i = 0; i < files.length; i++) {
      await this.store.save(files[i], bytes[i]);
      this.savedAt.set(files[i], this.trainer.steps);
    }
    this.budget?.recordSave((this.now() - t0) / 1000);
    this.emit({ type: 'saved', ...this.position(), files });
  }

  private modelBytes(extra: Record<string, string> = {}): Uint8Array {
    const s = this.settings;
    const training = JSON.stringify({
      steps: this.trainer.steps,
      corpus: this.corpus.source,
      batch: s.batch,
      seq: s.seq,
      seed: s.seed,
    });
    return encodeModel(this.model, this.vocab, { training, ...this.data.modelMetadata, ...originMetadata(this.origin), ...extra });
  }

  /** What the checkpoint keeps of the run itself. */
  private record(): RunRecord {
    const settings: Record<string, unknown> = { ...this.settings };
    return {
      settings,
      limits: { ...this.limits },
      textHash: this.textHash,
      bestValLoss: this.bestValLoss,
      sinceBest: this.sinceBest,
      smoothLoss: this.smoothed.state,
      chars: this.chars,
    };
  }
}

function formatSeconds(s: number): string {
  return s >= 120 && s % 60 === 0 ? `${s / 60}-minute` : `${s}-second`;
}
