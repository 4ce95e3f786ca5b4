// A charrnn model as an ONNX model (a ModelProto as a plain object, in the
// field names of ONNX's own onnx.proto): the embedding as Gather, each layer as
// ONNX's standard LSTM, GRU or RNN operator, the output layer as MatMul + Add,
// and what a consumer in any language needs to turn text into ids and back in
// metadata_props. One graph serves both scoring a text (T steps at once) and
// generating a character at a time with the state carried by the caller.
// Platform-neutral; src/export/onnx-encode.ts turns the object into bytes.
import { CharrnnError } from '../errors.js';
import { GATES, type CellType } from '../kernels/kernels.js';
import type { ModelConfig } from '../model/config.js';
import { lineModelInfo } from '../model/line-model.js';
import type { DecodedModel } from '../model/model-file.js';
import { parameterSpecs } from '../model/parameters.js';

/**
 * The operator set the graph is written in: 17 (ONNX 1.12, 2022), which every
 * ONNX Runtime since 1.12 runs, onnxruntime-web included, and which has every
 * operator used here in its current form (Squeeze and Split take their axes
 * and sizes as inputs since 13; LSTM, GRU and RNN are at version 14).
 */
export const ONNX_OPSET = 17;
/** The IR version that goes with opset 17. */
export const ONNX_IR_VERSION = 8;
/** The `format` entry of an exported model's metadata_props. */
export const ONNX_FORMAT = 'charrnn-onnx/1';
/**
 * The most a protobuf message, and so an ONNX file without external data,
 * may hold: 2 GiB less one byte.
 */
export const ONNX_MAX_BYTES = 2 ** 31 - 1;

/** TensorProto.DataType of onnx.proto. */
const FLOAT = 1;
const INT64 = 7;
/** AttributeProto.AttributeType of onnx.proto. */
const INT = 2;

/** A TensorProto: an initializer, its values as little-endian bytes in raw_data. */
export interface OnnxTensor {
  name: string;
  dims: number[];
  data_type: number;
  raw_data: Uint8Array;
}

/** An AttributeProto holding one integer (the only kind this graph uses). */
export interface OnnxAttribute {
  name: string;
  type: number;
  i: number;
}

/** A NodeProto: one operator of the graph. */
export interface OnnxNode {
  name: string;
  op_type: string;
  /** Value names; '' leaves an optional input out. */
  input: string[];
  output: string[];
  attribute: OnnxAttribute[];
}

/** One dimension of a value's shape: a size, or a name shared by the dimensions that are equal (T, B). */
export type OnnxDimension = { dim_value: number } | { dim_param: string };

/** A ValueInfoProto: a graph input or output, a tensor of one element type and shape. */
export interface OnnxValueInfo {
  name: string;
  doc_string: string;
  type: { tensor_type: { elem_type: number; shape: { dim: OnnxDimension[] } } };
}

/** A GraphProto. */
export interface OnnxGraph {
  name: string;
  doc_string: string;
  node: OnnxNode[];
  initializer: OnnxTensor[];
  input: OnnxValueInfo[];
  output: OnnxValueInfo[];
}

/** A ModelProto, as protobufjs takes it with onnx.proto's field names. */
export interface OnnxModel {
  ir_version: number;
  opset_import: { domain: string; version: number }[];
  producer_name: string;
  producer_version: string;
  doc_string: string;
  graph: OnnxGraph;
  metadata_props: { key: string; value: string }[];
}

/**
 * Where each of ONNX's gate blocks comes from in PyTorch's layout: ONNX's LSTM
 * orders its gates i o f c (input, output, forget, cell), PyTorch's i f g o;
 * ONNX's GRU z r h, PyTorch's r z n; an RNN has one block.
 */
export const ONNX_GATE_SOURCE: Record<CellType, readonly number[]> = { lstm: [0, 3, 1, 2], gru: [1, 0, 2], rnn: [0] };

/** The ONNX operator of each cell. */
const OPERATOR: Record<CellType, string> = { lstm: 'LSTM', gru: 'GRU', rnn: 'RNN' };

/** What {@link onnxModel} needs besides the model: the names it uses in a sentence and in the file. */
export interface OnnxExportOptions {
  /** The model file, as sentences name it. */
  source: string;
  /** charrnn's version, written as the producer's. */
  producerVersion: string;
}

/**
 * The ONNX model of a decoded model file (a checkpoint gives its averaged
 * weights, as it does when read as a model). Inputs: `ids` int64 [T, B], `h0`
 * float [L, B, H] (and `c0` for an LSTM); outputs: `logits` [T, B, V], `hn`
 * [L, B, H] (and `cn`). A model too large for one ONNX file is refused with a
 * CharrnnError naming `options.source`.
 */
export function onnxModel(model: DecodedModel, options: OnnxExportOptions): OnnxModel {
  const { config, vocab, tensors } = model;
  const metadata = onnxMetadata(model, options.source);
  checkOnnxSize(config, options.source, metadata);
  const { cell, layers: L, hidden: H, emb: E, vocabSize: V } = config;
  const tensor = (name: string): Float32Array => {
    const t = tensors.get(name);
    if (!t) throw new Error(`decodeModel let ${name} through missing`);
    return t.data;
  };
  const G = GATES[cell];
  const blocks = ONNX_GATE_SOURCE[cell];
  const lstm = cell === 'lstm';

  const initializer: OnnxTensor[] = [floatTensor('emb.weight', [V, E], tensor('emb.weight'))];
  const node: OnnxNode[] = [
    { name: 'embedding', op_type: 'Gather', input: ['emb.weight', 'ids'], output: ['x_l0'], attribute: [int('axis', 0)] },
  ];
  // Each layer takes its slice [1, B, H] of the state the caller gives for all layers.
  const states = lstm ? (['h', 'c'] as const) : (['h'] as const);
  if (L > 1) {
    initializer.push(int64Tensor('split_layers', [L], new Array<number>(L).fill(1)));
    for (const s of states) {
      const outputs = Array.from({ length: L }, (_, l) => `${s}0_l${l}`);
      node.push({ name: `split_${s}0`, op_type: 'Split', input: [`${s}0`, 'split_layers'], output: outputs, attribute: [int('axis', 0)] });
    }
  }
  initializer.push(int64Tensor('axis_direction', [1], [1]));
  const layerState = (s: 'h' | 'c', l: number): string => (L > 1 ? `${s}0_l${l}` : `${s}0`);
  for (let l = 0; l < L; l++) {
    const I = l === 0 ? E : H;
    const W = `rnn.W_l${l}`,
      R = `rnn.R_l${l}`,
      B = `rnn.B_l${l}`;
    initializer.push(
      floatTensor(W, [1, G * H, I], gateBlocks(tensor(`rnn.weight_ih_l${l}`), blocks, H * I)),
      floatTensor(R, [1, G * H, H], gateBlocks(tensor(`rnn.weight_hh_l${l}`), blocks, H * H)),
      // B = [Wb, Rb]: the input's bias then the hidden state's, each in ONNX's gate order.
      floatTensor(
        B,
        [1, 2 * G * H],
        concat(gateBlocks(tensor(`rnn.bias_ih_l${l}`), blocks, H), gateBlocks(tensor(`rnn.bias_hh_l${l}`), blocks, H)),
      ),
    );
    // With one layer the final states are the graph's outputs themselves.
    const finalOf = (s: 'h' | 'c'): string => (L > 1 ? `${s}n_l${l}` : `${s}n`);
    const attribute = [int('hidden_size', H)];
    // PyTorch's GRU applies the reset gate after the recurrent weights: ONNX's linear_before_reset = 1.
    if (cell === 'gru') attribute.push(int('linear_before_reset', 1));
    node.push({
      name: `layer_${l}`,
      op_type: OPERATOR[cell],
      // X, W, R, B, sequence_lens (none: every stream runs all T steps), initial_h[, initial_c]
      input: [`x_l${l}`, W, R, B, '', layerState('h', l), ...(lstm ? [layerState('c', l)] : [])],
      output: [`y_l${l}`, finalOf('h'), ...(lstm ? [finalOf('c')] : [])],
      attribute,
    });
    // Y is [T, num_directions = 1, B, H]: the next layer and the output take [T, B, H].
    node.push({ name: `squeeze_${l}`, op_type: 'Squeeze', input: [`y_l${l}`, 'axis_direction'], output: [`x_l${l + 1}`], attribute: [] });
  }
  if (L > 1) {
    for (const s of states) {
      const inputs = Array.from({ length: L }, (_, l) => `${s}n_l${l}`);
      node.push({ name: `concat_${s}n`, op_type: 'Concat', input: inputs, output: [`${s}n`], attribute: [int('axis', 0)] });
    }
  }
  initializer.push(
    floatTensor('out.weight_t', [H, V], transpose(tensor('out.weight'), V, H)),
    floatTensor('out.bias', [V], tensor('out.bias')),
  );
  node.push(
    { name: 'output_matmul', op_type: 'MatMul', input: [`x_l${L}`, 'out.weight_t'], output: ['projected'], attribute: [] },
    { name: 'output_bias', op_type: 'Add', input: ['projected', 'out.bias'], output: ['logits'], attribute: [] },
  );

  const T = { dim_param: 'T' },
    Bd = { dim_param: 'B' };
  const stateDims = [{ dim_value: L }, Bd, { dim_value: H }];
  const input = [
    valueInfo('ids', INT64, [T, Bd], 'character ids, time-major: ids[t, b] is stream b at step t'),
    valueInfo('h0', FLOAT, stateDims, "every layer's hidden state before step 0 (zeros to start)"),
    ...(lstm ? [valueInfo('c0', FLOAT, stateDims, "every layer's cell state before step 0 (zeros to start)")] : []),
  ];
  const output = [
    valueInfo('logits', FLOAT, [T, Bd, { dim_value: V }], 'logits[t, b] predicts the character after ids[t, b]'),
    valueInfo('hn', FLOAT, stateDims, "every layer's hidden state after the last step: the next call's h0"),
    ...(lstm ? [valueInfo('cn', FLOAT, stateDims, "every layer's cell state after the last step: the next call's c0")] : []),
  ];
  const description = `charrnn ${cell} model, ${L} layer${L === 1 ? '' : 's'} of ${H} units, ${vocab.size} characters`;
  return {
    ir_version: ONNX_IR_VERSION,
    opset_import: [{ domain: '', version: ONNX_OPSET }],
    producer_name: 'charrnn',
    producer_version: options.producerVersion,
    doc_string: description,
    graph: { name: 'charrnn', doc_string: description, node, initializer, input, output },
    metadata_props: Object.entries(metadata).map(([key, value]) => ({ key, value })),
  };
}

/**
 * The metadata_props of an exported model: `format`, `vocab` (JSON: the
 * characters in id order), `normalize` (nfc, nfd or none: the form text is put
 * in before it is turned into ids), `config` (JSON: cell, layers, hidden, emb,
 * vocabSize), and for a line model `lines` (JSON: {"eol": ...}).
 */
export function onnxMetadata(model: DecodedModel, source: string): Record<string, string> {
  const { cell, layers, hidden, emb, vocabSize } = model.config;
  const lines = lineModelInfo(model.metadata, source);
  return {
    format: ONNX_FORMAT,
    vocab: JSON.stringify(model.vocab.chars),
    normalize: model.vocab.normalization,
    config: JSON.stringify({ cell, layers, hidden, emb, vocabSize }),
    ...(lines ? { lines: JSON.stringify({ eol: lines.eol }) } : {}),
  };
}

/**
 * Refuses, with a sentence naming `source`, a model whose weights (with its
 * metadata) do not fit in one ONNX file: a protobuf message holds at most
 * 2 GiB, and ONNX's external-data form for larger models is not written here.
 * Reckoned from the config, so nothing that large is allocated to find out.
 */
export function checkOnnxSize(config: ModelConfig, source: string, metadata: Record<string, string> = {}): void {
  const weightBytes = 4 * parameterSpecs(config).reduce((n, s) => n + s.size, 0);
  // Framing, names and the graph are a few kilobytes; a string's UTF-8 is at most 3 bytes per UTF-16 unit.
  const overhead = 64 * 1024 + 3 * Object.entries(metadata).reduce((n, [k, v]) => n + k.length + v.length, 0);
  if (weightBytes + overhead > ONNX_MAX_BYTES) {
    const gb = (weightBytes / 2 ** 30).toFixed(1);
    throw new CharrnnError(
      `${source} cannot be written as one ONNX file: its weights take ${gb} GiB, and an ONNX file (a protobuf message) holds at most 2 GiB.`,
    );
  }
}

/** PyTorch's gate blocks (each `block` values) of a weight or bias, in the order ONNX's operator expects. */
function gateBlocks(data: Float32Array, source: readonly number[], block: number): Float32Array {
  const out = new Float32Array(data.length);
  source.forEach((from, to) => out.set(data.subarray(from * block, (from + 1) * block), to * block));
  return out;
}

function concat(a: Float32Array, b: Float32Array): Float32Array {
  const out = new Float32Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** [rows, cols] -> [cols, rows]: PyTorch's out.weight [V, H] as MatMul's right operand [H, V]. */
function transpose(data: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(data.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = data[r * cols + c];
  return out;
}

function floatTensor(name: string, dims: number[], data: Float32Array): OnnxTensor {
  const bytes = new Uint8Array(data.length * 4);
  const view = new DataView(bytes.buffer);
  // raw_data is little-endian whatever the machine's byte order.
  for (let i = 0; i < data.length; i++) view.setFloat32(4 * i, data[i], true);
  return { name, dims, data_type: FLOAT, raw_data: bytes };
}

function int64Tensor(name: string, dims: number[], values: number[]): OnnxTensor {
  const bytes = new Uint8Array(values.length * 8);
  const view = new DataView(bytes.buffer);
  values.forEach((v, i) => view.setBigInt64(8 * i, BigInt(v), true));
  return { name, dims, data_type: INT64, raw_data: bytes };
}

function int(name: string, i: number): OnnxAttribute {
  return { name, type: INT, i };
}

function valueInfo(name: string, elemType: number, dim: OnnxDimension[], doc: string): OnnxValueInfo {
  return { name, doc_string: doc, type: { tensor_type: { elem_type: elemType, shape: { dim } } } };
}
