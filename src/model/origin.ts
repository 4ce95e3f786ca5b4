// What a fine-tuned model file says about the model it started from: the
// metadata entry `fine_tuned_from` (JSON, {"name":"english","sha256":"…"}),
// written into every model file and checkpoint of a fine-tuning run and kept
// when the run resumes, in charrnn or in PyTorch. A metadata string, so any
// safetensors reader still loads the weights as they are.
import { z } from 'zod';
import { jsonEntry } from './metadata-entry.js';

export const ORIGIN_KEY = 'fine_tuned_from';

const originSchema = z.object({ name: z.string().min(1), sha256: z.string().regex(/^[0-9a-f]{64}$/) });

/** The model a fine-tuned model started from: its name as the user gave it, and the SHA-256 of its file's bytes. */
export interface ModelOrigin {
  /** A base model's name (english), or the path of a model file as given. */
  name: string;
  /** SHA-256 of the starting model file's bytes, 64 lowercase hexadecimal digits. */
  sha256: string;
}

/** The metadata entry recording `origin` (none for a model trained from scratch). */
export function originMetadata(origin: ModelOrigin | null): Record<string, string> {
  return origin === null ? {} : { [ORIGIN_KEY]: JSON.stringify({ name: origin.name, sha256: origin.sha256 }) };
}

/** The origin a model file's metadata records, or null for a model trained from scratch; `source` names the file in messages. */
export function modelOrigin(metadata: Record<string, string>, source = 'the model file'): ModelOrigin | null {
  return jsonEntry(metadata, ORIGIN_KEY, originSchema, source, '{"name":"english","sha256":"<64 hex digits>"}');
}
