// What the trainer needs from a source of training chunks: the streams of the
// benchmark protocol (StreamBatcher) or the lines of line mode (LineBatcher).
import type { StreamState } from './streams.js';

/** The target of a position that is not scored (padding): PyTorch's ignore_index. */
export const IGNORE_TARGET = -1;

/**
 * Where a batcher is, to save in a checkpoint: the position within the current
 * pass (a column for streams, a batch for lines) and the chunks handed out.
 */
export type BatcherState = StreamState;

/** What {@link Batcher.next} wrote: the chunk's length, whether it starts fresh, and how many targets it scores. */
export interface Chunk {
  /** Time steps written into x and y (at most maxT). */
  T: number;
  /** True when the chunk starts from a zero state. */
  reset: boolean;
  /** Targets scored (not IGNORE_TARGET): the characters this chunk trains on. */
  targets: number;
}

/**
 * A source of training chunks for the {@link Trainer}: B sequences of at most
 * maxT steps at a time, written into the caller's buffers, endlessly (a pass
 * over the data is `stepsPerEpoch` chunks). {@link StreamBatcher} serves
 * running text, {@link LineBatcher} line mode.
 */
export interface Batcher {
  /** Sequences per chunk. */
  readonly B: number;
  /** The longest chunk `next` writes: x and y need B * maxT entries. */
  readonly maxT: number;
  /** Chunks in one pass over the training data. */
  readonly stepsPerEpoch: number;
  /** Passes so far, fractional. */
  readonly epoch: number;
  /** Writes the next chunk time-major (x[t * B + b], y likewise, IGNORE_TARGET where nothing is scored). */
  next(x: Int32Array, y: Int32Array): Chunk;
  /** Where the batcher is, to save in a checkpoint. */
  getState(): BatcherState;
  /** Continues exactly from a saved state. */
  setState(s: BatcherState): void;
}
