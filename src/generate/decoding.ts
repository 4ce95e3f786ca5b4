import type { Random } from '../util/random.js';

/** How {@link chooseNext} picks a character from the model's logits: greedily, or by sampling with temperature, top-k and top-p. */
export interface SamplingRule {
  /** Softmax temperature (> 0); below 1 sharpens, above 1 flattens. */
  temperature: number;
  /** Keep only the k most likely characters (0: all). */
  topK: number;
  /** Keep the smallest set of most likely characters whose probability reaches p (1: all). */
  topP: number;
  /** Always take the most likely character (argmax). */
  greedy: boolean;
}

export const DEFAULT_RULE: SamplingRule = { temperature: 1, topK: 0, topP: 1, greedy: false };

/**
 * Takes a symbol out of one row of logits (its logit becomes -Infinity, so its
 * probability is 0 and the others' renormalise). Used for the unknown symbol
 * U+FFFD (Vocabulary.unknownId), which stands for many characters and so is
 * never generated; -1 leaves the row as it is.
 */
export function excludeSymbol(logits: { [i: number]: number }, id: number): void {
  if (id >= 0) logits[id] = -Infinity;
}

/**
 * Picks the next character id from one row of logits, logits[offset .. offset + V)
 * (a row of a batch's [B, V] logits is read in place). `probs` and `order` are
 * scratch of length V owned by the caller, so nothing is allocated per character.
 */
export function chooseNext(
  logits: ArrayLike<number>,
  V: number,
  rule: SamplingRule,
  rng: Random,
  probs: Float64Array,
  order: Uint32Array,
  offset = 0,
): number {
  if (rule.greedy) {
    let best = 0;
    for (let j = 1; j < V; j++) if (logits[offset + j] > logits[offset + best]) best = j;
    return best;
  }
  let max = -Infinity;
  for (let j = 0; j < V; j++) if (logits[offset + j] > max) max = logits[offset + j];
  let sum = 0;
  for (let j = 0; j < V; j++) {
    const p = Math.exp((logits[offset + j] - max) / rule.temperature);
    probs[j] = p;
    sum += p;
  }
  for (let j = 0; j < V; j++) probs[j] /= sum;
  const filtered = (rule.topK > 0 && rule.topK < V) || rule.topP < 1;
  if (!filtered) return drawFrom(probs, V, 1, rng);
  const ranked = rankByProbability(order, probs, V);
  let keep = rule.topK > 0 ? Math.min(rule.topK, V) : V;
  if (rule.topP < 1) {
    let cumulative = 0;
    for (let r = 0; r < keep; r++) {
      cumulative += probs[ranked[r]];
      if (cumulative >= rule.topP) {
        keep = r + 1;
        break;
      }
    }
  }
  let kept = 0;
  for (let r = 0; r < keep; r++) kept += probs[ranked[r]];
  let u = rng.next() * kept;
  for (let r = 0; r < keep; r++) {
    u -= probs[ranked[r]];
    if (u < 0) return ranked[r];
  }
  return ranked[keep - 1];
}

/**
 * The ids [0, V) in `order`, by decreasing probability, ties by id: a total
 * order, so the result does not depend on the sort. Heap sort in place, so
 * ranking allocates nothing per character (the engine's sort with a comparator
 * copies the array) and stays O(V log V) for large vocabularies.
 */
function rankByProbability(order: Uint32Array, probs: Float64Array, V: number): Uint32Array {
  for (let j = 0; j < V; j++) order[j] = j;
  for (let i = (V >> 1) - 1; i >= 0; i--) siftDown(order, probs, i, V);
  for (let end = V - 1; end > 0; end--) {
    // The root ranks last of order[0 .. end]: its place is end.
    const t = order[0];
    order[0] = order[end];
    order[end] = t;
    siftDown(order, probs, 0, end);
  }
  return order;
}

/** Whether id a ranks before id b: more probable, or as probable and smaller. */
function ranksBefore(probs: Float64Array, a: number, b: number): boolean {
  return probs[a] > probs[b] || (probs[a] === probs[b] && a < b);
}

/** Restores the heap below order[i] (n entries) whose every root ranks after its children. */
function siftDown(order: Uint32Array, probs: Float64Array, i: number, n: number): void {
  for (;;) {
    const l = 2 * i + 1,
      r = l + 1;
    let latest = i;
    if (l < n && ranksBefore(probs, order[latest], order[l])) latest = l;
    if (r < n && ranksBefore(probs, order[latest], order[r])) latest = r;
    if (latest === i) return;
    const t = order[i];
    order[i] = order[latest];
    order[latest] = t;
    i = latest;
  }
}

function drawFrom(probs: Float64Array, V: number, total: number, rng: Random): number {
  let u = rng.next() * total;
  let last = 0;
  for (let j = 0; j < V; j++) {
    if (probs[j] > 0) last = j;
    u -= probs[j];
    if (u < 0) return j;
  }
  return last;
}
