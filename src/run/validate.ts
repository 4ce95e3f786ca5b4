// A validation pass run to its end without holding up a stop request: the pass
// itself is the training data's (TrainingData.validationPass: streams' chunks or
// batches of lines).

/** How often (ms) a validation lets the event loop turn, so a stop request is heard during a long one. */
const YIELD_MS = 100;

/** Running sums of a validation pass: nats so far and characters predicted so far. */
export type PassSums = { total: number; count: number };

/** A pass's sums when it ended: `complete` unless a time limit (`until`) cut it short. */
export type PassResult = PassSums & { complete: boolean };

/**
 * Runs a validation pass (streams' chunks, or line mode's batches of lines) to
 * its end, letting the event loop turn between its pieces: the loss in nats
 * per character, or null when `shouldStop` turned true before the end.
 */
export async function finishPass(pass: Iterable<PassSums>, o: { now: () => number; shouldStop: () => boolean }): Promise<number | null> {
  const sums = await runPass(pass, o);
  return sums !== null && sums.count > 0 ? sums.total / sums.count : null;
}

/**
 * Runs a validation pass like finishPass, and stops it (after its first piece)
 * before a piece that would end past the clock reading `until` (a time
 * budget's closing validation): the next piece is judged at the slowest rate
 * per character so far, for the largest piece so far or the `expected`
 * characters a whole pass scores less those done, whichever is fewer. The sums
 * so far, or null when `shouldStop` turned true.
 */
export async function runPass(
  pass: Iterable<PassSums>,
  o: { now: () => number; shouldStop: () => boolean; until?: number; expected?: number },
): Promise<PassResult | null> {
  let last: PassSums = { total: 0, count: 0 };
  let lastYield = o.now();
  const until = o.until ?? Infinity;
  let pieceStart = o.now();
  let slowestPerChar = 0;
  let largestPiece = 0;
  for (const sums of pass) {
    const chars = sums.count - last.count;
    if (chars > 0) {
      slowestPerChar = Math.max(slowestPerChar, (o.now() - pieceStart) / chars);
      largestPiece = Math.max(largestPiece, chars);
    }
    last = sums;
    if (o.now() - lastYield > YIELD_MS) {
      await new Promise(resolve => setTimeout(resolve, 0));
      lastYield = o.now();
    }
    if (o.shouldStop()) return null;
    const next = Math.min(largestPiece, Math.max(0, (o.expected ?? Infinity) - last.count));
    if (next > 0 && o.now() + slowestPerChar * next > until) return { ...last, complete: false };
    pieceStart = o.now();
  }
  return { ...last, complete: true };
}
