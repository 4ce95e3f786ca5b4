// How much memory a training run or a generation will allocate, worked out
// from the same size formulas the layers allocate by, so that a size that cannot
// fit is refused with a sentence before anything is allocated (instead of an
// engine failing half way with "Array buffer allocation failed").
// Platform-neutral: the caller supplies the machine's memory.
import { CharrnnError } from '../errors.js';
import { cellActivationSizes, cellScratchSizes, cellStepScratchSize, GATES, modelStepScratchSize } from '../kernels/kernels.js';
import type { ModelConfig } from '../model/config.js';
import type { OptimizerName } from './optimizer.js';

const FLOAT = 4;
/** The most elements one JavaScript typed array can have. */
export const MAX_ARRAY_ELEMENTS = 2 ** 32;

/** How much memory a job will allocate, from {@link trainingMemory} or {@link generationMemory}. */
export interface MemoryEstimate {
  /** Bytes in all. */
  bytes: number;
  /** Bytes by what they hold, for the message. */
  parts: Record<string, number>;
  /** Elements of the largest single buffer (every parameter is one buffer). */
  largestArray: number;
}

/** What decides a training run's memory: the model and the batch shape, the optimizer, threads and --ema. */
export interface TrainingShape {
  /** The model's architecture. */
  config: ModelConfig;
  /** Streams (or lines) per batch. */
  batch: number;
  /** Time steps per chunk (T). */
  seq: number;
  /** The optimizer, whose state is one or two more copies of the weights. */
  optimizer: OptimizerName;
  /** Engine threads, each with its own gate scratch (default 1). */
  threads?: number;
  /** Whether the run keeps an exponential moving average of the weights (--ema): one more copy of them. */
  ema?: boolean;
}

/** The longest string a JavaScript engine (V8) holds: a text generated whole must fit in one. */
export const MAX_TEXT_LENGTH = 2 ** 29 - 24;

/**
 * Elements of every parameter together (one buffer): parameterSpecs' shapes
 * summed by formula, so that --layers 1000000000 is answered at once rather than
 * by listing a billion layers.
 */
export function parameterCount(c: ModelConfig): number {
  const G = GATES[c.cell] * c.hidden;
  const firstLayer = G * c.emb + G * c.hidden + 2 * G;
  const laterLayer = 2 * G * c.hidden + 2 * G;
  return c.vocabSize * c.emb + firstLayer + (c.layers - 1) * laterLayer + c.vocabSize * c.hidden + c.vocabSize;
}

/**
 * Bytes a training run allocates: weights, gradients and optimizer state; per
 * layer the activations and backward scratch for B*T rows, carried state and
 * dropout masks; logits and their gradient (B*T*V each); the engine's packed
 * copy of the weights and each thread's gate rows; with --ema, the averaged weights.
 */
export function trainingMemory(s: TrainingShape): MemoryEstimate {
  const { config: c, batch: B, seq: T } = s;
  const threads = s.threads ?? 1;
  const P = parameterCount(c);
  const rows = B * T;
  const H = c.hidden,
    G = GATES[c.cell] * H,
    V = c.vocabSize;
  const shape = { cell: c.cell, T: 1, B: rows, I: 0, H };
  const act = cellActivationSizes(shape);
  const scratch = cellScratchSizes(shape);
  const perLayer =
    act.gates +
    act.aux +
    act.h +
    scratch.dgates +
    scratch.dgatesHidden +
    2 * B * H /* dhNext, dcNext */ +
    2 * B * H /* h0, c0 */ +
    2 * B * H /* carried state */ +
    (c.dropout > 0 ? 2 * rows * H : 0); /* mask and dropped output */
  const parts = {
    weights: P * FLOAT,
    ...(s.ema ? { 'averaged weights': P * FLOAT } : {}),
    gradients: P * FLOAT,
    'optimizer state': (s.optimizer === 'adam' ? 2 : 1) * P * FLOAT,
    activations:
      (c.layers * perLayer + rows * c.emb + 2 * rows * Math.max(c.emb, H) + 4 * rows) /* ids and targets, model and trainer */ * FLOAT,
    logits: 2 * rows * V * FLOAT,
    'engine scratch': (P + threads * rows * G) * FLOAT,
  };
  return {
    bytes: sum(parts),
    parts,
    largestArray: Math.max(P, rows * V, act.gates, scratch.dgates, rows * Math.max(c.emb, H)),
  };
}

/**
 * Floats of the weight matrices a model step reads, packed as the native engine
 * packs them (one copy per model, native/src/step.c): every layer's W_hh, W_ih
 * past layer 0 (whose input comes from the inference table) and the output
 * layer's, rows padded to a multiple of 16. The other engines read the weights
 * in place, so for them this errs high.
 */
export function packedStepFloats(config: ModelConfig): number {
  const H = config.hidden,
    pad = (rows: number): number => Math.ceil(rows / 16) * 16;
  return GATES[config.cell] * pad(H) * (H + (config.layers - 1) * 2 * H) + pad(config.vocabSize) * H;
}

/**
 * Bytes generation allocates: weights, the inference table (V * gates), the
 * packed step weights, each stream's state, logits and step scratch, the
 * prime's forward pass, and the texts, which the generator keeps whole.
 */
export function generationMemory(config: ModelConfig, streams: number, length: number, primeLength: number): MemoryEstimate {
  const c = config;
  const P = parameterCount(c);
  const H = c.hidden,
    G = GATES[c.cell] * H,
    V = c.vocabSize;
  const rows = Math.max(1, primeLength);
  const prime = trainingMemory({ config: c, batch: 1, seq: rows, optimizer: 'sgd' });
  const parts = {
    weights: P * FLOAT,
    'inference table': V * G * FLOAT,
    'packed step weights': packedStepFloats(c) * FLOAT,
    'stream state':
      (streams * (2 * c.layers * H + 2 * V) +
        modelStepScratchSize(c.cell, streams, H, c.layers) +
        cellStepScratchSize({ cell: c.cell, T: 1, B: streams, I: 0, H })) *
      FLOAT,
    'prime pass': prime.parts.activations + prime.parts.logits,
    // Every text is kept whole (as a string, at most 2 bytes a character, plus the pieces it was built from).
    texts: streams * length * FLOAT,
  };
  return { bytes: sum(parts), parts, largestArray: Math.max(P, V * G, packedStepFloats(c), rows * V) };
}

/** The memory a job may use: what the machine has, and what the engine can address. */
export interface MachineMemory {
  /** Bytes of memory the machine (or its container) has. */
  total: number;
  /** Bytes available now. */
  available: number;
  /** The most one engine can address (the wasm backend's 4 GiB), if less than the machine. */
  engineLimit?: { bytes: number; engine: string };
}

/**
 * Refuses, with one sentence giving the estimate and the machine's memory,
 * what would not fit. `what` names the job ("a 2x128 LSTM with --batch 50
 * --seq 50"), `advice` says what to make smaller, `otherEngine` how to choose an
 * engine without the engine's limit (the CLI's "--backend native").
 */
export function checkMemory(
  estimate: MemoryEstimate,
  machine: MachineMemory,
  what: string,
  advice: string,
  otherEngine = 'the native backend',
): void {
  const need = formatBytes(estimate.bytes);
  const biggest = Object.entries(estimate.parts)
    .sort((a, b) => b[1] - a[1])
    .slice(0, 2)
    .map(([k, v]) => `${k} ${formatBytes(v)}`)
    .join(', ');
  if (estimate.bytes > machine.available) {
    throw new CharrnnError(
      `${capitalise(what)} needs about ${need} of memory (mostly ${biggest}), and this machine has ${formatBytes(machine.total)} ` +
        `(${formatBytes(machine.available)} available); ${advice}.`,
    );
  }
  if (estimate.largestArray > MAX_ARRAY_ELEMENTS) {
    throw new CharrnnError(
      `${capitalise(what)} needs one buffer of ${estimate.largestArray.toLocaleString('en')} numbers (${need} in all, mostly ${biggest}), ` +
        `more than the ${MAX_ARRAY_ELEMENTS.toLocaleString('en')} a JavaScript array can hold; ${advice}.`,
    );
  }
  if (machine.engineLimit && estimate.bytes > machine.engineLimit.bytes) {
    throw new CharrnnError(
      `${capitalise(what)} needs about ${need} of memory (mostly ${biggest}), and the ${machine.engineLimit.engine} backend can use at most ` +
        `${formatBytes(machine.engineLimit.bytes)}; ${advice}, or use ${otherEngine}.`,
    );
  }
}

export function formatBytes(bytes: number): string {
  const units = ['bytes', 'KB', 'MB', 'GB', 'TB', 'PB', 'EB'];
  let v = bytes;
  let u = 0;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return u === 0 ? `${Math.round(v)} bytes` : v >= 1e6 ? `${v.toExponential(1)} ${units[u]}` : `${v.toFixed(1)} ${units[u]}`;
}

function sum(parts: Record<string, number>): number {
  return Object.values(parts).reduce((a, b) => a + b, 0);
}

function capitalise(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}
