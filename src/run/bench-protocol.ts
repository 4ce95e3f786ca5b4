// The benchmark protocol of ../shared/bench/PROTOCOL.md on charrnn's engine:
// the same split, streams, model, optimiser and figures as torch_ref.py, so the
// two programs are measured on exactly the same work.
import type { CellType, Kernels } from '../kernels/kernels.js';
import { prepareTraining, WARMUP_STEPS } from './training-run.js';
import type { StreamData } from '../run/training-data.js';
import { DEFAULT_SETTINGS } from '../run/settings.js';
import { generate } from '../generate/sample-texts.js';
import { Vocabulary } from '../text/vocabulary.js';
import { validationLoss } from '../train/trainer.js';

export interface BenchConfig {
  cell: CellType;
  layers: number;
  hidden: number;
  batch: number;
  seq: number;
}

export const BENCH_CONFIGS: Record<string, BenchConfig> = {
  small: { cell: 'lstm', layers: 2, hidden: 128, batch: 50, seq: 50 },
  medium: { cell: 'lstm', layers: 2, hidden: 256, batch: 50, seq: 50 },
  large: { cell: 'lstm', layers: 2, hidden: 512, batch: 50, seq: 50 },
  'gru-small': { cell: 'gru', layers: 2, hidden: 128, batch: 50, seq: 50 },
};

export const BENCH_EMB = 64;
/** Steps left out of the throughput figure, as torch_ref.py does: the training loop's own warm-up. */
export { WARMUP_STEPS };

export interface BenchResult {
  steps: number;
  train_chars_per_s: number;
  generate_chars_per_s: number;
  final_train_loss: number;
  val_loss?: number;
}

export interface BenchOptions {
  steps: number;
  /** Characters to generate for the generation figure. */
  generateChars: number;
  /** Also compute the validation loss over the whole validation split. */
  validate: boolean;
  seed: number;
  now(): number;
}

export function runProtocol(text: string, config: BenchConfig, kernels: Kernels<Float32Array>, o: BenchOptions): BenchResult {
  const vocab = Vocabulary.fromText(text);
  // The protocol's settings: 90/10 split, embedding 64, Adam 2e-3, clip 5, no dropout, no decay.
  const { model, trainer, data } = prepareTraining(
    { ids: vocab.encode(text).ids, vocab, source: 'benchmark corpus' },
    {
      ...DEFAULT_SETTINGS,
      cell: config.cell,
      layers: config.layers,
      hidden: config.hidden,
      emb: BENCH_EMB,
      dropout: 0,
      batch: config.batch,
      seq: config.seq,
      valFrac: 0.1,
      valMaxChars: 0,
      optimizer: 'adam',
      lr: 2e-3,
      clip: 5,
      lrDecay: 1,
      lrDecayEvery: 0,
      seed: o.seed,
    },
    kernels,
  );
  let timed = 0;
  let loss = NaN;
  for (let s = 1; s <= o.steps; s++) {
    const t0 = o.now();
    loss = trainer.step().loss;
    if (s > WARMUP_STEPS) timed += o.now() - t0;
  }
  const timedSteps = Math.max(0, o.steps - WARMUP_STEPS);
  const train_chars_per_s = timed > 0 ? (timedSteps * config.batch * config.seq) / (timed / 1000) : 0;

  // Generation: one stream, temperature 1, after a 100-character prime; the clock
  // starts once the prime has been fed (start-up excluded).
  const prime = text.slice(0, 100);
  const chars = generate(model, vocab, { length: o.generateChars + 1, prime, temperature: 1, seed: o.seed });
  chars.next(); // feeds the prime and samples the first character
  const g0 = o.now();
  let produced = 0;
  for (const c of chars) produced += c.length > 0 ? 1 : 0;
  const generate_chars_per_s = produced / ((o.now() - g0) / 1000);

  const result: BenchResult = { steps: o.steps, train_chars_per_s, generate_chars_per_s, final_train_loss: loss };
  if (o.validate) result.val_loss = validationLoss(model, (data as StreamData).val, config.batch, config.seq);
  return result;
}
