// A training checkpoint: everything needed to continue a run exactly as if it had
// never stopped — the weights, the optimizer's moments and step count, the state
// carried between chunks, the position in the streams, the dropout generator, the
// moving average of the weights when the run keeps one, and the run's settings. One safetensors file, so one atomic write saves it whole.
import { z } from 'zod';
import { CharrnnError } from '../errors.js';
import type { Kernels } from '../kernels/kernels.js';
import { CharRNN } from '../model/charrnn.js';
import { modelConfigProblem, type ModelConfig } from '../model/config.js';
import { modelOrigin, type ModelOrigin } from '../model/origin.js';
import { CHECKPOINT_AVERAGE_TENSOR, CHECKPOINT_FORMAT, MODEL_FORMAT } from '../model/model-file.js';
import { decodeSafetensors, encodeSafetensors } from '../model/safetensors.js';
import type { Normalization } from '../text/normalize.js';
import { Vocabulary } from '../text/vocabulary.js';
import type { Trainer } from './trainer.js';

export { CHECKPOINT_FORMAT } from '../model/model-file.js';

/** The checkpoint version this charrnn writes (CHECKPOINT_FORMAT's number); it reads this one and none newer. */
export const CHECKPOINT_VERSION = Number(CHECKPOINT_FORMAT.split('/')[1]);

/** What the run itself needs to go on: its settings and where it stood. */
export interface RunRecord {
  /** The settings the run started with (the CLI's flags), as JSON. */
  settings: Record<string, unknown>;
  /** The stop limits it was last given (steps, epochs, seconds). */
  limits?: Record<string, number>;
  /** Fingerprint of the training text, so a resume on other text is refused. */
  textHash: string;
  bestValLoss: number | null;
  /** Validations in a row without a new best (what --patience counts). */
  sinceBest?: number;
  /** The smoothed training loss's state, so a display continues where it was. */
  smoothLoss?: { average: number; weight: number };
  /** Training characters seen (scored targets): batch x seq a step on streams, the lines' characters in line mode. */
  chars?: number;
}

const trainingStateSchema = z.object({
  optimizerSteps: z.number().int().nonnegative(),
  streams: z.object({ pos: z.number().int().nonnegative(), chunks: z.number().int().nonnegative() }),
  dropoutRng: z.array(z.number()).length(4),
  run: z.object({
    settings: z.record(z.string(), z.unknown()),
    limits: z.record(z.string(), z.number()).optional(),
    textHash: z.string(),
    bestValLoss: z.number().nullable(),
    sinceBest: z.number().int().nonnegative().optional(),
    smoothLoss: z.object({ average: z.number(), weight: z.number() }).optional(),
    chars: z.number().int().nonnegative().optional(),
  }),
});

/**
 * The checkpoint of a trainer's run; `extra` metadata entries (a fine-tuned
 * run's origin) go in beside the reserved ones, as in its model files.
 */
export function encodeCheckpoint(
  trainer: Trainer<Float32Array>,
  vocab: Vocabulary,
  run: RunRecord,
  extra: Record<string, string> = {},
): Uint8Array {
  const { model, optimizer, state, average } = trainer;
  // The raw weights go under the parameters' names and the average under train.ema,
  // whichever of the two the parameters hold right now.
  const swapped = average?.inUse ?? false;
  const raw = swapped ? average!.values : model.params.data;
  const tensors = model.params.specs.map(s => ({ name: s.name, shape: s.shape, data: raw.subarray(s.offset, s.offset + s.size) }));
  if (average)
    tensors.push({ name: CHECKPOINT_AVERAGE_TENSOR, shape: [model.params.size], data: swapped ? model.params.data : average.values });
  tensors.push({ name: 'train.optimizer.first', shape: [optimizer.first.length], data: optimizer.first });
  tensors.push({ name: 'train.optimizer.second', shape: [optimizer.second.length], data: optimizer.second });
  state.layers.forEach((l, i) => {
    tensors.push({ name: `train.state.h_l${i}`, shape: [l.h.length], data: l.h });
    if (l.c) tensors.push({ name: `train.state.c_l${i}`, shape: [l.c.length], data: l.c });
  });
  const training = {
    optimizerSteps: optimizer.steps,
    streams: trainer.batcher.getState(),
    dropoutRng: model.dropoutRng.getState(),
    run,
  };
  return encodeSafetensors(tensors, {
    format: CHECKPOINT_FORMAT,
    vocab: JSON.stringify(vocab.chars),
    normalize: vocab.normalization,
    config: JSON.stringify(model.config),
    training: JSON.stringify(training),
    ...extra,
  });
}

/**
 * A training checkpoint read and checked by decodeCheckpoint: what a run
 * needs to continue exactly where it stopped (`TrainingRun` takes it as
 * RunOptions.checkpoint).
 */
export interface DecodedCheckpoint {
  /** The model's architecture. */
  config: ModelConfig;
  /** The model's characters. */
  vocab: Vocabulary;
  /** The run's settings and where it stood. */
  run: RunRecord;
  /** Optimizer steps done when it was saved. */
  steps: number;
  /** The model a fine-tuning run started from (its `fine_tuned_from` entry), null for a run from scratch. */
  origin: ModelOrigin | null;
  /** Builds the model with the saved weights on `kernels`. */
  model(kernels: Kernels<Float32Array>): CharRNN<Float32Array>;
  /** Puts the optimizer, carried state, stream position and dropout generator of a trainer built on that model back where they were. */
  restore(trainer: Trainer<Float32Array>): void;
}

export function decodeCheckpoint(bytes: Uint8Array, source: string): DecodedCheckpoint {
  const { tensors, metadata } = decodeSafetensors(bytes, source);
  const fail = (why: string): never => {
    throw new CharrnnError(`${source} is not a usable charrnn checkpoint: ${why}.`);
  };
  const version = /^charrnn-checkpoint\/(\d+)$/.exec(metadata.format ?? '');
  if (version && Number(version[1]) > CHECKPOINT_VERSION) {
    throw new CharrnnError(
      `${source} was saved by a newer charrnn (format ${metadata.format}; this one reads ${CHECKPOINT_FORMAT}); update charrnn to resume it.`,
    );
  }
  if (metadata.format === MODEL_FORMAT)
    fail('it is a model file, not a training checkpoint (a run folder keeps its checkpoint in checkpoint.safetensors)');
  if (metadata.format !== CHECKPOINT_FORMAT) fail(`its format is ${JSON.stringify(metadata.format ?? null)}, not ${CHECKPOINT_FORMAT}`);
  const parse = (key: string): unknown => {
    try {
      return JSON.parse(metadata[key] ?? 'null');
    } catch {
      return fail(`its "${key}" metadata is not JSON`);
    }
  };
  const rawConfig = parse('config');
  const problem = modelConfigProblem(rawConfig);
  if (problem) fail(`its ${problem}`);
  const config = rawConfig as ModelConfig;
  const vocabChars = parse('vocab');
  if (!Array.isArray(vocabChars)) fail('it has no vocabulary');
  const normalization = metadata.normalize ?? 'none';
  if (normalization !== 'nfc' && normalization !== 'nfd' && normalization !== 'none')
    fail(`its "normalize" metadata is ${JSON.stringify(normalization)}`);
  const vocab = new Vocabulary(vocabChars as string[], normalization as Normalization);
  const training = trainingStateSchema.safeParse(parse('training'));
  if (!training.success) return fail('its training state is incomplete');
  const t = training.data;
  const tensor = (name: string, length: number): Float32Array => {
    const v = tensors.get(name);
    if (!v || v.data.length !== length) return fail(`its tensor ${name} is missing or of the wrong size`);
    return v.data;
  };
  return {
    config,
    vocab,
    run: t.run as RunRecord,
    steps: t.optimizerSteps,
    origin: modelOrigin(metadata, source),
    model(kernels) {
      const model = new CharRNN(config, kernels);
      if (config.vocabSize !== vocab.size) fail('its vocabulary and config disagree');
      for (const s of model.params.specs) model.params.get(s.name).set(tensor(s.name, s.size));
      model.params.changed();
      return model;
    },
    restore(trainer) {
      const { optimizer, state, model } = trainer;
      optimizer.first.set(tensor('train.optimizer.first', optimizer.first.length));
      optimizer.second.set(tensor('train.optimizer.second', optimizer.second.length));
      optimizer.steps = t.optimizerSteps;
      state.layers.forEach((l, i) => {
        l.h.set(tensor(`train.state.h_l${i}`, l.h.length));
        if (l.c) l.c.set(tensor(`train.state.c_l${i}`, l.c.length));
      });
      trainer.batcher.setState(t.streams);
      model.dropoutRng.setState(t.dropoutRng);
      if (trainer.average) trainer.average.values.set(tensor(CHECKPOINT_AVERAGE_TENSOR, trainer.average.values.length));
    },
  };
}

/** A short fingerprint (FNV-1a, 32-bit) of the training ids and their count. */
export function fingerprint(ids: ArrayLike<number>): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < ids.length; i++) {
    h ^= ids[i] & 0xffff;
    h = Math.imul(h, 0x01000193) >>> 0;
    h ^= ids[i] >>> 16;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return `${ids.length}:${h.toString(16).padStart(8, '0')}`;
}
