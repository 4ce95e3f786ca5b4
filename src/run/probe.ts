// The speed probe: a few seconds of training on the text itself, to learn how
// fast this machine trains a model of a given size before a time-budgeted run
// chooses its recipe. Platform-neutral: the clock is the caller's.
import type { CellType, Kernels } from '../kernels/kernels.js';
import { CharRNN } from '../model/charrnn.js';
import { DEFAULT_OPTIMIZER } from '../train/optimizer.js';
import type { TokenIds } from '../data/streams.js';
import { Trainer } from '../train/trainer.js';
import type { MeasuredSpeed } from './recipe.js';

/** A model size to measure. */
export interface ProbeModel {
  cell: CellType;
  layers: number;
  hidden: number;
  emb: number;
  /** Dropout between layers and on the embedding, as the run would use them: drawing and applying masks costs time too. */
  dropout?: number;
  embDropout?: number;
}

export interface ProbeOptions {
  /** Seconds for all the models together (each gets an equal share, at least MIN_TIMED_STEPS timed steps). */
  seconds: number;
  batch: number;
  seq: number;
  /** Milliseconds, monotonic. */
  now: () => number;
}

/** Timed steps each model takes at least, whatever the time: one step is too noisy a figure. */
export const MIN_TIMED_STEPS = 2;

/**
 * Training characters per second of each model on `ids`. Each model's first step
 * is not timed (it allocates and warms the caches); the probe's models and their
 * updates are thrown away.
 */
export async function measureSpeeds(
  ids: TokenIds,
  vocabSize: number,
  kernels: Kernels<Float32Array>,
  models: ProbeModel[],
  o: ProbeOptions,
): Promise<MeasuredSpeed[]> {
  // Fewer streams when the text is short, so that the probe runs where the run itself would refuse it later with its own sentence.
  const batch = Math.max(1, Math.min(o.batch, Math.floor((ids.length - 1) / o.seq)));
  const share = o.seconds / models.length;
  const speeds: MeasuredSpeed[] = [];
  for (const m of models) {
    const { dropout = 0, embDropout = 0 } = m;
    const model = new CharRNN({ cell: m.cell, layers: m.layers, hidden: m.hidden, emb: m.emb, vocabSize, dropout, embDropout }, kernels, {
      seed: 1,
    });
    const trainer = new Trainer(model, ids, { batch, seq: o.seq, clip: 5, lrDecay: 1, lrDecayEvery: 0, optimizer: DEFAULT_OPTIMIZER });
    trainer.step();
    const t0 = o.now();
    let steps = 0;
    while (steps < MIN_TIMED_STEPS || o.now() - t0 < share * 1000) {
      trainer.step();
      steps++;
      // Lets a signal or a timer through between steps.
      await new Promise(resolve => setTimeout(resolve, 0));
    }
    const seconds = (o.now() - t0) / 1000;
    speeds.push({ ...m, dropout, embDropout, charsPerSecond: (steps * batch * o.seq) / Math.max(seconds, 1e-6) });
  }
  return speeds;
}
