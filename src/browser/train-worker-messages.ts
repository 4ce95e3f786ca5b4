// The messages between a page and its training worker (./train-worker.ts).
import type { RunEvent, SavedFile } from '../run/events.js';
import type { TrainRequest } from './training.js';

/**
 * What a page posts to its training worker (charrnn's train-worker module):
 * 'train' starts a run of the request (the first one only; `threads` for the
 * wasm engine, by default as browserThreadCount chooses), 'stop' asks the run
 * to stop after its current step; it saves and ends.
 */
export type ToTrainWorker = ({ type: 'train'; threads?: number } & TrainRequest) | { type: 'stop' };

/**
 * What the training worker posts back: the engine it runs on, each run event,
 * the model file each time it is saved, an error, and finally 'done' (always
 * the last message, after the result event or an error).
 */
export type FromTrainWorker =
  /** The engine the run trains on. */
  | { type: 'engine'; threads: number; variant: string }
  | { type: 'event'; event: RunEvent }
  /** A file the run saved (the model file; checkpoints stay in the worker). */
  | { type: 'file'; file: SavedFile; bytes: Uint8Array }
  /** The run could not start or failed: `message` is one sentence; `userError` when the input was at fault (a CharrnnError). */
  | { type: 'error'; message: string; userError: boolean }
  /** The run ended (after its result event, or an error). */
  | { type: 'done' };
