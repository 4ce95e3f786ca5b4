// One forward pass over a text that keeps what the model thought at every
// character: how surprised it was, what it expected instead, and (as asked)
// each layer's hidden state, cell state and gates. Sequences run B at a time
// as streams of one batch, each in chunks of T steps with its state carried,
// so a long text costs what `charrnn eval` costs and memory is what the caller
// keeps of the chunks.
import { CharrnnError } from '../errors.js';
import { GATES, type FloatArray } from '../kernels/kernels.js';
import type { CharRNN } from '../model/charrnn.js';
import type { Vocabulary } from '../text/vocabulary.js';
import { traceInput, type TraceInput, type TraceSequence } from './trace-input.js';

/** A layer's values a trace can keep. */
export type TracedValue = 'hidden' | 'cell' | 'gates';

/** What {@link CharRnnModel.trace} keeps, and how it runs. */
export interface TraceOptions {
  /** Guesses kept per character, most likely first; default 5, 0 for none, at most the vocabulary's size. */
  topK?: number;
  /** The layers whose values are kept, 0 the bottom one; default none (surprise and guesses only). */
  layers?: readonly number[];
  /** Which values of those layers; default hidden and (LSTM) cell. `cell` is an LSTM's only. */
  values?: readonly TracedValue[];
  /** Steps per forward pass; default 256. */
  chunk?: number;
  /** Sequences (texts, or a line model's lines) run at once as one batch; default 32. */
  batch?: number;
}

/** One layer's values at consecutive positions. */
export interface LayerTrace<F extends FloatArray = Float32Array> {
  /** The layer, 0 the bottom one. */
  layer: number;
  /** The output h after each character: [n, H]. */
  hidden?: F;
  /** An LSTM's cell state c after each character: [n, H]. */
  cell?: F;
  /** The gates after their nonlinearities at each character: [n, G*H], LSTM i f g o, GRU r z n, RNN the one tanh. */
  gates?: F;
}

/** Consecutive positions of a trace, all of one sequence. */
export interface TraceChunk<F extends FloatArray = Float32Array> {
  /** The sequence (text, or a line model's line) these positions belong to. */
  sequence: number;
  /** The index in the whole trace of this chunk's first position. */
  start: number;
  /** The characters: [n]. */
  chars: string[];
  /** The id the model read at each position, -1 where it could not read the character: [n]. */
  ids: Int32Array;
  /** 1 where the character is not in the model's vocabulary: [n]. */
  unknown: Uint8Array;
  /**
   * How surprised the model was by each character, nats (-ln p): [n]. NaN
   * where nothing was predicted: a sequence's first character (its state is
   * fresh; a line model's start-of-line marker) and characters not read.
   */
  surprise: Float64Array;
  /** The probability the model gave each character (e^-surprise): [n]. */
  probability: Float64Array;
  /** Guesses per position: [n, k] ids, most likely first (ties by id); -1 where nothing was predicted. */
  topIds: Int32Array;
  /** Their probabilities: [n, k]. */
  topP: Float64Array;
  /** The guesses kept per position. */
  k: number;
  /** The layers asked for, in the order asked. */
  layers: LayerTrace<F>[];
}

/** A whole trace: the chunks of every sequence, joined. */
export interface TextTrace<F extends FloatArray = Float32Array> extends Omit<TraceChunk<F>, 'sequence' | 'start'> {
  /** The first position of each sequence: [sequences]. */
  starts: number[];
  /** The characters the model does not know, in order of first appearance. */
  unknownChars: string[];
}

interface CheckedOptions {
  k: number;
  layers: number[];
  values: TracedValue[];
  chunk: number;
  batch: number;
}

/** The options checked, with their defaults; a bad one throws a CharrnnError saying which. */
function checkTraceOptions<F extends FloatArray>(model: CharRNN<F>, options: TraceOptions): CheckedOptions {
  if (typeof options !== 'object' || options === null) throw new CharrnnError('The trace options must be an object.');
  const { vocabSize, layers: depth, cell } = model.config;
  const whole = (name: string, value: unknown, min: number, max: number): number => {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max)
      throw new CharrnnError(`${name} must be a whole number from ${min} to ${max}, not ${JSON.stringify(value)}.`);
    return value;
  };
  const k = whole('topK', options.topK ?? 5, 0, vocabSize);
  const layers = [...(options.layers ?? [])].map(l => whole('Each of layers', l, 0, depth - 1));
  const values = [...(options.values ?? (cell === 'lstm' ? ['hidden', 'cell'] : ['hidden']))];
  for (const v of values) {
    if (v !== 'hidden' && v !== 'cell' && v !== 'gates')
      throw new CharrnnError(`values may hold hidden, cell and gates, not ${JSON.stringify(v)}.`);
    if (v === 'cell' && cell !== 'lstm') throw new CharrnnError(`A ${cell.toUpperCase()} has no cell state; trace its hidden or gates.`);
  }
  return { k, layers, values, chunk: whole('chunk', options.chunk ?? 256, 1, 65536), batch: whole('batch', options.batch ?? 32, 1, 4096) };
}

/**
 * Traces texts chunk by chunk, in text order: running text as one sequence per
 * text, a line model's text as one sequence per line (`lineModel`). A caller
 * that keeps only what it needs of each chunk traces a text of any length in
 * bounded memory. A bad option, or a text with nothing to trace, throws a
 * CharrnnError.
 */
export function* traceChunks<F extends FloatArray>(
  model: CharRNN<F>,
  vocab: Vocabulary,
  texts: readonly string[],
  lineModel: boolean,
  options: TraceOptions = {},
): Generator<TraceChunk<F>, void, undefined> {
  yield* traceInputChunks(model, traceInput(vocab, texts, lineModel), options);
}

/** {@link traceChunks} of a text already cut into sequences (`traceInput`). */
export function* traceInputChunks<F extends FloatArray>(
  model: CharRNN<F>,
  input: TraceInput,
  options: TraceOptions = {},
): Generator<TraceChunk<F>, void, undefined> {
  yield* chunksOf(model, input.sequences, checkTraceOptions(model, options));
}

function* chunksOf<F extends FloatArray>(model: CharRNN<F>, sequences: TraceSequence[], opts: CheckedOptions): Generator<TraceChunk<F>> {
  let start = 0;
  for (let from = 0; from < sequences.length; from += opts.batch) {
    const group = sequences.slice(from, from + opts.batch);
    for (const chunk of traceGroup(model, group, from, opts)) {
      chunk.start = start;
      start += chunk.chars.length;
      yield chunk;
    }
  }
}

/** Traces texts whole: {@link traceChunks} joined (what `CharRnnModel.trace` returns). */
export function traceText<F extends FloatArray>(
  model: CharRNN<F>,
  vocab: Vocabulary,
  texts: readonly string[],
  lineModel: boolean,
  options: TraceOptions = {},
): TextTrace<F> {
  const opts = checkTraceOptions(model, options);
  const { sequences, unknownChars } = traceInput(vocab, texts, lineModel);
  // The whole trace's arrays are made once at their final size and each chunk is copied in as it comes,
  // so that keeping every layer's values costs what they take and not twice that.
  const n = sequences.reduce((sum, s) => sum + s.chars.length, 0);
  const { k } = opts;
  const { hidden: H, cell } = model.config;
  const float = floatOf(model);
  const width: Record<TracedValue, number> = { hidden: H, cell: H, gates: GATES[cell] * H };
  const trace: TextTrace<F> = {
    chars: new Array<string>(n),
    ids: new Int32Array(n),
    unknown: new Uint8Array(n),
    surprise: new Float64Array(n),
    probability: new Float64Array(n),
    topIds: new Int32Array(n * k),
    topP: new Float64Array(n * k),
    k,
    layers: opts.layers.map(layer => {
      const traced: LayerTrace<F> = { layer };
      for (const v of opts.values) traced[v] = float(n * width[v]);
      return traced;
    }),
    starts: [],
    unknownChars,
  };
  for (const c of chunksOf(model, sequences, opts)) {
    if (trace.starts.length === c.sequence) trace.starts.push(c.start);
    const at = c.start;
    for (let i = 0; i < c.chars.length; i++) trace.chars[at + i] = c.chars[i];
    trace.ids.set(c.ids, at);
    trace.unknown.set(c.unknown, at);
    trace.surprise.set(c.surprise, at);
    trace.probability.set(c.probability, at);
    trace.topIds.set(c.topIds, at * k);
    trace.topP.set(c.topP, at * k);
    c.layers.forEach((l, j) => {
      for (const v of opts.values) trace.layers[j][v]!.set(l[v]!, at * width[v]);
    });
  }
  return trace;
}

/**
 * One batch of sequences as B streams: chunks of T steps with the state
 * carried, yielding each sequence's chunks in order (B = 1 as they are made;
 * otherwise once the group is done, so that the order is the text's).
 */
function* traceGroup<F extends FloatArray>(
  model: CharRNN<F>,
  group: TraceSequence[],
  firstSequence: number,
  opts: CheckedOptions,
): Generator<TraceChunk<F>, void, undefined> {
  const B = group.length;
  const float = floatOf(model);
  const { vocabSize: V, hidden: H, cell } = model.config;
  const G = GATES[cell];
  // Each sequence's readable positions: fed[b] the ids, at[b] their display positions.
  const fed = group.map(s => s.ids.filter(id => id >= 0));
  const at = group.map(s => Int32Array.from(s.ids.keys()).filter(i => s.ids[i] >= 0));
  const longest = Math.max(...fed.map(f => f.length));
  const state = model.newState(B);
  const x = new Int32Array(opts.chunk * B); // [T, B]
  const carry = new Float64Array(B * V); // [B, V]: the logits of each stream's last step, predicting its next character
  const pending: TraceChunk<F>[][] = group.map(() => []);
  // A sequence the model cannot read at all still gets its (empty) chunk.
  for (let b = 0; b < B; b++)
    if (fed[b].length === 0) pending[b].push(emptyChunk(group[b], firstSequence + b, 0, group[b].chars.length, opts, H, G, float));
  for (let t0 = 0; t0 < longest; t0 += opts.chunk) {
    const T = Math.min(opts.chunk, longest - t0);
    for (let t = 0; t < T; t++) for (let b = 0; b < B; b++) x[t * B + b] = t0 + t < fed[b].length ? fed[b][t0 + t] : 0;
    const logits = model.forward(x, T, B, state); // [T, B, V]
    const acts = opts.layers.map(l => model.layers[l].activations);
    for (let b = 0; b < B; b++) {
      const len = fed[b].length;
      if (t0 >= len) continue;
      const t1 = Math.min(t0 + T, len);
      const seq = group[b];
      // Display positions: from this chunk's first readable one (or 0) to the next chunk's first.
      const d0 = t0 === 0 ? 0 : at[b][t0];
      const d1 = t1 === len ? seq.chars.length : at[b][t1];
      const chunk = emptyChunk(seq, firstSequence + b, d0, d1, opts, H, G, float);
      let t = t0;
      for (let d = d0; d < d1; d++) {
        const i = d - d0;
        if (t < t1 && at[b][t] === d) {
          if (t > 0) {
            const row = ((t - 1 - t0) * B + b) * V;
            const prev = t - 1 >= t0 ? logits.subarray(row, row + V) : carry.subarray(b * V, (b + 1) * V);
            predict(prev, fed[b][t], opts.k, chunk, i);
          }
          const row = (t - t0) * B + b;
          acts.forEach((a, j) => {
            const traced = chunk.layers[j];
            traced.hidden?.set(a.h.subarray(row * H, (row + 1) * H), i * H);
            traced.cell?.set(a.aux.subarray(row * H, (row + 1) * H), i * H);
            traced.gates?.set(a.gates.subarray(row * G * H, (row + 1) * G * H), i * G * H);
          });
          t++;
        } else if (i > 0) {
          // Not read: the state is the one after the character before (a chunk after the first starts with a read one).
          for (const traced of chunk.layers)
            for (const v of opts.values) {
              const values = traced[v]!;
              const w = values.length / (d1 - d0);
              values.copyWithin(i * w, (i - 1) * w, i * w);
            }
        }
      }
      const last = logits.subarray(((t1 - 1 - t0) * B + b) * V, ((t1 - 1 - t0) * B + b + 1) * V);
      carry.set(last, b * V);
      pending[b].push(chunk);
    }
    if (B === 1) yield* pending[0].splice(0);
  }
  for (const chunks of pending) yield* chunks;
}

/** Writes position i's surprise and top-k from the logits [V] that predicted `target` (softmax in float64). */
function predict(logits: ArrayLike<number>, target: number, k: number, chunk: TraceChunk<FloatArray>, i: number): void {
  const V = logits.length;
  let max = -Infinity;
  for (let v = 0; v < V; v++) if (logits[v] > max) max = logits[v];
  let sum = 0;
  for (let v = 0; v < V; v++) sum += Math.exp(logits[v] - max);
  const logSum = max + Math.log(sum);
  chunk.surprise[i] = logSum - logits[target];
  chunk.probability[i] = Math.exp(-chunk.surprise[i]);
  if (k === 0) return;
  // The k largest logits, most likely first, ties by the lower id: an insertion into k slots.
  const ids = chunk.topIds.subarray(i * k, (i + 1) * k);
  const p = chunk.topP.subarray(i * k, (i + 1) * k);
  let filled = 0;
  for (let v = 0; v < V; v++) {
    const l = logits[v];
    if (filled === k && l <= logits[ids[k - 1]]) continue;
    let j = filled < k ? filled++ : k - 1;
    while (j > 0 && logits[ids[j - 1]] < l) {
      ids[j] = ids[j - 1];
      j--;
    }
    ids[j] = v;
  }
  for (let j = 0; j < k; j++) p[j] = Math.exp(logits[ids[j]] - logSum);
}

/** A chunk of display positions [d0, d1) of a sequence, nothing predicted yet and every state zero. */
function emptyChunk<F extends FloatArray>(
  seq: TraceSequence,
  sequence: number,
  d0: number,
  d1: number,
  opts: CheckedOptions,
  H: number,
  G: number,
  float: (n: number) => F,
): TraceChunk<F> {
  const n = d1 - d0;
  return {
    sequence,
    start: 0,
    chars: seq.chars.slice(d0, d1),
    ids: seq.ids.slice(d0, d1),
    unknown: seq.unknown.slice(d0, d1),
    surprise: new Float64Array(n).fill(NaN),
    probability: new Float64Array(n).fill(NaN),
    topIds: new Int32Array(n * opts.k).fill(-1),
    topP: new Float64Array(n * opts.k).fill(NaN),
    k: opts.k,
    layers: opts.layers.map(layer => {
      const traced: LayerTrace<F> = { layer };
      for (const v of opts.values) traced[v] = float(n * (v === 'gates' ? G * H : H));
      return traced;
    }),
  };
}

/** A plain array of the engine's precision (not the engine's own memory: a trace's values outlive its buffers). */
function floatOf<F extends FloatArray>(model: CharRNN<F>): (n: number) => F {
  const Float = model.params.get('out.bias').constructor as new (n: number) => F;
  return n => new Float(n);
}
