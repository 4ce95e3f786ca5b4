// The benchmark protocol, run on charrnn's engine: a fixed model (BENCH_CONFIGS,
// embedding 64) trained on the first 90% of a text (the rest for validation),
// Adam at 2e-3, clipping at 5, no dropout or decay, for a given number of steps;
// figures: training characters per second (warm-up steps left out), generation
// characters per second (one stream, temperature 1, after a 100-character
// prime), the last training loss and optionally the validation loss. The
// PyTorch reference trainer runs the same protocol, so the two
// programs are measured on exactly the same work.
import type { CellType, Kernels } from '../kernels/kernels.js';
import { prepareTraining, WARMUP_STEPS } from './training-run.js';
import type { StreamData } from './training-data.js';
import { DEFAULT_SETTINGS } from './settings.js';
import { createGenerator } from '../generate/create-generator.js';
import { parseGenerateOptions } from '../generate/options.js';
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
  const settings = parseGenerateOptions({ length: o.generateChars + 1, prime, temperature: 1, seed: o.seed });
  const pieces = createGenerator(model, vocab, settings).pieces();
  pieces.next(); // feeds the prime and samples the first character
  const g0 = o.now();
  let produced = 0;
  for (const [piece] of pieces) produced += piece.length > 0 ? 1 : 0;
  const generate_chars_per_s = produced / ((o.now() - g0) / 1000);

  const result: BenchResult = { steps: o.steps, train_chars_per_s, generate_chars_per_s, final_train_loss: loss };
  if (o.validate) result.val_loss = validationLoss(model, (data as StreamData).val, config.batch, config.seq);
  return result;
}
