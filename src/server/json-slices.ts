// An answer's JSON text made a slice at a time. A long text's log-probabilities
// run to megabytes (100,000 characters with 5 alternatives each are some 15 MB);
// serialised in one go they would hold the thread, and every other request's
// generation with it, for a second. Made here, the event loop turns after every
// slice of a long array (paced by a Pacer), so the schedulers' steps go on in between.
import { Pacer } from './pacing.js';

/** Array items serialised between two turns of the event loop. */
const SLICE = 2048;

/**
 * The JSON text of `value`, as JSON.stringify writes it (a non-finite number
 * is null, an undefined field left out), `pacer` pausing after every SLICE
 * items of a long array.
 */
export async function jsonInSlices(value: unknown, pacer = new Pacer()): Promise<string> {
  if (Array.isArray(value)) {
    if (value.length <= SLICE) return JSON.stringify(value);
    const parts: string[] = [];
    for (let i = 0; i < value.length; i += SLICE) {
      parts.push(JSON.stringify(value.slice(i, i + SLICE)).slice(1, -1));
      await pacer.pause();
    }
    return `[${parts.join(',')}]`;
  }
  if (value !== null && typeof value === 'object' && !('toJSON' in value)) {
    const fields: string[] = [];
    for (const [key, v] of Object.entries(value))
      if (v !== undefined && typeof v !== 'function') fields.push(`${JSON.stringify(key)}:${await jsonInSlices(v, pacer)}`);
    return `{${fields.join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/**
 * `items` mapped a slice at a time, `pacer` pausing between slices: for
 * building the per-character values of a long answer.
 */
export async function mapInSlices<T, U>(items: readonly T[], fn: (item: T, index: number) => U, pacer = new Pacer()): Promise<U[]> {
  const out: U[] = new Array<U>(items.length);
  for (let i = 0; i < items.length; i++) {
    out[i] = fn(items[i], i);
    if (i % SLICE === SLICE - 1) await pacer.pause();
  }
  return out;
}
