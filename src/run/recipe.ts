// The recipe: what to train for a time budget, as a pure function of the
// measured speed, the text's size and the budget. The user's explicit settings
// win; the recipe fills the rest around them. Platform-neutral: the caller
// measures the speed (a few seconds of training a probe model on the text).
//
// The numbers rest on this evidence (docs/recipe-experiments.md), from this
// 2-core machine, where native trains 2x256 at ~24.6k and 2x512 at ~6.5k chars/s:
// - a hand-picked 2x512 LSTM, dropout 0.25, batch 50 x 50, lr x0.97 every 200
//   steps reached 1.454 nats/char on tinyshakespeare's last 10% in 15 minutes
//   (~5.9 M characters seen: ~5.9 epochs, ~1.8 per parameter);
// - the PyTorch reference (2x256, no dropout) reaches 1.52 after 2,000 steps
//   (5 M characters: ~5 epochs, ~5.7 per parameter) and then overfits.
// So with dropout a larger model wins even at under 2 characters per parameter,
// provided it makes a few passes over the text; and dropout must grow with how
// often each parameter sees each character.
import type { CellType } from '../kernels/kernels.js';
import { GATES } from '../kernels/kernels.js';
import { parameterCount } from '../train/memory-estimate.js';
import type { ScheduleName } from '../train/schedule.js';
import type { ValSplit } from '../data/split.js';

/** Everything the recipe chooses; the names are the CLI's and the run settings'. */
export interface RecipeSettings {
  cell: CellType;
  layers: number;
  hidden: number;
  emb: number;
  batch: number;
  seq: number;
  dropout: number;
  embDropout: number;
  weightDecay: number;
  lr: number;
  lrSchedule: ScheduleName;
  warmup: number;
  lrMin: number;
  /** Steps the schedule spans: the steps the budget allows at the estimated speed. */
  scheduleSteps: number;
  /** Moving-average decay of the weights (0: none). */
  ema: number;
  valSplit: ValSplit;
  valFrac: number;
  valEvery: number;
  /** Validations without a new best before the run stops (a fine-tune's choice; absent: the run's own). */
  patience?: number;
}

/** A training speed measured on this machine, on this text. */
export interface MeasuredSpeed {
  layers: number;
  hidden: number;
  /** Of the measured model; the recipe's embedding is the same unless given. */
  emb: number;
  cell: CellType;
  /** Training characters per second (batch x seq x steps / seconds), after warm-up. */
  charsPerSecond: number;
  /** The dropout rates it was measured with (absent: none). */
  dropout?: number;
  embDropout?: number;
}

export interface RecipeInput {
  /** One or more measured speeds (a probe model, or several sizes); the nearest in cost is scaled to each candidate. */
  speeds: MeasuredSpeed[];
  /** Characters of the whole text (before the validation split). */
  textChars: number;
  vocabSize: number;
  /** The training budget in seconds. */
  seconds: number;
  /** What the user gave explicitly: these win. */
  given?: Partial<RecipeSettings>;
}

export interface Recipe {
  settings: RecipeSettings;
  /** Estimated training speed of the chosen model, characters per second. */
  charsPerSecond: number;
  /** Estimated passes over the training text. */
  epochs: number;
  parameters: number;
  /** One line for a person: what was chosen and why. */
  explanation: string;
}

/** Model sizes the recipe picks from, smallest first (parameters grow along the list for any vocabulary). */
export const CANDIDATES: readonly { layers: number; hidden: number }[] = [
  { layers: 1, hidden: 64 },
  { layers: 1, hidden: 128 },
  { layers: 2, hidden: 128 },
  { layers: 2, hidden: 192 },
  { layers: 2, hidden: 256 },
  { layers: 2, hidden: 384 },
  { layers: 2, hidden: 512 },
  { layers: 3, hidden: 512 },
  { layers: 3, hidden: 640 },
  { layers: 3, hidden: 768 },
  { layers: 3, hidden: 1024 },
];

/** Characters a model must see per parameter (the 15-minute 2x512 saw 1.8). */
export const CHARS_PER_PARAMETER = 1.5;
/**
 * Characters a model must see to get going, whatever the text (the 15-minute 2x512
 * saw 5.9 M, the 2x256 reference did well by 5 M): 1,600 steps of 50 x 50.
 * When even the smallest model cannot, a quarter of what it can.
 */
export const MIN_CHARS_SEEN = 4_000_000;
/** A speed scaled from a measured one is trusted up to this factor above it (small models are overhead-bound). */
export const MAX_SPEEDUP = 4;
/** At most this many parameters per character of text: more only memorises (2x512 on 1 M characters is 3.3). */
export const PARAMETERS_PER_TEXT_CHAR = 6;
/** Share of the budget validation may take. */
export const VALIDATION_SHARE = 0.03;
/** Most characters held out for validation (40 windows): a steady estimate, little text lost. */
export const MAX_VAL_CHARS = 40_000;
/** Validation at most this often, in steps (a tiny held-out text would otherwise validate every step). */
export const MIN_VAL_EVERY = 25;
const DEFAULTS = { cell: 'lstm' as CellType, emb: 64, batch: 50, seq: 50, lr: 2e-3 };

/** Multiply-adds per character of a forward pass: what a training step's time is proportional to. */
export function costPerChar(cell: CellType, layers: number, hidden: number, emb: number, vocab: number): number {
  const G = GATES[cell] * hidden;
  let n = vocab * hidden;
  for (let l = 0; l < layers; l++) n += G * ((l === 0 ? emb : hidden) + hidden);
  return n;
}

/** Speed of a model estimated from the measured speed nearest to it in cost, scaled by the cost ratio. */
export function estimateSpeed(speeds: MeasuredSpeed[], cell: CellType, layers: number, hidden: number, emb: number, vocab: number): number {
  if (speeds.length === 0) throw new RangeError('the recipe needs at least one measured speed');
  const cost = costPerChar(cell, layers, hidden, emb, vocab);
  let best = speeds[0];
  let bestDistance = Infinity;
  for (const s of speeds) {
    const d = Math.abs(Math.log(costPerChar(s.cell, s.layers, s.hidden, s.emb, vocab) / cost));
    if (d < bestDistance) [best, bestDistance] = [s, d];
  }
  const ratio = costPerChar(best.cell, best.layers, best.hidden, best.emb, vocab) / cost;
  return best.charsPerSecond * Math.min(MAX_SPEEDUP, ratio);
}

export function chooseRecipe(input: RecipeInput): Recipe {
  const { speeds, textChars, vocabSize: V, seconds } = input;
  const given = input.given ?? {};
  if (!(seconds > 0 && textChars > 0 && V > 0)) throw new RangeError('the recipe needs a positive budget, text size and vocabulary');
  const cell = given.cell ?? DEFAULTS.cell;
  const emb = given.emb ?? DEFAULTS.emb;
  const batch = given.batch ?? DEFAULTS.batch;
  const seq = given.seq ?? DEFAULTS.seq;
  const trainSeconds = seconds * (1 - VALIDATION_SHARE);
  const seen = (layers: number, hidden: number): number => estimateSpeed(speeds, cell, layers, hidden, emb, V) * trainSeconds;

  // The model: the largest candidate that sees CHARS_PER_PARAMETER characters per parameter
  // and MIN_CHARS_SEEN characters in all, and is not far larger than the text; the smallest
  // when none does. A size the user gave fixes that dimension; the other is chosen the same way.
  const options = CANDIDATES.map(c => ({ layers: given.layers ?? c.layers, hidden: given.hidden ?? c.hidden })).filter(
    (c, i, all) => all.findIndex(o => o.layers === c.layers && o.hidden === c.hidden) === i,
  );
  const minChars = Math.min(MIN_CHARS_SEEN, seen(options[0].layers, options[0].hidden) / 2);
  const fits = (layers: number, hidden: number): boolean => {
    const p = parameterCount({ cell, layers, hidden, emb, vocabSize: V, dropout: 0 });
    const chars = seen(layers, hidden);
    return chars >= CHARS_PER_PARAMETER * p && chars >= minChars && p <= PARAMETERS_PER_TEXT_CHAR * textChars;
  };
  let size = options[0];
  for (const c of options) if (fits(c.layers, c.hidden)) size = c;
  const { layers, hidden } = size;

  const parameters = parameterCount({ cell, layers, hidden, emb, vocabSize: V, dropout: 0 });
  const charsPerSecond = estimateSpeed(speeds, cell, layers, hidden, emb, V);
  const totalChars = charsPerSecond * trainSeconds;
  const valFrac = given.valFrac ?? Number(Math.min(0.05, MAX_VAL_CHARS / textChars).toPrecision(2));
  const trainChars = textChars * (1 - valFrac);
  const epochs = totalChars / trainChars;
  const steps = Math.max(1, Math.floor(totalChars / (batch * seq)));

  // Overfitting pressure: passes over the text times parameters per character. Dropout
  // grows with its log, fitted to three runs on tinyshakespeare (docs/recipe-experiments.md):
  // at ~19 (2x512, 5.2 epochs) dropout 0.1 scored 1.431 and 0.2 1.457, both underfit;
  // at ~58 (3x512, 8-10 epochs) 0.35 was still underfit; at ~230 (3x512, 34-41 epochs)
  // 0.5 overfit. The reference's 2x256 without dropout overfits from ~5.
  const pressure = (epochs * parameters) / trainChars;
  const dropout = given.dropout ?? roundTo(clamp(0.12 * Math.log2(pressure / 10), 0, 0.5), 0.05);
  const embDropout = given.embDropout ?? (dropout >= 0.2 ? 0.1 : 0);
  const weightDecay = given.weightDecay ?? (dropout >= 0.2 ? 0.1 : 0);
  // Larger models take smaller steps (Adam's usual rule of thumb), 2e-3 up to 512 units.
  const lr = given.lr ?? roundTo(DEFAULTS.lr * Math.sqrt(512 / Math.max(512, hidden)), 1e-4);
  const lrSchedule = given.lrSchedule ?? 'cosine';
  const warmup = given.warmup ?? Math.min(200, Math.floor(steps / 50));
  const lrMin = given.lrMin ?? roundTo(lr / 20, 1e-5);
  // The average spans ~2% of the run (at least 100 steps), and only when the run is long enough for it to matter.
  const ema = given.ema ?? (steps >= 2000 ? roundTo(1 - 1 / Math.min(2000, Math.max(100, steps / 50)), 1e-4) : 0);
  const valSplit = given.valSplit ?? 'spread';
  // A validation pass costs about a third of training on as many characters (forward only):
  // spread them so that all of them together take VALIDATION_SHARE of the budget.
  const valChars = textChars * valFrac;
  const validations = Math.max(1, Math.floor((VALIDATION_SHARE * totalChars * 3) / Math.max(1, valChars)));
  const valEvery = given.valEvery ?? Math.max(MIN_VAL_EVERY, Math.ceil(steps / validations));
  const scheduleSteps = given.scheduleSteps ?? steps;

  const settings: RecipeSettings = {
    cell,
    layers,
    hidden,
    emb,
    batch,
    seq,
    dropout,
    embDropout,
    weightDecay,
    lr,
    lrSchedule,
    warmup,
    lrMin,
    scheduleSteps,
    ema,
    valSplit,
    valFrac,
    valEvery,
  };
  const explanation =
    `${layers}x${hidden} ${cell.toUpperCase()} (${millions(parameters)} parameters), dropout ${dropout}` +
    `${embDropout ? `, embedding dropout ${embDropout}` : ''}: ~${epochs.toFixed(1)} epochs of ${millions(trainChars)} characters in ` +
    `${duration(seconds)} at ~${thousands(charsPerSecond)} chars/s; ${lrSchedule} lr ${lr}${lrSchedule === 'cosine' ? ` to ${lrMin}` : ''} ` +
    `over ${steps.toLocaleString('en')} steps${warmup ? ` after ${warmup} warm-up` : ''}${weightDecay ? `, AdamW ${weightDecay}` : ''}` +
    `${ema ? `, EMA ${ema}` : ''}; validating ${valSplit === 'spread' ? 'spread windows' : 'the tail'} (${millions(valChars)} chars) every ${valEvery} steps`;
  return { settings, charsPerSecond, epochs, parameters, explanation };
}

/** The model a fine-tune keeps: its size and cell are not the recipe's to choose. */
export interface FixedModel {
  cell: CellType;
  layers: number;
  hidden: number;
  emb: number;
}

/** What {@link chooseFineTuneRecipe} plans from: a recipe's input and the starting model. */
export interface FineTuneRecipeInput extends RecipeInput {
  /** The starting model's architecture (the vocabulary size is the grown one, RecipeInput's). */
  model: FixedModel;
}

/**
 * A fine-tune's peak learning rate, as a share of the one the recipe gives a
 * fresh model of the same size. A lower peak (0.3 or 0.6 of it) left minute-long
 * fine-tunes underfit, still falling at their last step (docs/recipe-experiments.md,
 * Fine-tuning): the warm-up, not a lower peak, keeps the first steps from throwing the model off.
 */
export const FINE_TUNE_LR_SHARE = 1;
/** A fine-tune's warm-up, at most, in steps: Adam's moments start empty, and the first steps must not throw the model off. */
export const FINE_TUNE_WARMUP = 30;
/** Share of a fine-tune's budget validation may take: a small text overfits within minutes, so the best point must be seen. */
export const FINE_TUNE_VALIDATION_SHARE = 0.06;
/** Validations a fine-tune makes over its budget: at least the first figure, at most the second (each one also prints a sample). */
export const FINE_TUNE_VALIDATIONS = { min: 12, max: 40 };
/** Validations in a row without a new best before a fine-tune stops: past its best point, a small text only overfits. */
export const FINE_TUNE_PATIENCE = 6;
/**
 * Most dropout a fine-tune adds to a model: the pressure rule of a fresh run asks for
 * more, but a pretrained model overfits a small text less than a fresh one (0, 0.1 and
 * 0.2 scored within noise of each other in the experiments), and its weights were
 * trained without it.
 */
export const FINE_TUNE_MAX_DROPOUT = 0.1;
/** Fine-tune's held-out share: about this many characters, between 5% and 10% of the text. */
const FINE_TUNE_VAL_CHARS = 4000;

/**
 * The recipe for fine-tuning a trained model for a time budget: the model's
 * size and cell stay; the peak learning rate is a fresh run's (FINE_TUNE_LR_SHARE), after
 * a short warm-up, down a cosine to a tenth of it; the held-out text is 5-10% of
 * the text, in windows across it, validated early and often; the run stops
 * after FINE_TUNE_PATIENCE validations without a new best, and its best model
 * (best.safetensors) is the one to use. A small text gets fewer streams, so a
 * pass over it is still several steps. What the user gave wins.
 */
export function chooseFineTuneRecipe(input: FineTuneRecipeInput): Recipe {
  const { speeds, textChars, vocabSize: V, seconds, model } = input;
  const given = input.given ?? {};
  if (!(seconds > 0 && textChars > 0 && V > 0)) throw new RangeError('the recipe needs a positive budget, text size and vocabulary');
  const { cell, layers, hidden, emb } = model;
  const seq = given.seq ?? DEFAULTS.seq;
  const valFrac = given.valFrac ?? Number(clamp(FINE_TUNE_VAL_CHARS / textChars, 0.05, 0.1).toPrecision(2));
  const trainChars = textChars * (1 - valFrac);
  const batch = given.batch ?? clamp(Math.floor(trainChars / (seq * 10)), 8, DEFAULTS.batch);
  const charsPerSecond = estimateSpeed(speeds, cell, layers, hidden, emb, V);
  const totalChars = charsPerSecond * seconds * (1 - FINE_TUNE_VALIDATION_SHARE);
  const epochs = totalChars / trainChars;
  const steps = Math.max(1, Math.floor(totalChars / (batch * seq)));
  const parameters = parameterCount({ cell, layers, hidden, emb, vocabSize: V, dropout: 0 });
  // The fresh recipe's overfitting rule (passes times parameters per character), capped: see FINE_TUNE_MAX_DROPOUT.
  const pressure = (epochs * parameters) / trainChars;
  const dropout = given.dropout ?? roundTo(clamp(0.12 * Math.log2(pressure / 10), 0, FINE_TUNE_MAX_DROPOUT), 0.05);
  const embDropout = given.embDropout ?? 0;
  // Weight decay would pull the weights toward zero, away from the model's: none unless asked for.
  const weightDecay = given.weightDecay ?? 0;
  const lr = given.lr ?? roundTo(FINE_TUNE_LR_SHARE * DEFAULTS.lr * Math.sqrt(512 / Math.max(512, hidden)), 1e-5);
  const lrSchedule = given.lrSchedule ?? 'cosine';
  const warmup = given.warmup ?? Math.min(FINE_TUNE_WARMUP, Math.floor(steps / 10));
  const lrMin = given.lrMin ?? roundTo(lr / 10, 1e-6);
  const ema = given.ema ?? 0;
  const valSplit = given.valSplit ?? 'spread';
  const valChars = textChars * valFrac;
  const affordable = Math.floor((FINE_TUNE_VALIDATION_SHARE * totalChars * 3) / Math.max(1, valChars));
  const validations = clamp(affordable, FINE_TUNE_VALIDATIONS.min, FINE_TUNE_VALIDATIONS.max);
  const valEvery = given.valEvery ?? Math.max(10, Math.ceil(steps / validations));
  const patience = given.patience ?? FINE_TUNE_PATIENCE;
  const scheduleSteps = given.scheduleSteps ?? steps;
  const settings: RecipeSettings = {
    cell,
    layers,
    hidden,
    emb,
    batch,
    seq,
    dropout,
    embDropout,
    weightDecay,
    lr,
    lrSchedule,
    warmup,
    lrMin,
    scheduleSteps,
    ema,
    valSplit,
    valFrac,
    valEvery,
    patience,
  };
  const explanation =
    `fine-tune the ${layers}x${hidden} ${cell.toUpperCase()} (${millions(parameters)} parameters), dropout ${dropout}: ` +
    `~${epochs.toFixed(1)} epochs of ${millions(trainChars)} characters in ${duration(seconds)} at ~${thousands(charsPerSecond)} chars/s; ` +
    `${lrSchedule} lr ${lr}${lrSchedule === 'cosine' ? ` to ${lrMin}` : ''} over ${steps.toLocaleString('en')} steps of ${batch} x ${seq}` +
    `${warmup ? ` after ${warmup} warm-up` : ''}; validating ${valSplit === 'spread' ? 'spread windows' : 'the tail'} ` +
    `(${millions(valChars)} chars) from the start and every ${valEvery} steps, stopping after ${patience} without a new best ` +
    `(best.safetensors is the best point)`;
  return { settings, charsPerSecond, epochs, parameters, explanation };
}

function clamp(v: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, v));
}

/** v rounded to a multiple of `unit`, without binary noise in the printed number. */
function roundTo(v: number, unit: number): number {
  const digits = Math.max(0, -Math.floor(Math.log10(unit)));
  return Number((Math.round(v / unit) * unit).toFixed(digits));
}

function millions(n: number): string {
  return n >= 1e6 ? `${(n / 1e6).toFixed(1)}M` : `${Math.round(n / 1e3)}k`;
}

function thousands(n: number): string {
  return n >= 1e4 ? `${Math.round(n / 1e3)}k` : `${(n / 1e3).toFixed(1)}k`;
}

function duration(s: number): string {
  return s >= 120 ? `${Math.round(s / 60)} min` : `${Math.round(s)} s`;
}
