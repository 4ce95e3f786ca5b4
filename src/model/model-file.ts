// A charrnn model file: a safetensors file with every parameter under its
// PyTorch state_dict name (so torch's load_state_dict(strict=True) takes it as
// is), and the vocabulary and architecture as JSON strings in its metadata.
// Platform-neutral: no Node imports.
import { z } from 'zod';
import { CharrnnError } from '../errors.js';
import type { FloatArray, Kernels } from '../kernels/kernels.js';
import { Vocabulary } from '../text/vocabulary.js';
import { CharRNN } from './charrnn.js';
import { modelConfigSchema, type ModelConfig } from './config.js';
import { parameterSpecs } from './parameters.js';
import { decodeSafetensors, encodeSafetensors, type StoredDtype, type Tensor } from './safetensors.js';

/** The `format` metadata entry of a model file this version of charrnn writes and reads. */
export const MODEL_FORMAT = 'charrnn/1';
/**
 * A training checkpoint (src/train/checkpoint.ts). It is read as a model too:
 * it holds the same weights as the model.safetensors saved with it, so
 * refusing it would only make the user type another path.
 */
export const CHECKPOINT_FORMAT = 'charrnn-checkpoint/1';
/** Tensors of a checkpoint that are training state, not model weights. */
const TRAINING_TENSOR_PREFIX = 'train.';
/** A checkpoint's moving average of the weights, in the parameters' flat layout (src/train/checkpoint.ts). */
export const CHECKPOINT_AVERAGE_TENSOR = 'train.ema';

const RESERVED_KEYS = ['format', 'vocab', 'config', 'normalize'] as const;
const normalizationSchema = z.enum(['nfc', 'nfd', 'none']);

const vocabSchema = z.array(z.string()).min(1);

/**
 * The model's weights, vocabulary, config and `extra` metadata as one file;
 * `dtype` F16 stores the weights in half precision (half the bytes; reading widens them).
 */
export function encodeModel(
  model: CharRNN<Float32Array>,
  vocab: Vocabulary,
  extra: Record<string, string> = {},
  dtype: StoredDtype = 'F32',
): Uint8Array {
  const c = model.config;
  if (vocab.size !== c.vocabSize) throw new Error(`vocabulary has ${vocab.size} characters, the model ${c.vocabSize}`);
  for (const k of RESERVED_KEYS) if (Object.hasOwn(extra, k)) throw new Error(`metadata key ${k} is reserved`);
  // A fixed key order, so that the same model always gives the same bytes.
  const config: ModelConfig = modelConfigSchema.parse(c); // every field of the schema, nothing else
  const tensors = model.params.specs.map(s => ({ name: s.name, shape: s.shape, data: model.params.get(s.name) }));
  return encodeSafetensors(
    tensors,
    {
      format: MODEL_FORMAT,
      vocab: JSON.stringify(vocab.chars),
      config: JSON.stringify(config),
      normalize: vocab.normalization,
      ...extra,
    },
    dtype,
  );
}

/** A model file read and checked by {@link decodeModel}, before a model is built from it. */
export interface DecodedModel {
  /** The architecture, from the `config` metadata entry. */
  config: ModelConfig;
  /** The characters, from the `vocab` entry, in the `normalize` entry's form. */
  vocab: Vocabulary;
  /** Every parameter by PyTorch name, each checked against the config's shapes. */
  tensors: Map<string, Tensor>;
  /** Every metadata entry, the reserved ones (format, vocab, config, normalize) included. */
  metadata: Record<string, string>;
}

/** Reads and checks a model file; a CharrnnError naming `source` says what is wrong. */
export function decodeModel(bytes: Uint8Array, source: string): DecodedModel {
  const { tensors, metadata } = decodeSafetensors(bytes, source);
  const fail = (why: string): never => {
    throw new CharrnnError(`${source} is not a usable charrnn model: ${why}.`);
  };
  const format = metadata.format;
  if (format === undefined) fail('its metadata has no "format" entry (is it a charrnn model file?)');
  if (format !== MODEL_FORMAT && format !== CHECKPOINT_FORMAT) {
    fail(
      `it is in format ${JSON.stringify(format)}, and this version of charrnn reads ${MODEL_FORMAT} (and ${CHECKPOINT_FORMAT} checkpoints)`,
    );
  }
  const isCheckpoint = format === CHECKPOINT_FORMAT;
  // Files written before the form was recorded kept their text as given.
  const normalization = metadata.normalize === undefined ? 'none' : normalizationSchema.safeParse(metadata.normalize).data;
  if (normalization === undefined) fail(`its "normalize" metadata is ${JSON.stringify(metadata.normalize)}, not one of nfc, nfd, none`);

  const config = parseJsonEntry(metadata, 'config', modelConfigSchema, fail);
  const chars = parseJsonEntry(metadata, 'vocab', vocabSchema, fail);
  let vocab: Vocabulary;
  try {
    vocab = new Vocabulary(chars, normalization);
  } catch (e) {
    if (!(e instanceof CharrnnError)) throw e;
    return fail(`its vocabulary is invalid (${e.message.replace(/\.$/, '')})`);
  }
  if (vocab.size !== config.vocabSize) {
    fail(`its vocabulary has ${vocab.size} characters but its config says ${config.vocabSize}`);
  }

  const specs = parameterSpecs(config);
  for (const s of specs) {
    const t = tensors.get(s.name);
    if (!t) fail(`tensor ${s.name} is missing`);
    else if (t.shape.length !== s.shape.length || t.shape.some((d, i) => d !== s.shape[i])) {
      fail(`tensor ${s.name} has shape [${t.shape.join(', ')}] but the config needs [${s.shape.join(', ')}]`);
    }
  }
  if (isCheckpoint) useAveragedWeights(tensors, specs);
  const expected = new Set(specs.map(s => s.name));
  for (const name of [...tensors.keys()]) {
    if (expected.has(name)) continue;
    if (isCheckpoint && name.startsWith(TRAINING_TENSOR_PREFIX)) tensors.delete(name);
    else fail(`it has a tensor ${name} that this model has no use for`);
  }
  // A model that diverged, or a damaged file, would otherwise sample only one character and score NaN.
  for (const s of specs) {
    const data = tensors.get(s.name)!.data;
    for (let i = 0; i < data.length; i++) {
      if (!Number.isFinite(data[i])) fail(`tensor ${s.name} holds ${data[i]} at index ${i} (every weight must be a finite number)`);
    }
  }
  return { config, vocab, tensors, metadata };
}

/**
 * A checkpoint of a run that keeps a moving average (--ema) holds the raw
 * weights under the parameters' names and the average under train.ema; the
 * model file saved with it holds the average, so read as a model the
 * checkpoint gives the average too (a resumed run takes both from decodeCheckpoint).
 */
function useAveragedWeights(tensors: Map<string, Tensor>, specs: ReturnType<typeof parameterSpecs>): void {
  const average = tensors.get(CHECKPOINT_AVERAGE_TENSOR);
  const size = specs.reduce((n, s) => n + s.size, 0);
  if (!average || average.data.length !== size) return;
  for (const s of specs) {
    const t = tensors.get(s.name);
    if (t) tensors.set(s.name, { ...t, data: average.data.subarray(s.offset, s.offset + s.size) });
  }
}

/** Reads a model file into a model on the given backend. */
export function loadModel<F extends FloatArray>(
  bytes: Uint8Array,
  source: string,
  kernels: Kernels<F>,
): {
  model: CharRNN<F>;
  vocab: Vocabulary;
  metadata: Record<string, string>;
} {
  const { config, vocab, tensors, metadata } = decodeModel(bytes, source);
  const model = new CharRNN(config, kernels);
  for (const s of model.params.specs) {
    const t = tensors.get(s.name);
    if (!t) throw new Error(`decodeModel let ${s.name} through missing`);
    model.params.get(s.name).set(t.data);
  }
  model.params.changed();
  return { model, vocab, metadata };
}

function parseJsonEntry<S extends z.ZodType>(
  metadata: Record<string, string>,
  key: string,
  schema: S,
  fail: (why: string) => never,
): z.infer<S> {
  const raw = metadata[key];
  if (raw === undefined) fail(`its metadata has no "${key}" entry`);
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    fail(`its "${key}" metadata is not JSON`);
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue.path.length > 0 ? `${key}.${issue.path.join('.')}` : key;
    fail(`its ${where} is invalid (${issue.message.replace(/\.$/, '')})`);
  }
  return parsed.data as z.infer<S>;
}
