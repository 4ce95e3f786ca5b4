// The events of a training run: what every face (the terminal display, --json,
// DIR/log.jsonl, plots, the server, the page) sees of it. Platform-neutral.
//
// One JSON encoding (`eventToJson`), snake_case like the rest of charrnn's
// machine output; a line of log.jsonl is exactly that object. Every event carries
// where the run stood: `step` (optimizer steps done), `epoch` (passes over the
// training split, fractional), `chars` (training characters seen) and `time`
// (seconds of wall time since the run first started, continued across resumes).

/** Where the run stood when the event happened. */
export interface RunPosition {
  /** Optimizer steps done, across resumes. */
  step: number;
  /** Passes over the training split, fractional. */
  epoch: number;
  /** Training characters seen (scored targets), across resumes. */
  chars: number;
  /** Seconds of wall time since the run first started, continued across resumes. */
  time: number;
}

/**
 * The first event of a run (and of each resume): the model, the settings as
 * resolved, the text and its split, and the limits. Every display draws its
 * header from it.
 */
export interface ConfigEvent extends RunPosition {
  type: 'config';
  /** True when the run continues from a checkpoint. */
  resumed: boolean;
  /** The model's architecture. */
  model: { cell: string; layers: number; hidden: number; emb: number; dropout: number; vocabSize: number };
  /** The run's settings as the run layer resolved them (flags, recipe, saved settings). */
  settings: Record<string, unknown>;
  /**
   * In line mode, trainChars and valChars count each line's characters and its
   * end-of-line (what a pass scores), and trainLines and valLines the lines.
   */
  corpus: {
    source: string;
    chars: number;
    trainChars: number;
    valChars: number;
    vocab: number;
    lines: boolean;
    trainLines?: number;
    valLines?: number;
  };
  /** Parameters of the model (weights and biases), in numbers. */
  params: number;
  /** The engine's name: native, wasm or reference. */
  backend: string;
  /** The step the run stops at, when a step or epoch limit gives one. */
  totalSteps: number | null;
  /** The wall-clock budget in seconds, when one is given. */
  budgetSeconds: number | null;
}

/** One optimizer step: its loss, the smoothed loss, the learning rate, the gradient norm and the speed. */
export interface StepEvent extends RunPosition {
  type: 'step';
  /** Mean cross-entropy of this step's chunk, nats per character. */
  loss: number;
  /** Exponential moving average of the loss (what a display and a plot show). */
  smoothLoss: number;
  /** The learning rate this step used. */
  lr: number;
  /** Global gradient norm before clipping. */
  gradNorm: number;
  /** Training characters per second, the warm-up steps excluded. */
  charsPerSecond: number;
}

/** A validation pass over the held-out text; a new best also saves the 'best' model. */
export interface ValidationEvent extends RunPosition {
  type: 'validation';
  /** Mean cross-entropy of the validation text, nats per character. */
  loss: number;
  /** True when this is the lowest validation loss so far. */
  best: boolean;
  /** The lowest validation loss so far, this one included, nats per character. */
  bestLoss: number;
  /** Validations in a row without a new best (what --patience counts). */
  sinceBest: number;
}

/** A sample of the model's text while training (every sampleEvery steps, or at validations). */
export interface SampleEvent extends RunPosition {
  type: 'sample';
  /** The text the sample continues. */
  prime: string;
  /** Its softmax temperature. */
  temperature: number;
  /** What followed the prime; a line model's sample is whole lines instead, each starting with the prime (and `lines` is true). */
  text: string;
  /** True for a line model's sample: `text` is whole lines. */
  lines?: boolean;
}

/**
 * A file a run saves through its RunStore: 'model' (the latest weights, or
 * their moving average when the run keeps one; in a folder, model.safetensors),
 * 'best' (the weights of the best validation so far, best.safetensors),
 * 'checkpoint' (all the training state needed to resume,
 * checkpoint.safetensors).
 */
export type SavedFile = 'model' | 'best' | 'checkpoint';

/** Files the run has just saved through its store, written whole. */
export interface SavedEvent extends RunPosition {
  type: 'saved';
  /** Which files, in the order they were written. */
  files: SavedFile[];
}

/** Why a run ended. */
export type StopReason = 'limit' | 'patience' | 'signal' | 'diverged';

/**
 * Why the run is stopping: a limit, patience, a stop request or divergence.
 * It comes just before the result event, or, when training diverged, just
 * before `train` throws.
 */
export interface StoppedEvent extends RunPosition {
  type: 'stopped';
  reason: StopReason;
  /** One sentence for people: which limit, how many validations, which signal. */
  message: string;
}

/** Something the user should know that is not an error (a stale lock taken over, a changed --lr). */
export interface NoteEvent extends RunPosition {
  type: 'note';
  /** One sentence. */
  message: string;
}

/**
 * The last event of a run, also what `train` returns: why it stopped and
 * its final figures. Losses are in nats per character.
 */
export interface ResultEvent extends RunPosition {
  type: 'result';
  reason: StopReason;
  /** Steps run by this process (a resumed run started past 0). */
  stepsThisRun: number;
  /** Seconds spent in training steps by this process. */
  trainSeconds: number;
  /** Training characters per second over this process, the warm-up steps excluded once past them. */
  charsPerSecond: number;
  /** The last step's training loss (NaN when no step ran). */
  lastLoss: number;
  /** The last validation loss, or null without validation. */
  valLoss: number | null;
  /** The lowest validation loss of the run, or null. */
  bestValLoss: number | null;
  /** The final sample (sampleLength characters), if any. */
  sample: string | null;
}

/**
 * Everything a {@link TrainingRun} reports, one event at a time: switch on
 * `type`. Every event carries the run's position (step, epoch, chars, time).
 * A run emits one config event first and, unless training diverges, one
 * result event last. A line of DIR/log.jsonl is one event as
 * {@link eventToJson} writes it.
 */
export type RunEvent = ConfigEvent | StepEvent | ValidationEvent | SampleEvent | SavedEvent | StoppedEvent | NoteEvent | ResultEvent;
/** The `type` of a run event: 'config', 'step', 'validation', 'sample', 'saved', 'stopped', 'note' or 'result'. */
export type RunEventType = RunEvent['type'];

/** A run event as one JSON object: `event` names the type, keys are snake_case. */
export function eventToJson(e: RunEvent): Record<string, unknown> {
  const { type, ...rest } = e;
  return { event: type, ...(snakeKeys(rest) as Record<string, unknown>) };
}

function snakeKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(snakeKeys);
  if (v === null || typeof v !== 'object') return typeof v === 'number' ? roundForJson(v) : v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) out[k.replace(/[A-Z]/g, c => `_${c.toLowerCase()}`)] = snakeKeys(x);
  return out;
}

/** Losses and times to 6 significant digits: enough for plots and diffs, short lines. */
function roundForJson(x: number): number | null {
  if (!Number.isFinite(x)) return null;
  if (Number.isInteger(x)) return x;
  return Number(x.toPrecision(6));
}
