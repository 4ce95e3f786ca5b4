// What "what did my model learn?" comes to for one text: plain data (JSON as
// it is), made by explainText and drawn by every face the same way: the CLI's
// HTML report and PNG, and the page's Inside view.
import type { CellType } from '../kernels/kernels.js';

/** Which of a layer's values a unit's numbers are: an LSTM's cell state (as tanh(c)) or a layer's output h. */
export type UnitKind = 'cell' | 'hidden';

/** One unit of the model: layer (0 the bottom one), kind and index. */
export interface UnitRef {
  layer: number;
  kind: UnitKind;
  unit: number;
}

/** A unit and how strongly it follows a feature: Pearson's r over the text (negative: it follows the feature's opposite). */
export interface UnitCorrelation extends UnitRef {
  r: number;
}

/** A text feature and the units that follow it most closely, strongest first. */
export interface FeatureUnits {
  /** Its short name ("quote", "bracket depth", ... or the user's pattern). */
  name: string;
  /** What it measures at a character, in a sentence. */
  description: string;
  /** The strongest units by |r|, strongest first. */
  units: UnitCorrelation[];
}

/** How often one sigmoid gate of one unit is shut or open (the 2015 paper's saturation plot). */
export interface GateSaturation {
  layer: number;
  /** LSTM i, f, o; GRU r, z. */
  gate: string;
  unit: number;
  /** Fraction of characters where it is below 0.1. */
  left: number;
  /** Fraction of characters where it is above 0.9. */
  right: number;
}

/** One character of the shown text. */
export interface ShownChar {
  /** The character (a line model's end of line is "\n"). */
  c: string;
  /** Surprise in nats, null where nothing was predicted (a fresh state, or a character the model cannot read). */
  s: number | null;
  /** The model's top guesses for this character, most likely first, with their probabilities; empty where nothing was predicted. */
  top: [string, number][];
  /** Whether the model does not know this character (shown, counted, fed as its unknown symbol or not at all). */
  unknown?: true;
  /** A line model: this character starts a line read from a fresh state (its start marker is not shown). */
  lineStart?: true;
}

/** A stretch of the text the model found hardest. */
export interface Passage {
  /** Its first character's index in the traced text (a line model's: counting each line's start marker, which `shown` leaves out). */
  start: number;
  /** Its characters and their surprise (null where nothing was predicted). */
  chars: string[];
  surprise: (number | null)[];
  /** Mean surprise over its predicted characters, nats. */
  mean: number;
}

/** The mean surprise of one class of characters. */
export interface ClassSurprise {
  /** letter, capital, digit, space, newline, punctuation, other. */
  name: string;
  count: number;
  mean: number;
}

/** Everything the report and the Inside view draw. */
export interface Explanation {
  model: { cell: CellType; layers: number; hidden: number; vocabSize: number; lineModel: boolean };
  /** Characters traced, and how many of them the model predicted. */
  chars: number;
  predicted: number;
  /** Mean surprise over the predicted characters: `charrnn eval`'s nats per character. */
  natsPerChar: number;
  /** Characters the model does not know: how many, and which. */
  unknown: number;
  unknownChars: string[];
  /** The first characters of the text, as shown (at most `show` of them). */
  shown: ShownChar[];
  /**
   * Every unit's value at every shown character, in [-1, 1] (tanh of an LSTM's
   * cell state; a layer's output as it is), quantised to int8 (value * 127)
   * and base64-encoded: [shown, units] in the order of `units`.
   */
  unitValues: string;
  /** The units in unitValues, in order. */
  units: UnitRef[];
  /** For each feature, the units that follow it most closely. */
  features: FeatureUnits[];
  /** Gate saturation per unit (empty for a tanh RNN, which has no gates). */
  saturation: GateSaturation[];
  /** Surprise histogram over predicted characters: bins of `width` nats from 0. */
  histogram: { width: number; counts: number[] };
  /** The hardest passages, hardest first, not overlapping. */
  worst: Passage[];
  /** Mean surprise by class of character. */
  byClass: ClassSurprise[];
}
