// Reading DIR/log.jsonl back into run events. Platform-neutral: the CLI reads the
// file, a browser page could read the same text from a server.
//
// A line is exactly eventToJson(event) (src/run/events.ts): `event` names the
// type, keys are snake_case, non-finite numbers are null. The reader undoes the
// key spelling and checks the fields every event has; it never throws on a bad
// line, because a log is written while a run may be killed at any byte.
import type { RunEvent, RunEventType } from '../run/events.js';

const EVENT_TYPES: readonly RunEventType[] = ['config', 'step', 'validation', 'sample', 'saved', 'stopped', 'note', 'result'];

/** A run's log.jsonl read back by {@link parseRunLog}. */
export interface RunLog {
  /** The events, in the order they were written (a resumed run's included: see {@link runHistory}). */
  events: RunEvent[];
  /** Lines that were not an event (a line cut short by kill -9, or not JSON at all). */
  skipped: number;
}

/** The events of a log.jsonl text, in order, skipping (and counting) lines that are not events. */
export function parseRunLog(text: string): RunLog {
  const events: RunEvent[] = [];
  let skipped = 0;
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const e = parseLine(line);
    if (e === undefined) skipped++;
    else if (e !== null) events.push(e);
  }
  return { events, skipped };
}

/**
 * One line as an event; null for a well-formed event of a type this reader does
 * not know (a newer charrnn's), undefined for a line that is not an event.
 */
function parseLine(line: string): RunEvent | null | undefined {
  const whole = tryJson(line);
  if (whole !== undefined) return jsonToEvent(whole);
  // A line cut short by kill -9 and then continued by a resumed run reads
  // `{"event":"step","st{"event":"config",...}`: the last event on it is whole.
  const last = line.lastIndexOf('{"event":');
  if (last > 0) {
    const tail = tryJson(line.slice(last));
    if (tail !== undefined) return jsonToEvent(tail);
  }
  return undefined;
}

function tryJson(s: string): unknown {
  try {
    return JSON.parse(s) as unknown;
  } catch {
    return undefined;
  }
}

/**
 * The inverse of eventToJson for one parsed object: undefined when it is not an
 * event (no `event` name, or a position field that is not a number), null when
 * its type is unknown. Numbers written as null (they were NaN or infinite) stay null.
 */
export function jsonToEvent(json: unknown): RunEvent | null | undefined {
  if (json === null || typeof json !== 'object' || Array.isArray(json)) return undefined;
  const { event, ...rest } = json as Record<string, unknown>;
  if (typeof event !== 'string') return undefined;
  const body = camelKeys(rest) as Record<string, unknown>;
  for (const k of ['step', 'epoch', 'chars', 'time']) {
    if (typeof body[k] !== 'number') return undefined;
  }
  if (!(EVENT_TYPES as readonly string[]).includes(event)) return null;
  // The fields the readers of a log (plots, the page) index by hand are checked;
  // the rest is passed on as written.
  if (event === 'step' && !isNumberOrNull(body.loss)) return undefined;
  if (event === 'validation' && (!isNumberOrNull(body.loss) || typeof body.best !== 'boolean')) return undefined;
  return { type: event, ...body } as unknown as RunEvent;
}

const isNumberOrNull = (v: unknown): boolean => v === null || typeof v === 'number';

function camelKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(camelKeys);
  if (v === null || typeof v !== 'object') return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) out[k.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase())] = camelKeys(x);
  return out;
}

/**
 * The history a plot shows: a resumed run (a config event with `resumed`)
 * continues from its checkpoint's step, so anything logged past that step by the
 * run it replaces (steps done after the last save, before a kill) is dropped.
 */
export function runHistory(events: readonly RunEvent[]): RunEvent[] {
  const out: RunEvent[] = [];
  for (const e of events) {
    if (e.type === 'config' && e.resumed) {
      while (out.length > 0 && out[out.length - 1].step > e.step) out.pop();
    }
    out.push(e);
  }
  return out;
}
