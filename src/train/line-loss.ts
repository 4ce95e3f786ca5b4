// The loss of a line model on whole lines: each line from a zero state, every
// character and the end-of-line predicted, padding ignored. Used for line
// mode's validation and for `eval` on a line model.
import type { LineExamples } from '../data/line-examples.js';
import { lineCount, lineLength } from '../data/line-examples.js';
import { writeLineBatch } from '../data/line-batcher.js';
import type { FloatArray } from '../kernels/kernels.js';
import type { CharRNN } from '../model/charrnn.js';
import { zeroState } from './trainer.js';

/** A line model's summed loss over a set of lines, from {@link lineLoss}; nats / targets is the loss per character. */
export interface LineLoss {
  /** Summed cross-entropy, nats. */
  nats: number;
  /** Targets scored: each line's characters and its end-of-line. */
  targets: number;
}

/**
 * The summed loss of every line, fed B at a time in order of length (so that
 * little is padded; the sum does not depend on the grouping).
 */
export function lineLoss<F extends FloatArray>(model: CharRNN<F>, lines: LineExamples, batch: number): LineLoss {
  let last = { total: 0, count: 0 };
  for (const sums of lineLossPass(model, lines, batch)) last = sums;
  return { nats: last.total, targets: last.count };
}

/**
 * lineLoss one batch of lines at a time: after each batch, the summed loss
 * (nats) and the targets scored so far, so that a caller can pause or abandon
 * a long validation between batches (as validationPass does for streams).
 */
export function* lineLossPass<F extends FloatArray>(
  model: CharRNN<F>,
  lines: LineExamples,
  batch: number,
): Generator<{ total: number; count: number }, void, undefined> {
  const n = lineCount(lines);
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => lineLength(lines, a) - lineLength(lines, b));
  let longest = 0;
  for (let i = 0; i < n; i++) longest = Math.max(longest, lineLength(lines, i));
  const B = Math.max(1, Math.min(batch, n));
  const x = new Int32Array(B * (longest + 1));
  const y = new Int32Array(B * (longest + 1));
  const state = model.newState(B);
  let total = 0;
  let count = 0;
  for (let from = 0; from < n; from += B) {
    const lineCountHere = Math.min(B, n - from);
    const T = writeLineBatch(lines, order, from, lineCountHere, B, x, y);
    zeroState(state);
    model.forward(x, T, B, state);
    total += model.loss(y);
    for (let b = 0; b < lineCountHere; b++) count += lineLength(lines, order[from + b]) + 1;
    yield { total, count };
  }
}

/** Mean cross-entropy over the lines' targets, nats per character (NaN for no lines). */
export function lineValidationLoss<F extends FloatArray>(model: CharRNN<F>, lines: LineExamples, batch: number): number {
  const { nats, targets } = lineLoss(model, lines, batch);
  return targets > 0 ? nats / targets : NaN;
}
