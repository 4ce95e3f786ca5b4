// What the ONNX export's tests share (test/onnx-export.test.ts in process,
// test/e2e/onnx-web.test.ts and test/e2e/onnx-examples.test.ts with real
// processes): small model files, and reading an ONNX file back with protobufjs
// and ONNX's own onnx.proto, as a consumer would, not with the export's code.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import type { CellType } from '../src/kernels/kernels.js';
import { referenceKernels } from '../src/kernels/reference/index.js';
import { CharRNN } from '../src/model/charrnn.js';
import { encodeModel } from '../src/model/model-file.js';
import type { Normalization } from '../src/text/normalize.js';
import { Vocabulary } from '../src/text/vocabulary.js';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SCHEMA = fileURLToPath(new URL('../../src/export/onnx/onnx.proto', import.meta.url));

/** The text the test models' vocabularies come from: letters, punctuation, é, a CJK character and an emoji (two UTF-16 units). */
export const ONNX_TEXT = 'The quick brown fox jumps over the lazy dog; é 猫 🙂, and so on!\n';

/** A model file of random weights (a trained model is no better a test of the arithmetic, and far slower to make). */
export function randomModelFile(
  cell: CellType,
  layers: number,
  options: { hidden?: number; emb?: number; seed?: number; normalization?: Normalization; extra?: Record<string, string> } = {},
): { bytes: Uint8Array; model: CharRNN; vocab: Vocabulary } {
  const chars = Vocabulary.fromText(ONNX_TEXT).chars;
  const vocab = new Vocabulary(chars, options.normalization ?? 'nfc');
  const config = { cell, layers, hidden: options.hidden ?? 12, emb: options.emb ?? 6, vocabSize: vocab.size, dropout: 0 };
  const model = new CharRNN(config, referenceKernels('f32'), { seed: options.seed ?? 1 });
  return { bytes: encodeModel(model, vocab, options.extra), model, vocab };
}

/** The parts of a decoded ModelProto the tests read. */
export interface ReadOnnx {
  ir_version: number;
  opset_import: { domain: string; version: number }[];
  producer_name: string;
  graph: {
    node: { op_type: string; input: string[]; output: string[]; attribute: { name: string; i: number }[] }[];
    initializer: { name: string; dims: number[]; data_type: number; raw_data: Uint8Array }[];
    input: { name: string }[];
    output: { name: string }[];
  };
  metadata_props: { key: string; value: string }[];
}

let modelProto: protobuf.Type | null = null;

/** An ONNX file decoded with protobufjs against onnx.proto: 64-bit integers as numbers, bytes as they are (Uint8Array). */
export function readOnnx(bytes: Uint8Array): ReadOnnx {
  modelProto ??= protobuf.parse(readFileSync(SCHEMA, 'utf8'), { keepCase: true }).root.lookupType('onnx.ModelProto');
  const message = modelProto.decode(bytes);
  return modelProto.toObject(message, { longs: Number, defaults: true, arrays: true }) as unknown as ReadOnnx;
}

/** An ONNX file's metadata_props as a record. */
export function onnxMetadataOf(bytes: Uint8Array): Record<string, string> {
  return Object.fromEntries(readOnnx(bytes).metadata_props.map(e => [e.key, e.value]));
}
