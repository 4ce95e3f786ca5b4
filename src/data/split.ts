// The train/validation split of the benchmark protocol: the first
// floor(n * (1 - valFrac)) characters train, the rest validate, exactly as
// torch_ref.py's int(len(data) * 0.9) for valFrac 0.1.
import { CharrnnError } from '../errors.js';
import { Random } from '../util/random.js';

/**
 * The protocol's split: the first floor(n * (1 - valFrac)) ids train, the
 * rest validate (views, not copies). Throws a CharrnnError unless
 * 0 <= valFrac < 1.
 */
export function splitCorpus<A extends Uint8Array | Uint16Array | Uint32Array>(ids: A, valFrac: number): { train: A; val: A } {
  if (!(valFrac >= 0 && valFrac < 1)) {
    throw new CharrnnError(`The validation fraction must be at least 0 and below 1, got ${valFrac}.`);
  }
  const n = ids.length;
  // 1 - 0.1 is the same double as 0.9, so this equals Python's int(n * 0.9) for the protocol's split.
  const nTrain = Math.floor(n * (1 - valFrac));
  return { train: ids.subarray(0, nTrain) as A, val: ids.subarray(nTrain) as A };
}

/**
 * Where the validation text comes from: 'tail', the end of the text (the
 * protocol's split), or 'spread', windows taken from all over it (see
 * {@link spreadSplit}), for a text whose end is unlike the rest.
 */
export type ValSplit = 'tail' | 'spread';

/** Held-out text: one continuous stretch (windows 0) or `windows` windows of equal length laid end to end. */
export interface HeldOut<A extends Uint8Array | Uint16Array | Uint32Array> {
  train: A;
  val: A;
  windows: number;
}

/** The longest held-out window of a spread split, in characters. */
export const SPREAD_WINDOW = 1000;

/**
 * Holds out windows spread across the whole text instead of its end: the text is
 * cut into K equal segments and one window of w characters is taken from each at
 * a seeded offset, so the windows never overlap; K * w = floor(n * valFrac)
 * rounded down to whole windows (w = SPREAD_WINDOW, or less for a short text).
 * The training split is the rest, joined in order into one array: at each of the
 * K joins the text jumps over a window, like a boundary between two files, and
 * no training target lies inside a window.
 */
export function spreadSplit<A extends Uint8Array | Uint16Array | Uint32Array>(ids: A, valFrac: number, seed: number): HeldOut<A> {
  if (!(valFrac >= 0 && valFrac < 1)) {
    throw new CharrnnError(`The validation fraction must be at least 0 and below 1, got ${valFrac}.`);
  }
  const n = ids.length;
  const { windows: K, width: w } = spreadWindows(n, valFrac);
  const make = (length: number): A => new (ids.constructor as new (n: number) => A)(length);
  if (K === 0) return { train: ids, val: make(0), windows: 0 };
  const rng = new Random(seed ^ 0x2545f491);
  const train = make(n - K * w);
  const val = make(K * w);
  const segment = Math.floor(n / K);
  let from = 0; // next character not yet copied to train
  let t = 0;
  for (let k = 0; k < K; k++) {
    const start = k * segment + rng.int(segment - w + 1);
    train.set(ids.subarray(from, start), t);
    t += start - from;
    val.set(ids.subarray(start, start + w), k * w);
    from = start + w;
  }
  train.set(ids.subarray(from), t);
  return { train, val, windows: K };
}

/** The windows a spread split of n characters holds out: `windows` of `width` characters each. */
export function spreadWindows(n: number, valFrac: number): { windows: number; width: number } {
  const held = Math.floor(n * valFrac);
  const width = Math.min(SPREAD_WINDOW, held);
  return { windows: width >= 2 ? Math.floor(held / width) : 0, width };
}

/** Characters left for training by holdOut of a text of n characters, worked out without splitting it. */
export function trainLength(n: number, valFrac: number, how: ValSplit): number {
  if (how === 'tail') return Math.floor(n * (1 - valFrac));
  const { windows, width } = spreadWindows(n, valFrac);
  return n - windows * width;
}

/** The split a run asked for: the protocol's tail (windows 0) or spread windows. */
export function holdOut<A extends Uint8Array | Uint16Array | Uint32Array>(
  ids: A,
  valFrac: number,
  how: ValSplit,
  seed: number,
): HeldOut<A> {
  if (how === 'spread') return spreadSplit(ids, valFrac, seed);
  return { ...splitCorpus(ids, valFrac), windows: 0 };
}
