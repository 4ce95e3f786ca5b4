// The PyTorch fixtures: test/fixtures/torch/*.safetensors (tools/make-fixtures.py)
// and test/fixtures/torch-optim/*.json (tools/make-optimizer-fixtures.py), read
// into float64 arrays. The compiled tests run from dist/test, so the folders are
// looked for upwards from wherever this file is.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ModelConfig } from '../../src/model/config.js';
import type { OptimizerConfig } from '../../src/train/optimizer.js';
import type { LearningRateSchedule } from '../../src/train/schedule.js';

export function fixtureDir(name: string): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'test', 'fixtures', name);
    try {
      if (statSync(candidate).isDirectory()) return candidate;
    } catch {
      /* not here; keep climbing */
    }
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`test/fixtures/${name} not found above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
}

export interface Tensor {
  shape: number[];
  data: Float64Array | Int32Array;
}

/** A safetensors file of F32, F64 and I32 tensors (the product's reader is F32 only). */
function readSafetensors(path: string): { tensors: Map<string, Tensor>; metadata: Record<string, string> } {
  const bytes = readFileSync(path);
  const n = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + n).toString('utf8')) as Record<string, unknown>;
  const metadata = (header.__metadata__ ?? {}) as Record<string, string>;
  delete header.__metadata__;
  const tensors = new Map<string, Tensor>();
  for (const [name, info] of Object.entries(header as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>)) {
    const [begin, end] = info.data_offsets;
    const raw = bytes.subarray(8 + n + begin, 8 + n + end);
    const copy = new Uint8Array(raw).buffer; // aligned
    const data =
      info.dtype === 'F64'
        ? new Float64Array(copy)
        : info.dtype === 'F32'
          ? Float64Array.from(new Float32Array(copy))
          : info.dtype === 'I32'
            ? new Int32Array(copy)
            : null;
    if (!data) throw new Error(`${path}: tensor ${name} has dtype ${info.dtype}`);
    tensors.set(name, { shape: info.shape, data });
  }
  return { tensors, metadata };
}

/** One forward and backward pass of a model in PyTorch (float64), batch-first. */
export interface ModelFixture {
  file: string;
  config: ModelConfig;
  B: number;
  T: number;
  /** By state_dict name. */
  weights: Map<string, Tensor>;
  grads: Map<string, Tensor>;
  x: Tensor; // [B, T]
  y: Tensor; // [B, T]
  h0: Tensor; // [layers, B, H]
  c0: Tensor | null;
  logits: Tensor; // [B, T, V]
  loss: number; // mean cross-entropy
  h_n: Tensor; // [layers, B, H]
  c_n: Tensor | null;
  dh0: Tensor; // [layers, B, H]
  dc0: Tensor | null;
  d_emb_out: Tensor; // [B, T, E]: gradient at the bottom layer's inputs
}

export function modelFixtures(): ModelFixture[] {
  const dir = fixtureDir('torch');
  return readdirSync(dir)
    .filter(f => f.endsWith('.safetensors'))
    .sort()
    .map(file => {
      const { tensors, metadata } = readSafetensors(join(dir, file));
      const get = (name: string): Tensor => {
        const t = tensors.get(name);
        if (!t) throw new Error(`${file} has no tensor ${name}`);
        return t;
      };
      const prefixed = (prefix: string): Map<string, Tensor> =>
        new Map([...tensors].filter(([k]) => k.startsWith(prefix)).map(([k, v]) => [k.slice(prefix.length), v]));
      return {
        file: file.replace(/\.safetensors$/, ''),
        config: JSON.parse(metadata.config) as ModelConfig,
        B: Number(metadata.B),
        T: Number(metadata.T),
        weights: prefixed('weight.'),
        grads: prefixed('grad.'),
        x: get('x'),
        y: get('y'),
        h0: get('h0'),
        c0: tensors.get('c0') ?? null,
        logits: get('logits'),
        loss: get('loss').data[0],
        h_n: get('h_n'),
        c_n: tensors.get('c_n') ?? null,
        dh0: get('dh0'),
        dc0: tensors.get('dc0') ?? null,
        d_emb_out: get('d_emb_out'),
      };
    });
}

interface JsonTensor {
  shape: number[];
  data: number[];
}

export interface OptimizerKernelCase {
  hyper: { lr: number; beta1?: number; beta2?: number; eps?: number; alpha?: number; momentum?: number; weightDecay?: number };
  param: JsonTensor;
  grads: JsonTensor[];
  /** Parameters after each step. */
  after: JsonTensor[];
}

export interface OptimizerFixtures {
  /** adamw: torch.optim.AdamW, which charrnn's Optimizer does as a scale by 1 - lr * weightDecay, then adam. */
  kernels: Record<'adam' | 'rmsprop' | 'sgd-momentum' | 'sgd' | 'adamw', OptimizerKernelCase>;
  clip: { label: string; maxNorm: number; grads: JsonTensor[]; norm: number; clipped: JsonTensor[] }[];
  runs: [string, TrainFixture][];
}

export interface TrainFixture {
  config: ModelConfig;
  optimizer: OptimizerConfig;
  clip: number;
  lrDecay: number;
  lrDecayEvery: number;
  /** A learning-rate schedule (SequentialLR of LinearLR warm-up and CosineAnnealingLR), when the run has one. */
  schedule?: LearningRateSchedule;
  /** The decay of an AveragedModel EMA of the weights, when the run keeps one. */
  ema?: number;
  B: number;
  T: number;
  data: JsonTensor;
  x: JsonTensor[]; // per step [B, T]
  y: JsonTensor[];
  initialWeights: Record<string, JsonTensor>;
  steps: {
    loss: number;
    gradNorm: number | null;
    clipped: boolean;
    lr: number;
    weights: Record<string, JsonTensor>;
    ema?: Record<string, JsonTensor>;
  }[];
}

export function optimizerFixtures(): OptimizerFixtures {
  const dir = fixtureDir('torch-optim');
  const load = <T>(name: string): T => JSON.parse(readFileSync(join(dir, name), 'utf8')) as T;
  return {
    kernels: load<{ optimizers: OptimizerFixtures['kernels'] }>('kernels.json').optimizers,
    clip: load<{ cases: OptimizerFixtures['clip'] }>('clip.json').cases,
    runs: ['train-lstm-adam', 'train-gru-rmsprop', 'train-rnn-sgd', 'train-lstm-adamw'].map(n => [n, load<TrainFixture>(`${n}.json`)]),
  };
}

/** What a trace must find at every character of two texts, by PyTorch in float64 (tools/make-trace-fixtures.py). */
export interface TraceFixture {
  file: string;
  config: ModelConfig;
  vocab: string[];
  texts: string[];
  k: number;
  weights: Map<string, Tensor>;
  /** Per text: surprise [n] (NaN first), top_ids / top_p [n - 1, k] for characters 1 .. n - 1, and per layer hidden, cell, gates. */
  text: Map<string, Tensor>[];
}

export function traceFixtures(): TraceFixture[] {
  const dir = fixtureDir('torch-trace');
  return readdirSync(dir)
    .filter(f => f.endsWith('.safetensors'))
    .sort()
    .map(file => {
      const { tensors, metadata } = readSafetensors(join(dir, file));
      const texts = JSON.parse(metadata.texts) as string[];
      const prefixed = (prefix: string): Map<string, Tensor> =>
        new Map([...tensors].filter(([k]) => k.startsWith(prefix)).map(([k, v]) => [k.slice(prefix.length), v]));
      return {
        file: file.replace(/\.safetensors$/, ''),
        config: JSON.parse(metadata.config) as ModelConfig,
        vocab: JSON.parse(metadata.vocab) as string[],
        texts,
        k: Number(metadata.k),
        weights: prefixed('weight.'),
        text: texts.map((_, s) => prefixed(`text${s}.`)),
      };
    });
}
