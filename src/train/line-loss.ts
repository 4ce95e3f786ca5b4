// The loss of a line model on whole lines: each line from a zero state, every
// character and the end-of-line predicted, padding ignored. Used for line
// mode's validation and for `eval` on a line model.
import type { LineExamples } from '../data/line-examples.js';
import { lineCount, lineLength } from '../data/line-examples.js';
import { writeLineBatch } from '../data/line-batcher.js';
import type { FloatArray } from '../kernels/kernels.js';
import type { CharRNN } from '../model/charrnn.js';
import { zeroState } from './trainer.js';

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
  const n = lineCount(lines);
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => lineLength(lines, a) - lineLength(lines, b));
  let longest = 0;
  let targets = 0;
  for (let i = 0; i < n; i++) {
    longest = Math.max(longest, lineLength(lines, i));
    targets += lineLength(lines, i) + 1;
  }
  const B = Math.max(1, Math.min(batch, n));
  const x = new Int32Array(B * (longest + 1));
  const y = new Int32Array(B * (longest + 1));
  const state = model.newState(B);
  let nats = 0;
  for (let from = 0; from < n; from += B) {
    const count = Math.min(B, n - from);
    const T = writeLineBatch(lines, order, from, count, B, x, y);
    zeroState(state);
    model.forward(x, T, B, state);
    nats += model.loss(y);
  }
  return { nats, targets };
}

/** Mean cross-entropy over the lines' targets, nats per character (NaN for no lines). */
export function lineValidationLoss<F extends FloatArray>(model: CharRNN<F>, lines: LineExamples, batch: number): number {
  const { nats, targets } = lineLoss(model, lines, batch);
  return targets > 0 ? nats / targets : NaN;
}
