// The step between reading a text and starting a run, the same for every face
// (the CLI, the page, the server): the text in the run's shape (line mode's
// lines), the recipe's settings for a time budget, and a memory check before
// anything is allocated. Platform-neutral: the machine's memory, its engine
// threads and the clock are the caller's.
import { CharrnnError } from '../errors.js';
import type { Kernels } from '../kernels/kernels.js';
import { checkMemory, trainingMemory, type MachineMemory } from '../train/memory-estimate.js';
import { budgetRecipe } from './budget-recipe.js';
import { fineTuneSettings, fineTuneText, type StartingModel } from './fine-tune.js';
import { withLines } from './line-mode.js';
import { LIBRARY_NAMES, SettingError, type SettingNames } from './setting-error.js';
import { DEFAULT_SETTINGS, type RunSettings, type StopLimits } from './settings.js';
import { checkNotBlank, checkSettings } from './check-settings.js';
import { checkSettingRanges } from './setting-ranges.js';
import type { TrainingText } from './training-text.js';

/** When the recipe chooses the settings: auto (a time budget alone, nothing of the model's size given), on, or off. */
export type RecipeWhen = 'auto' | 'on' | 'off';

/**
 * What {@link planRun} plans from: the text as read, the settings and what of
 * them the user gave, the limits, whether to use the recipe, and the engine;
 * optionally the machine's memory to check against, and a clock.
 */
export interface PlanOptions {
  /** The text as read. */
  text: TrainingText;
  /** The settings without the recipe: the defaults and what was given, or a resumed run's. */
  settings: RunSettings;
  /** What the user gave explicitly: it wins over the recipe, and a size given turns recipe auto off. */
  given: Partial<RunSettings>;
  /** When the run stops; the recipe plans for `seconds` alone. */
  limits: StopLimits;
  /** Whether the recipe chooses the settings (see {@link RecipeWhen}). */
  recipe: RecipeWhen;
  /** Whether the run goes on from a checkpoint (its settings are kept: no recipe). */
  resumed: boolean;
  /** The engine the run will train on: the recipe measures its speed. */
  kernels: Kernels<Float32Array>;
  /** The machine's memory, to refuse a run that cannot fit (none: not checked). */
  machine?: MachineMemory;
  /** Engine threads, each with its own scratch (default 1). */
  threads?: number;
  /** Milliseconds, monotonic (default: performance.now); the budget starts at the call, so the recipe's probe counts in it. */
  now?: () => number;
  /** How the recipe's note names settings (default: the library's names). */
  names?: SettingNames;
  /**
   * Fine-tune this model (see {@link startingModel}): the run keeps its size,
   * cell and normalisation (a given setting that contradicts them is refused),
   * and the recipe plans a fine-tune. Give it to the TrainingRun too.
   */
  from?: StartingModel | null;
}

/**
 * What {@link planRun} decided: the text and settings to build the
 * {@link TrainingRun} from, when its budget began, and notes to pass it.
 */
export interface RunPlan {
  /** The text in the run's shape: in line mode, its lines (a fine-tune's still in its own vocabulary: the run grows it). */
  corpus: TrainingText;
  /** The run's settings: the recipe's, the given ones over them, when the recipe applied; else those given to the plan. */
  settings: RunSettings;
  /** The clock's reading when the budget began: give it to the TrainingRun as startedAt. */
  startedAt: number;
  /** Things to say once the run starts (the recipe's choice): give them to the TrainingRun as notes. */
  notes: string[];
}

/**
 * Plans a run: shapes the text, lets the recipe choose the settings when it
 * applies, and refuses (SettingError, one sentence) a recipe asked for where it
 * cannot plan, or a model and batch that would not fit in the machine's memory.
 * The settings' ranges are checked first (checkSettingRanges); their other
 * rules are the TrainingRun's (checkSettings), checked when it is built.
 */
export async function planRun(o: PlanOptions): Promise<RunPlan> {
  const now = o.now ?? ((): number => performance.now());
  const { limits, given, from } = o;
  if (from && o.resumed) {
    throw new SettingError(
      'from',
      n => `${n('from')} starts a new run from a model; a resumed run goes on from its checkpoint, so leave ${n('from')} out.`,
    );
  }
  // Ranges first: the recipe and the memory estimate take the settings as numbers that can be.
  checkSettingRanges(o.settings, limits);
  checkNotBlank(o.text); // before line mode would find no lines in it
  let settings = from ? fineTuneSettings(o.settings, given, from) : o.settings;
  if (o.recipe === 'on') checkRecipeAsked(o.resumed, limits, settings.lines && !from);
  const corpus = withLines(o.text, settings);
  // A fine-tune's vocabulary is the model's and the text's: its size is what the recipe and the memory check plan for.
  const grown = from ? fineTuneText(corpus, from).text : corpus;
  const vocabSize = grown.vocab.size;
  const notes: string[] = [];
  // Line mode's recipe is not calibrated yet (its probe would train streams): it keeps the defaults. A fine-tune's
  // model is given, so its recipe plans line mode too (the probe's streams only time the model).
  const recipeApplies =
    o.recipe === 'on' ||
    (o.recipe === 'auto' &&
      !o.resumed &&
      limits.seconds !== undefined &&
      limits.steps === undefined &&
      limits.epochs === undefined &&
      (from ? true : given.layers === undefined && given.hidden === undefined && !settings.lines));
  // The probe trains on one chunk of the text at least: a text shorter than that is the run's to refuse, in its own words.
  const probeFits = corpus.ids.length > (given.seq ?? DEFAULT_SETTINGS.seq) + 1;
  if (recipeApplies && !probeFits) checkSettings(settings, limits, grown);
  const startedAt = now();
  if (recipeApplies && probeFits) {
    const chosen = await budgetRecipe({
      ids: corpus.ids,
      vocabSize,
      kernels: o.kernels,
      base: settings,
      given,
      seconds: limits.seconds!,
      now,
      names: o.names,
      ...(from ? { fineTune: from.model.config } : {}),
    });
    settings = chosen.settings;
    notes.push(`recipe: ${chosen.explanation}`);
  }
  if (o.machine) checkTrainingMemory(settings, vocabSize, o.machine, o.threads ?? 1);
  return { corpus, settings, startedAt, notes };
}

/** Recipe on where the recipe cannot plan: one sentence saying why. */
function checkRecipeAsked(resumed: boolean, limits: StopLimits, lines: boolean): void {
  if (resumed) {
    throw new SettingError(
      'recipe',
      n => `${n('recipe')} on plans a new run; a resumed run keeps the settings it started with (drop ${n('recipe')} on).`,
    );
  }
  if (limits.seconds === undefined)
    throw new SettingError('recipe', n => `${n('recipe')} on plans a time budget: give ${n('timeBudget')}.`);
  if (limits.steps !== undefined || limits.epochs !== undefined) {
    throw new SettingError(
      'recipe',
      n => `${n('recipe')} on plans a time budget, not ${n('steps')} or ${n('epochs')}: drop them, or use ${n('recipe')} off.`,
    );
  }
  if (lines) {
    throw new SettingError(
      'recipe',
      n =>
        `${n('recipe')} on is not calibrated for line mode (${n('lines')}, or a list corpus such as names) yet: ` +
        `use ${n('recipe')} off (the defaults) or give the settings.`,
    );
  }
}

/** Refuses a model and batch whose training would not fit in the machine's memory (or an engine's, or a JavaScript array). */
export function checkTrainingMemory(s: RunSettings, vocabSize: number, machine: MachineMemory, threads = 1): void {
  const estimate = trainingMemory({
    config: { ...s, vocabSize },
    batch: s.batch,
    seq: s.seq,
    optimizer: s.optimizer,
    threads,
    ema: s.ema > 0,
  });
  const sentence = (n: SettingNames): string | null => {
    try {
      checkMemory(
        estimate,
        machine,
        `a ${s.layers}x${s.hidden} ${s.cell.toUpperCase()} with ${n('emb')} ${s.emb}, ${n('batch')} ${s.batch} ` +
          `and ${n('seq')} ${s.seq} on ${vocabSize} distinct characters`,
        `use a smaller ${n('hidden')}, ${n('layers')}, ${n('emb')}, ${n('batch')} or ${n('seq')}`,
        `${n('backend')} native`,
      );
      return null;
    } catch (e) {
      if (e instanceof CharrnnError) return e.message;
      throw e;
    }
  };
  if (sentence(LIBRARY_NAMES) !== null) throw new SettingError('hidden', n => sentence(n)!);
}
