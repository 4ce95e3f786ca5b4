// The recipe applied to a time-budgeted run: measure this machine's speed on the
// text, let chooseRecipe pick around what the user gave, and plan the schedule's
// length (saved with the settings; the run re-plans it to the deadline as it
// goes, and keeps the re-plans beside it, so a resumed run keeps the same curve). Platform-neutral: the clock is the caller's, and the probe's seconds
// come out of the budget.
import type { Kernels } from '../kernels/kernels.js';
import type { ModelConfig } from '../model/config.js';
import { plannedSteps } from '../train/schedule.js';
import type { TokenIds } from '../data/streams.js';
import { measureSpeeds, type ProbeModel } from './probe.js';
import {
  chooseFineTuneRecipe,
  chooseRecipe,
  FINE_TUNE_VALIDATION_SHARE,
  VALIDATION_SHARE,
  type MeasuredSpeed,
  type Recipe,
} from './recipe.js';
import { LIBRARY_NAMES, type SettingNames } from './setting-error.js';
import { DEFAULT_SETTINGS, type RunSettings } from './settings.js';

/** What {@link budgetRecipe} chose: the run's settings, and why, in one line. */
export interface BudgetRecipe {
  /** The run's settings: the recipe's, the user's given ones over them. */
  settings: RunSettings;
  /** One line: what was chosen and why, and what the probe measured. */
  explanation: string;
}

/** What {@link budgetRecipe} chooses from: the text, the engine, the user's settings and the budget. */
export interface BudgetRecipeOptions {
  /** The training text as ids (TrainingText.ids): the probe trains on it. */
  ids: TokenIds;
  /** The text's vocabulary size. */
  vocabSize: number;
  /** The engine the run will train on: the probe measures this one. */
  kernels: Kernels<Float32Array>;
  /** The settings without the recipe (default: DEFAULT_SETTINGS); what the recipe chooses replaces theirs. */
  base?: RunSettings;
  /** What the user gave explicitly: it wins over the recipe. */
  given: Partial<RunSettings>;
  /** The whole budget in seconds, the probe included. */
  seconds: number;
  /** Milliseconds, monotonic; its reading at the call is when the budget started. */
  now: () => number;
  /** How the explanation names settings (default: the library's names). */
  names?: SettingNames;
  /** Fine-tuning: the starting model's architecture, which stays; the recipe plans a fine-tune of it (chooseFineTuneRecipe). */
  fineTune?: Pick<ModelConfig, 'cell' | 'layers' | 'hidden' | 'emb'>;
}

/** Share of the budget the probe may take, and its bounds in seconds. */
const PROBE_SHARE = 0.02;
const PROBE_SECONDS = { min: 0.5, max: 6 };
/** Measurements after the first choice at most (each choice of a size not yet measured as it will train measures it). */
const MAX_EXTRA_PROBES = 2;
/** Below this budget the recipe picks among small models, and the probe measures one; above, two larger ones. */
const SHORT_BUDGET_SECONDS = 180;

/** The models the probe measures: near what the recipe is likely to pick for the budget (the speeds of others are scaled from them). */
export function probeModels(seconds: number, given: Partial<RunSettings>): ProbeModel[] {
  const cell = given.cell ?? DEFAULT_SETTINGS.cell;
  const emb = given.emb ?? DEFAULT_SETTINGS.emb;
  const sizes =
    seconds < SHORT_BUDGET_SECONDS
      ? [{ layers: 2, hidden: 128 }]
      : [
          { layers: 2, hidden: 256 },
          { layers: 2, hidden: 512 },
        ];
  return sizes.map(s => ({ cell, emb, ...s }));
}

/** Seconds the probe takes of a budget. */
export function probeSeconds(budget: number): number {
  return Math.min(PROBE_SECONDS.max, Math.max(PROBE_SECONDS.min, PROBE_SHARE * budget));
}

/**
 * Chooses a run's settings for a time budget: measures this machine's speed
 * on the text for a few seconds (taken from the budget), picks the model size,
 * dropout, learning rate, schedule and validation the budget can train well
 * (the batch stays the default unless given), and plans the cosine's length to
 * the deadline. What the user gave explicitly (`given`) always wins. Returns
 * the settings and a one-line explanation to show the user. {@link planRun}
 * calls it when the recipe applies.
 */
export async function budgetRecipe(o: BudgetRecipeOptions): Promise<BudgetRecipe> {
  const started = o.now();
  const given = withoutConflicts(o.given);
  const batch = given.batch ?? DEFAULT_SETTINGS.batch;
  const seq = given.seq ?? DEFAULT_SETTINGS.seq;
  const probe = { seconds: probeSeconds(o.seconds) / 2, batch, seq, now: o.now };
  const fixed = o.fineTune && { cell: o.fineTune.cell, layers: o.fineTune.layers, hidden: o.fineTune.hidden, emb: o.fineTune.emb };
  const models = fixed ? [fixed] : probeModels(o.seconds, given);
  const speeds = await measureSpeeds(o.ids, o.vocabSize, o.kernels, models, probe);
  const choose = (): Recipe => {
    const input = {
      speeds,
      textChars: o.ids.length,
      vocabSize: o.vocabSize,
      seconds: Math.max(1, o.seconds - (o.now() - started) / 1000),
      given,
    };
    return fixed ? chooseFineTuneRecipe({ ...input, model: fixed }) : chooseRecipe(input);
  };
  // A speed scaled from another size is a guess (small models are bound by overheads, not
  // multiply-adds), and so is one measured without the dropout the run will use (its masks
  // cost time too): when the choice is a size not measured as it will train, it is measured
  // so, in place of the size's earlier figure, and the choice made again.
  let recipe = choose();
  for (let round = 0; round < MAX_EXTRA_PROBES; round++) {
    const { cell, layers, hidden, emb, dropout, embDropout } = recipe.settings;
    const sameSize = (m: MeasuredSpeed): boolean => m.cell === cell && m.layers === layers && m.hidden === hidden && m.emb === emb;
    if (speeds.some(m => sameSize(m) && sameDropout(m, dropout, embDropout))) break;
    // A slow machine has spent its probe already (each model takes at least a few steps): the estimate stands.
    if ((o.now() - started) / 1000 > 2 * probeSeconds(o.seconds)) break;
    const measured = await measureSpeeds(o.ids, o.vocabSize, o.kernels, [{ cell, layers, hidden, emb, dropout, embDropout }], probe);
    speeds.splice(0, speeds.length, ...speeds.filter(m => !sameSize(m)), ...measured);
    recipe = choose();
  }
  const probed = (o.now() - started) / 1000;
  const left = Math.max(1, o.seconds - probed);
  const r = recipe.settings;
  const share = o.fineTune ? FINE_TUNE_VALIDATION_SHARE : VALIDATION_SHARE;
  const scheduleSteps = given.scheduleSteps ?? plannedSteps(left * (1 - share), (r.batch * r.seq) / recipe.charsPerSecond, r.warmup);
  // A length planned from the probe is a first guess: the run re-plans it to the deadline as it measures its own speed
  // (src/run/deadline.ts). A length the user gave stays fixed unless they ask for the deadline too.
  const scheduleEnd = r.lrSchedule === 'cosine' && given.scheduleSteps === undefined ? 'deadline' : 'steps';
  const { patience, ...chosen } = r;
  const settings: RunSettings = {
    ...(o.base ?? DEFAULT_SETTINGS),
    ...chosen,
    ...(patience === undefined ? {} : { patience }),
    scheduleSteps,
    scheduleEnd,
    ...given,
  };
  const measured = speeds
    .map(
      s =>
        `${s.layers}x${s.hidden}${s.dropout || s.embDropout ? ' with dropout' : ''} at ` +
        `${Math.round(s.charsPerSecond).toLocaleString('en')} chars/s`,
    )
    .join(', ');
  return {
    settings,
    explanation: `${recipe.explanation} (measured ${measured} in ${probed.toFixed(1)} s; ${(o.names ?? LIBRARY_NAMES)('recipe')} off for the plain defaults)`,
  };
}

/**
 * Whether a speed was measured with dropout where the run will have it: the
 * masks cost about the same at any rate above 0, so only on or off matters.
 */
function sameDropout(m: MeasuredSpeed, dropout: number, embDropout: number): boolean {
  return (m.dropout ?? 0) > 0 === dropout > 0 && (m.embDropout ?? 0) > 0 === embDropout > 0;
}

/**
 * The user's settings with what the recipe must not add around them: a step
 * decay asked for keeps the step schedule, an optimizer other than Adam gets no
 * weight decay (AdamW is Adam's).
 */
function withoutConflicts(given: Partial<RunSettings>): Partial<RunSettings> {
  const out = { ...given };
  if (out.lrSchedule === undefined && (out.lrDecayEvery ?? 0) > 0) out.lrSchedule = 'step';
  if (out.weightDecay === undefined && out.optimizer !== undefined && out.optimizer !== 'adam') out.weightDecay = 0;
  return out;
}
