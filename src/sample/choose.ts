import type { Random } from '../util/random.js';

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
 * Picks the next character id from one row of logits, logits[offset .. offset + V)
 * (a row of a batch's [B, V] logits is read in place). `probs` and `order` are
 * scratch of length V owned by the caller, so nothing is allocated per character.
 */
export function chooseNext(logits: ArrayLike<number>, V: number, rule: SamplingRule, rng: Random, probs: Float64Array, order: Uint32Array,
  offset = 0): number {
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
      if (cumulative >= rule.topP) { keep = r + 1; break; }
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

// The probabilities byProbability ranks by: one comparator for every call, not a closure per character.
let ranking: Float64Array = new Float64Array(0);
const byProbability = (a: number, b: number): number => ranking[b] - ranking[a] || a - b;

/** The ids [0, V) in `order`, by decreasing probability, ties by id (so the result does not depend on the sort). */
function rankByProbability(order: Uint32Array, probs: Float64Array, V: number): Uint32Array {
  for (let j = 0; j < V; j++) order[j] = j;
  ranking = probs;
  return (order.length === V ? order : order.subarray(0, V)).sort(byProbability);
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
