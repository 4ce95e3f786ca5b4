// A validation pass run to its end without holding up a stop request: the pass
// itself is the training data's (TrainingData.validationPass: streams' chunks or
// batches of lines).

/** How often (ms) a validation lets the event loop turn, so a stop request is heard during a long one. */
const YIELD_MS = 100;

/** Running sums of a validation pass: nats so far and characters predicted so far. */
export type PassSums = { total: number; count: number };

/**
 * Runs a validation pass (streams' chunks, or line mode's batches of lines) to
 * its end, letting the event loop turn between its pieces: the loss in nats
 * per character, or null when `shouldStop` turned true before the end.
 */
export async function finishPass(pass: Iterable<PassSums>, o: { now: () => number; shouldStop: () => boolean }): Promise<number | null> {
  let last: PassSums = { total: 0, count: 0 };
  let lastYield = o.now();
  for (const sums of pass) {
    last = sums;
    if (o.now() - lastYield > YIELD_MS) {
      await new Promise(resolve => setTimeout(resolve, 0));
      lastYield = o.now();
    }
    if (o.shouldStop()) return null;
  }
  return last.count > 0 ? last.total / last.count : null;
}
