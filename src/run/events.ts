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
  step: number;
  epoch: number;
  chars: number;
  time: number;
}

export interface ConfigEvent extends RunPosition {
  type: 'config';
  /** True when the run continues from a checkpoint. */
  resumed: boolean;
  model: { cell: string; layers: number; hidden: number; emb: number; dropout: number; vocabSize: number };
  /** The run's settings as the run layer resolved them (flags, recipe, saved settings). */
  settings: Record<string, unknown>;
  /**
   * In line mode, trainChars and valChars count each line's characters and its
   * end-of-line (what a pass scores), and trainLines and valLines the lines.
   */
  corpus: { source: string; chars: number; trainChars: number; valChars: number; vocab: number; lines: boolean; trainLines?: number; valLines?: number };
  params: number;
  backend: string;
  /** The step the run stops at, when a step or epoch limit gives one. */
  totalSteps: number | null;
  /** The wall-clock budget in seconds, when one is given. */
  budgetSeconds: number | null;
}

export interface StepEvent extends RunPosition {
  type: 'step';
  /** Mean cross-entropy of this step's chunk, nats per character. */
  loss: number;
  /** Exponential moving average of the loss (what a display and a plot show). */
  smoothLoss: number;
  lr: number;
  gradNorm: number;
  /** Training characters per second, the warm-up steps excluded. */
  charsPerSecond: number;
}

export interface ValidationEvent extends RunPosition {
  type: 'validation';
  /** Mean cross-entropy of the validation text, nats per character. */
  loss: number;
  /** True when this is the lowest validation loss so far. */
  best: boolean;
  bestLoss: number;
  /** Validations in a row without a new best (what --patience counts). */
  sinceBest: number;
}

export interface SampleEvent extends RunPosition {
  type: 'sample';
  prime: string;
  temperature: number;
  /** What followed the prime; a line model's sample is whole lines instead, each starting with the prime (and `lines` is true). */
  text: string;
  lines?: boolean;
}

export type SavedFile = 'model' | 'best' | 'checkpoint';

export interface SavedEvent extends RunPosition {
  type: 'saved';
  files: SavedFile[];
}

/** Why a run ended. */
export type StopReason = 'limit' | 'patience' | 'signal' | 'diverged';

export interface StoppedEvent extends RunPosition {
  type: 'stopped';
  reason: StopReason;
  /** One sentence for people: which limit, how many validations, which signal. */
  message: string;
}

/** Something the user should know that is not an error (a stale lock taken over, a changed --lr). */
export interface NoteEvent extends RunPosition {
  type: 'note';
  message: string;
}

export interface ResultEvent extends RunPosition {
  type: 'result';
  reason: StopReason;
  /** Steps run by this process (a resumed run started past 0). */
  stepsThisRun: number;
  /** Seconds spent in training steps by this process. */
  trainSeconds: number;
  charsPerSecond: number;
  lastLoss: number;
  valLoss: number | null;
  bestValLoss: number | null;
  /** The final sample (sampleLength characters), if any. */
  sample: string | null;
}

export type RunEvent = ConfigEvent | StepEvent | ValidationEvent | SampleEvent | SavedEvent | StoppedEvent | NoteEvent | ResultEvent;
export type RunEventType = RunEvent['type'];

/** A run event as one JSON object: `event` names the type, keys are snake_case. */
export function eventToJson(e: RunEvent): Record<string, unknown> {
  const { type, ...rest } = e;
  return { event: type, ...snakeKeys(rest) as Record<string, unknown> };
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
