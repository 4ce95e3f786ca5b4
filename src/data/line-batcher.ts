// The batches of line mode. Each chunk is B whole lines, each from a zero state,
// padded at the end to the chunk's longest line; padded steps have the target
// IGNORE_TARGET, so they add no loss and no gradient. Padding only ever follows
// a line's real steps, and a recurrent network's step t depends on steps <= t
// only, so the padding cannot change a real step's loss or its gradient: the
// gradient of a padded batch is exactly the sum of its lines' gradients
// (test/lines.test.ts checks it in float64).
//
// Why padding and not packing lines end to end into streams with a state reset
// at every line start: a reset inside a chunk would need a per-step reset mask
// in every cell kernel of every engine (forward and backward), while padding
// needs only the ignored target in the loss; and sorting lines by length keeps
// the padding small (measured in docs/text.md: a few percent of the positions).
//
// The order: each pass shuffles the lines with the run's seed and the pass
// number, sorts them by length (a stable sort, so lines of equal length stay
// in random order), cuts them into batches of B (the first, shortest batch
// takes the remainder when B does not divide the count) and shuffles the
// batches. A pass's order is a function of (seed, pass) alone, so the state to
// resume bit-exact is just the number of chunks handed out.
import { Random } from '../util/random.js';
import { CharrnnError } from '../errors.js';
import { IGNORE_TARGET, type Batcher, type BatcherState, type Chunk } from './batcher.js';
import { lineCount, lineLength, type LineExamples } from './line-examples.js';

/**
 * The chunks of line mode: B whole lines each, every line from a zero state,
 * padded to the chunk's longest line with targets that score nothing. Each
 * pass shuffles the lines with the seed, batches lines of similar length, and
 * shuffles the batches. The constructor throws a CharrnnError for a batch
 * size that is not a positive integer or no lines.
 */
export class LineBatcher implements Batcher {
  readonly maxT: number;
  readonly stepsPerEpoch: number;
  private chunks = 0;
  /** The pass whose order is in `order` and `batchStarts` (-1: none yet). */
  private planned = -1;
  /** Line indices in batch-cut order, [count]. */
  private readonly order: Int32Array;
  /** The batches of the planned pass in the order they are handed out: [stepsPerEpoch] offsets into `order`. */
  private readonly batchStarts: Int32Array;
  /** Lines in each batch of the cut (before the batch shuffle): the first takes the remainder. */
  private readonly firstSize: number;

  constructor(
    private readonly lines: LineExamples,
    readonly B: number,
    private readonly seed: number,
  ) {
    if (!(Number.isInteger(B) && B >= 1)) throw new CharrnnError(`The batch size must be a positive integer, got ${B}.`);
    const n = lineCount(lines);
    if (n < 1) throw new CharrnnError('There are no lines to train on.');
    let longest = 0;
    for (let i = 0; i < n; i++) longest = Math.max(longest, lineLength(lines, i));
    this.maxT = longest + 1;
    this.stepsPerEpoch = Math.ceil(n / B);
    this.firstSize = n - (this.stepsPerEpoch - 1) * B;
    this.order = new Int32Array(n);
    this.batchStarts = new Int32Array(this.stepsPerEpoch);
  }

  get epoch(): number {
    return this.chunks / this.stepsPerEpoch;
  }

  /** Every chunk starts from a zero state (each line does). */
  next(x: Int32Array, y: Int32Array): Chunk {
    const pass = Math.floor(this.chunks / this.stepsPerEpoch);
    if (pass !== this.planned) this.plan(pass);
    const k = this.batchStarts[this.chunks % this.stepsPerEpoch];
    const count = k === 0 ? this.firstSize : this.B;
    const T = writeLineBatch(this.lines, this.order, k, count, this.B, x, y);
    let targets = 0;
    for (let b = 0; b < count; b++) targets += lineLength(this.lines, this.order[k + b]) + 1;
    this.chunks++;
    return { T, reset: true, targets };
  }

  /** Where the batcher is, to save in a checkpoint (the order of every pass follows from the seed). */
  getState(): BatcherState {
    return { pos: this.chunks % this.stepsPerEpoch, chunks: this.chunks };
  }

  setState(s: BatcherState): void {
    if (!(Number.isInteger(s.chunks) && s.chunks >= 0 && s.pos === s.chunks % this.stepsPerEpoch)) {
      throw new CharrnnError(
        `The saved batch position (batch ${s.pos}, chunk ${s.chunks}) does not fit ${this.stepsPerEpoch} batches of lines per pass.`,
      );
    }
    this.chunks = s.chunks;
  }

  /** The order of pass `pass`: see the file comment. */
  private plan(pass: number): void {
    const n = this.order.length;
    const rng = new Random((this.seed ^ Math.imul(pass + 1, 0x9e3779b9)) >>> 0);
    const shuffled = new Int32Array(n);
    for (let i = 0; i < n; i++) shuffled[i] = i;
    shuffle(shuffled, rng);
    stableSortByLength(shuffled, this.lines, this.order);
    const batches = new Int32Array(this.stepsPerEpoch);
    for (let b = 0; b < batches.length; b++) batches[b] = b === 0 ? 0 : this.firstSize + (b - 1) * this.B;
    shuffle(batches, rng);
    this.batchStarts.set(batches);
    this.planned = pass;
  }
}

/**
 * Writes `count` lines, order[from .. from + count), as one chunk of B
 * sequences, time-major ([T, B]): sequence b reads [EOL, chars] and predicts
 * [chars, EOL]; steps past its end, and the rows past `count`, read EOL and
 * have the target IGNORE_TARGET. Returns T, the longest line's length + 1.
 */
export function writeLineBatch(
  lines: LineExamples,
  order: ArrayLike<number>,
  from: number,
  count: number,
  B: number,
  x: Int32Array,
  y: Int32Array,
): number {
  let T = 1;
  for (let b = 0; b < count; b++) T = Math.max(T, lineLength(lines, order[from + b]) + 1);
  const { ids, starts, eol } = lines;
  for (let b = 0; b < B; b++) {
    const line = b < count ? order[from + b] : -1;
    const start = line >= 0 ? starts[line] : 0;
    const n = line >= 0 ? starts[line + 1] - start : -1; // -1: a row of padding only
    for (let t = 0; t < T; t++) {
      x[t * B + b] = t === 0 || t > n ? eol : ids[start + t - 1];
      y[t * B + b] = t < n ? ids[start + t] : t === n ? eol : IGNORE_TARGET;
    }
  }
  return T;
}

/** Padded and total positions of one pass (the same every pass: batches always hold the same lengths). */
export function linePadding(lines: LineExamples, B: number): { positions: number; padding: number } {
  const n = lineCount(lines);
  const order = new Int32Array(n);
  const identity = new Int32Array(n);
  for (let i = 0; i < n; i++) identity[i] = i;
  stableSortByLength(identity, lines, order);
  const steps = Math.ceil(n / B);
  const first = n - (steps - 1) * B;
  let positions = 0;
  let real = 0;
  for (let i = 0; i < n; i++) real += lineLength(lines, i) + 1;
  for (let k = 0, from = 0; k < steps; k++) {
    const count = k === 0 ? first : B;
    positions += B * (lineLength(lines, order[from + count - 1]) + 1);
    from += count;
  }
  return { positions, padding: positions - real };
}

function shuffle(a: Int32Array, rng: Random): void {
  for (let i = a.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = a[i];
    a[i] = a[j];
    a[j] = t;
  }
}

/** A counting sort of line indices by length, stable: out gets `indices` ordered by length. */
function stableSortByLength(indices: Int32Array, lines: LineExamples, out: Int32Array): void {
  let longest = 0;
  for (const i of indices) longest = Math.max(longest, lineLength(lines, i));
  const offsets = new Int32Array(longest + 2);
  for (const i of indices) offsets[lineLength(lines, i) + 1]++;
  for (let l = 1; l < offsets.length; l++) offsets[l] += offsets[l - 1];
  for (const i of indices) out[offsets[lineLength(lines, i)]++] = i;
}
