// The base models charrnn ships (models/NAME.safetensors in the package, never
// downloaded), used by name wherever a model file is taken: `charrnn train
// TEXT --from english`, `charrnn sample english`, `charrnn serve english`, the
// page. CHARRNN_BASE_MODELS names another folder of them (tests use it; so can
// anyone with base models of their own). And how a command's MODEL argument
// becomes a model file: a file, a run folder (for --from), or a base model's name.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CharrnnError } from '../errors.js';
import { readBytes } from './files.js';

/** The environment variable naming a folder of base models to use instead of the package's. */
export const BASE_MODELS_ENV = 'CHARRNN_BASE_MODELS';
/** A base model's file name is its name and this. */
export const BASE_MODEL_EXTENSION = '.safetensors';
/** What a base model's name may be: the stem of its file. */
const NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/i;

/** The package's own base models: models/ beside dist/ (the package's `files` lists it). */
export const PACKAGE_BASE_MODELS = fileURLToPath(new URL('../../../models/', import.meta.url));

/** Where base models are looked up: CHARRNN_BASE_MODELS when set, else the package's folder. */
export function baseModelsFolder(env: NodeJS.ProcessEnv = process.env): string {
  return env[BASE_MODELS_ENV] || PACKAGE_BASE_MODELS;
}

/** The names of the base models in `folder`, sorted (none when the folder does not exist). */
export function baseModelNames(folder = baseModelsFolder()): string[] {
  let entries: string[];
  try {
    entries = readdirSync(folder);
  } catch {
    return [];
  }
  return entries
    .filter(f => f.endsWith(BASE_MODEL_EXTENSION) && NAME.test(f.slice(0, -BASE_MODEL_EXTENSION.length)))
    .map(f => f.slice(0, -BASE_MODEL_EXTENSION.length))
    .sort();
}

/** Whether `arg` could be a base model's name rather than a path: no folder part, no .safetensors. */
export function looksLikeName(arg: string): boolean {
  return NAME.test(arg) && !arg.endsWith(BASE_MODEL_EXTENSION);
}

/** The file of the base model `name`, or null when `folder` has none of that name. */
export function baseModelFile(name: string, folder = baseModelsFolder()): string | null {
  if (!looksLikeName(name)) return null;
  const file = join(folder, `${name}${BASE_MODEL_EXTENSION}`);
  return existsSync(file) && statSync(file).isFile() ? file : null;
}

/** "the base models are english" / "there are no base models in FOLDER": for a name that is none. */
export function baseModelList(folder = baseModelsFolder()): string {
  const names = baseModelNames(folder);
  if (names.length === 0) return `this charrnn has no base models (${folder} holds none)`;
  return names.length === 1 ? `the one base model is ${names[0]}` : `the base models are ${names.join(', ')}`;
}

/**
 * The model file a command's MODEL argument names: the path itself when it
 * exists (or is not name-like: reading it says what is wrong), else the base
 * model of that name. A name-like argument that is neither is one sentence
 * listing the base models there are.
 */
export function modelFile(arg: string, folder = baseModelsFolder()): string {
  if (existsSync(arg) || !looksLikeName(arg)) return arg;
  const file = baseModelFile(arg, folder);
  if (file !== null) return file;
  throw new CharrnnError(`${arg} is neither a file nor a base model: ${baseModelList(folder)}.`);
}

/** A fine-tune's starting model as read: its bytes, what to call it (its origin's name) and the file read. */
export interface StartingModelFile {
  bytes: Uint8Array;
  /** The base model's name, or the path of the file read (a run folder's best or latest model). */
  name: string;
  file: string;
}

/**
 * The model `charrnn train --from MODEL` starts from: a model file, a run
 * folder (its best model, else its latest), or a base model's name. A folder
 * without a model, or a name that is no base model, is one sentence.
 */
export function readStartingModel(arg: string, folder = baseModelsFolder()): StartingModelFile {
  let isFolder = false;
  try {
    isFolder = statSync(arg).isDirectory();
  } catch {
    /* not there: a base model's name, or readBytes says what is wrong */
  }
  if (isFolder) {
    const file = ['best.safetensors', 'model.safetensors'].map(f => join(arg, f)).find(f => existsSync(f));
    if (file === undefined) {
      throw new CharrnnError(
        `${arg} is a folder with no model in it (no best.safetensors or model.safetensors): give a model file, a run folder, or a base model's name.`,
      );
    }
    return { bytes: readBytes(file), name: file, file };
  }
  const file = modelFile(arg, folder);
  return { bytes: readBytes(file), name: arg, file };
}
