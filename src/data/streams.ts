// The batches of the benchmark protocol (truncated BPTT with carried state), as
// torch_ref.py makes them: the data is cut into B contiguous streams of length
// L = floor((n - 1) / B), stream b being data[b*L .. b*L + L] with targets one
// character later; chunk k is columns [pos, pos + T) of every stream, and when
// pos + T > L the position (and the carried state) go back to the start.
import { CharrnnError } from '../errors.js';
import type { Batcher, Chunk } from './batcher.js';

/** A text as character ids, one per code point: the narrowest array that holds the vocabulary's ids. */
export type TokenIds = Uint8Array | Uint16Array | Uint32Array;

/** Where a {@link StreamBatcher} is: what a checkpoint saves to resume it exactly. */
export interface StreamState {
  /** Column of the next chunk's first step. */
  pos: number;
  /** Chunks handed out so far. */
  chunks: number;
}

/**
 * The chunks of running text (the benchmark protocol, as torch_ref.py makes
 * them): the text cut into B contiguous streams, read T columns at a time
 * with the state carried from chunk to chunk, back to the start (and a zero
 * state) when the streams run out. The constructor throws a CharrnnError when
 * B or T is not a positive integer or the text is shorter than B * T + 1.
 */
export class StreamBatcher implements Batcher {
  /** Length of each stream. */
  readonly L: number;
  /** Chunks in one pass over the streams (floor(L / T)). */
  readonly stepsPerEpoch: number;
  private pos = 0;
  private chunks = 0;

  constructor(
    private readonly data: TokenIds,
    readonly B: number,
    readonly T: number,
  ) {
    checkSizes(B, T);
    this.L = Math.floor((data.length - 1) / B);
    if (data.length < 1 || this.L < T) {
      throw new CharrnnError(
        `The training text is too short for ${B} streams of ${T} steps: it needs at least ${B * T + 1} characters and has ${data.length}.`,
      );
    }
    this.stepsPerEpoch = Math.floor(this.L / T);
  }

  /** Every chunk has T steps. */
  get maxT(): number {
    return this.T;
  }

  /** Passes over the streams so far, fractional: chunks handed out / stepsPerEpoch. */
  get epoch(): number {
    return this.chunks / this.stepsPerEpoch;
  }

  /**
   * Writes the next chunk time-major (x[t * B + b] is stream b at column pos + t,
   * y the character after it). `reset` is true when the chunk starts at column 0
   * (the first chunk, and every wrap): the caller then starts from a zero state.
   */
  next(x: Int32Array | number[], y: Int32Array | number[]): Chunk {
    const { B, T, L, data } = this;
    if (this.pos + T > L) this.pos = 0;
    const reset = this.pos === 0;
    for (let b = 0; b < B; b++) {
      const start = b * L + this.pos;
      for (let t = 0; t < T; t++) {
        x[t * B + b] = data[start + t];
        y[t * B + b] = data[start + t + 1];
      }
    }
    this.pos += T;
    this.chunks++;
    return { T, reset, targets: B * T };
  }

  /** Where the batcher is, to save in a checkpoint. */
  getState(): StreamState {
    return { pos: this.pos, chunks: this.chunks };
  }

  /** Continues exactly from a saved state. */
  setState(s: StreamState): void {
    if (!(Number.isInteger(s.pos) && s.pos >= 0 && s.pos <= this.L && Number.isInteger(s.chunks) && s.chunks >= 0)) {
      throw new CharrnnError(`The saved batch position (pos ${s.pos}, chunk ${s.chunks}) does not fit streams of length ${this.L}.`);
    }
    this.pos = s.pos;
    this.chunks = s.chunks;
  }
}

/** One chunk of a validation pass: B streams of T steps, inputs and their targets. */
export interface EvalChunk {
  /** Inputs, time-major [T, B]. */
  x: Int32Array;
  /** Targets, time-major [T, B]. */
  y: Int32Array;
  /** Steps in this chunk: T, except the last chunk, which may be shorter. */
  T: number;
}

/**
 * The validation pass of the protocol: B streams of length L = floor((n - 1) / B)
 * fed in order with carried state, in chunks of T columns, the last one shorter
 * when T does not divide L (torch_ref's evaluate). Every chunk continues the
 * previous one's state; B = 1 gives the whole text as one stream (every
 * character but the first is a target), which is what `charrnn eval` reports.
 */
export function evaluationChunks(data: TokenIds, B: number, T: number): Generator<EvalChunk, void, undefined> {
  // Checked here, not in the generator, so that bad sizes throw at the call rather than at the first iteration.
  checkSizes(B, T);
  const L = Math.floor((data.length - 1) / B);
  if (data.length < 1 || L < 1) {
    throw new CharrnnError(
      `The text to evaluate is too short for ${B} streams: it needs at least ${B + 1} characters and has ${data.length}.`,
    );
  }
  return chunks(data, B, T, L, L);
}

/**
 * Validation over held-out windows: `data` is `windows` windows of equal length
 * laid end to end, and each is one stream (its first character is only an input,
 * and no target crosses into the next window), fed with carried state in chunks
 * of T columns, the last one shorter.
 */
export function windowChunks(data: TokenIds, windows: number, T: number): Generator<EvalChunk, void, undefined> {
  checkSizes(windows, T);
  const stride = Math.floor(data.length / windows);
  if (stride < 2 || stride * windows !== data.length) {
    throw new CharrnnError(`The held-out text (${data.length} characters) is not ${windows} windows of at least 2 characters.`);
  }
  return chunks(data, windows, T, stride - 1, stride);
}

/** Chunks of B streams of L inputs each, stream b starting at b * stride. */
function* chunks(data: TokenIds, B: number, T: number, L: number, stride: number): Generator<EvalChunk, void, undefined> {
  for (let s = 0; s < L; s += T) {
    const steps = Math.min(T, L - s);
    const x = new Int32Array(steps * B);
    const y = new Int32Array(steps * B);
    for (let b = 0; b < B; b++) {
      const start = b * stride + s;
      for (let t = 0; t < steps; t++) {
        x[t * B + b] = data[start + t];
        y[t * B + b] = data[start + t + 1];
      }
    }
    yield { x, y, T: steps };
  }
}

function checkSizes(B: number, T: number): void {
  if (!(Number.isInteger(B) && B >= 1)) throw new CharrnnError(`The batch size must be a positive integer, got ${B}.`);
  if (!(Number.isInteger(T) && T >= 1)) throw new CharrnnError(`The sequence length must be a positive integer, got ${T}.`);
}
