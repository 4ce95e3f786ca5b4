// A model file's metadata entries that hold JSON (a line model's `lines`, a
// fine-tune's `fine_tuned_from`): read and checked one way, so that a damaged
// entry always gets the same kind of sentence.
import type { z } from 'zod';
import { CharrnnError } from '../errors.js';

/**
 * The entry `key` of `metadata`, parsed as JSON and checked by `schema`; null
 * when there is none. A damaged one throws a CharrnnError naming `source` and
 * showing `example`, what the entry should look like.
 */
export function jsonEntry<T>(
  metadata: Record<string, string>,
  key: string,
  schema: z.ZodType<T>,
  source: string,
  example: string,
): T | null {
  const raw = metadata[key];
  if (raw === undefined) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    parsed = undefined;
  }
  const entry = schema.safeParse(parsed);
  if (!entry.success) throw new CharrnnError(`${source} has a damaged "${key}" entry: it should be like ${example}.`);
  return entry.data;
}
