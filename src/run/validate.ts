import type { CharRNN } from '../model/charrnn.js';
import { validationPass, type TokenIds } from '../train/trainer.js';

/** How often (ms) a validation lets the event loop turn, so a stop request is heard during a long one. */
const YIELD_MS = 100;

/**
 * The validation loss (nats per character) of `data` as B streams of T-step
 * chunks with carried state, letting the event loop turn between chunks; null
 * when `shouldStop` turned true before the pass finished.
 */
export async function validate(model: CharRNN<Float32Array>, data: TokenIds, batch: number, seq: number,
  o: { now: () => number; shouldStop: () => boolean }): Promise<number | null> {
  let last = { total: 0, count: 0 };
  let lastYield = o.now();
  for (const sums of validationPass(model, data, batch, seq)) {
    last = sums;
    if (o.now() - lastYield > YIELD_MS) {
      await new Promise(resolve => setTimeout(resolve, 0));
      lastYield = o.now();
    }
    if (o.shouldStop()) return null;
  }
  return last.count > 0 ? last.total / last.count : null;
}
