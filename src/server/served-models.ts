import { statSync } from 'node:fs';
import { basename, extname } from 'node:path';
import { CharrnnError } from '../errors.js';
import type { CharRNN } from '../model/charrnn.js';
import { lineModelInfo, type LineModelInfo } from '../model/line-model.js';
import { loadModel } from '../model/model-file.js';
import { loadKernels } from '../node/backend.js';
import { modelFile } from '../node/base-models.js';
import { readBytes } from '../node/files.js';
import type { Vocabulary } from '../text/vocabulary.js';

/** A model the server answers for, chosen by clients by `name` (never by path). */
export interface ServedModel {
  name: string;
  model: CharRNN<Float32Array>;
  vocab: Vocabulary;
  /** A line model's end-of-line and training lines (trained with --lines; lineModelInfo), else null: its texts are whole lines. */
  line: LineModelInfo | null;
  /** Unix seconds: the file's modification time (OpenAI's `created`). */
  created: number;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

/** A model's name: `--name` when given, else the file's stem (`runs/shakespeare/model.safetensors` is `model`). */
export function modelName(path: string, given?: string): string {
  const name = given ?? basename(path, extname(path));
  if (!NAME.test(name)) {
    throw new CharrnnError(
      `The model name '${name}' is not usable: a name is 1 to 100 letters, digits, '.', '_' or '-', starting with a letter or digit (set one with --name).`,
    );
  }
  return name;
}

/**
 * Loads model files for serving, on one engine (`backend` as loadKernels takes
 * it). `names[i]` names `paths[i]`; the rest are named by their stems. Two
 * models of one name, a bad name, or a file that is not a model is one sentence.
 */
export async function loadServedModels(
  paths: string[],
  names: string[] = [],
  backend?: string,
  warn: (message: string) => void = () => {},
): Promise<ServedModel[]> {
  if (paths.length === 0) throw new CharrnnError('Give at least one model file to serve.');
  if (names.length > paths.length) throw new CharrnnError(`There are ${names.length} --name flags for ${paths.length} model files.`);
  const kernels = await loadKernels(backend, warn);
  const served: ServedModel[] = [];
  for (const [i, path] of paths.entries()) {
    const name = modelName(path, names[i]);
    if (served.some(s => s.name === name)) throw new CharrnnError(`Two models are named '${name}'; name them apart with --name.`);
    const file = modelFile(path); // a base model by its name: `charrnn serve english`
    const { model, vocab, metadata } = loadModel(readBytes(file), path, kernels);
    served.push({ name, model, vocab, line: lineModelInfo(metadata, path), created: Math.floor(statSync(file).mtimeMs / 1000) });
  }
  return served;
}
