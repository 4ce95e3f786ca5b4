// `charrnn export-onnx`: a model file as an ONNX file, encoded against ONNX's
// own schema (src/export/onnx/onnx.proto, read here at run time: package.json's
// `files` publishes it) and written whole or not at all.
import { readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { CharrnnError } from '../errors.js';
import { encodeOnnx } from '../export/onnx-encode.js';
import { onnxModel } from '../export/onnx-graph.js';
import type { ModelConfig } from '../model/config.js';
import { LINES_KEY } from '../model/line-model.js';
import { decodeModel, type DecodedModel } from '../model/model-file.js';
import { writeFileAtomic } from './files.js';
import { readModelBytes } from './run-folder.js';

// From dist/src/node/ (and src/node/ alike) to the package's root.
const SCHEMA = new URL('../../../src/export/onnx/onnx.proto', import.meta.url);
const PACKAGE = new URL('../../../package.json', import.meta.url);

let schemaText: string | null = null;
let version: string | null = null;

/** The bytes of the ONNX file of a decoded model file; `source` names it in sentences. */
export function onnxFileBytes(model: DecodedModel, source: string): Uint8Array {
  schemaText ??= readFileSync(SCHEMA, 'utf8');
  version ??= (JSON.parse(readFileSync(PACKAGE, 'utf8')) as { version: string }).version;
  return encodeOnnx(onnxModel(model, { source, producerVersion: version }), schemaText);
}

/** Where the ONNX file of `model` goes by default: beside it, .safetensors replaced by .onnx. */
export function defaultOnnxPath(model: string): string {
  return `${model.replace(/\.safetensors$/i, '')}.onnx`;
}

/** What {@link exportOnnx} wrote. */
export interface ExportOnnxResult {
  path: string;
  bytes: number;
  config: ModelConfig;
  characters: number;
  lineModel: boolean;
}

/**
 * Writes the ONNX file of the model file `model` to `to` (default: beside it).
 * Everything is built before anything is written, and the file appears by a
 * rename, so a refusal or a failure leaves no file behind.
 */
export function exportOnnx(model: string, to = defaultOnnxPath(model)): ExportOnnxResult {
  const decoded = decodeModel(readModelBytes(model), model);
  if (resolve(to) === resolve(model)) throw new CharrnnError(`--to ${to} is the model file itself: give another path for the ONNX file.`);
  let folder = false;
  try {
    folder = statSync(to).isDirectory();
  } catch {
    /* not there yet: written below */
  }
  if (folder) throw new CharrnnError(`--to ${to} is a folder: give the path of the ONNX file to write (for example ${to}/model.onnx).`);
  const bytes = onnxFileBytes(decoded, model);
  writeFileAtomic(to, bytes);
  return {
    path: to,
    bytes: bytes.length,
    config: decoded.config,
    characters: decoded.vocab.size,
    lineModel: Object.hasOwn(decoded.metadata, LINES_KEY),
  };
}
