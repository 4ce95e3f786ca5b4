import { CharRnnModel as CoreModel, type ModelSource } from '../generate/handle.js';
import type { Kernels } from '../kernels/kernels.js';
import { loadModel } from '../model/model-file.js';
import { loadKernels } from './backend.js';
import { fileURLToPath } from 'node:url';
import { readBytes } from './files.js';

export interface NodeLoadOptions {
  /** The engine; default the fastest that loads here (native, else wasm), as `loadKernels` chooses. */
  kernels?: Kernels<Float32Array>;
  /** 'auto' (default), 'native', 'wasm' or 'reference', when `kernels` is not given. */
  backend?: string;
}

/**
 * The model handle of the main entry (src/generate/handle.ts) with Node's
 * loading: a path is read from disk, http(s) URLs are fetched, and the engine
 * is the native one when it loads.
 */
export class CharRnnModel extends CoreModel {
  /** Loads a model file from a path (or file: URL), an http(s) URL, or its bytes. */
  static override async load(source: ModelSource, options: NodeLoadOptions = {}): Promise<CharRnnModel> {
    const kernels = options.kernels ?? (await loadKernels(options.backend));
    if (typeof source === 'string' && !/^[a-z][a-z0-9+.-]*:\/\//i.test(source)) return fromBytes(readBytes(source), source, kernels);
    if (source instanceof URL && source.protocol === 'file:') return fromBytes(readBytes(fileURLToPath(source)), fileURLToPath(source), kernels);
    const core = await CoreModel.load(source, { kernels });
    return new CharRnnModel(core.model, core.vocab);
  }
}

function fromBytes(bytes: Uint8Array, name: string, kernels: Kernels<Float32Array>): CharRnnModel {
  const { model, vocab } = loadModel(bytes, name, kernels);
  return new CharRnnModel(model, vocab);
}
