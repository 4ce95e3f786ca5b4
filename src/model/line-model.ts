// What a model file says about line mode: the metadata entry `lines` (JSON,
// {"eol":"\n"}) marks a model trained on lines, each from a zero state and
// ending with `eol`; `lines_seen` holds the LineSet of the text's lines, so that
// generation can tell a new line from one it was trained on. Both are metadata
// strings, so PyTorch and any safetensors reader still load the weights as is.
import { z } from 'zod';
import { CharrnnError } from '../errors.js';
import { LineSet } from '../text/line-set.js';
import { jsonEntry } from './metadata-entry.js';

export const LINES_KEY = 'lines';
export const LINES_SEEN_KEY = 'lines_seen';

const linesSchema = z.object({ eol: z.string().length(1) });

/**
 * What makes a model a line model (trained with `--lines`): each line is
 * generated from a fresh state and ends with `eol`. Read from the model file's
 * metadata by {@link lineModelInfo}; null there for a model of running text.
 */
export interface LineModelInfo {
  /** The end-of-line character: a line's first input, and what ends it. */
  eol: string;
  /** The lines of the text the model was trained on (training and validation lines both). */
  lineSet: LineSet;
}

/** The metadata entries of a line model trained on `lines`. */
export function lineModelMetadata(eol: string, lines: Iterable<string>): Record<string, string> {
  return { [LINES_KEY]: JSON.stringify({ eol }), [LINES_SEEN_KEY]: LineSet.fromLines(lines).encode() };
}

/** A model file's line mode, or null for a model of running text; `source` names the file in messages. */
export function lineModelInfo(metadata: Record<string, string>, source = 'the model file'): LineModelInfo | null {
  const lines = jsonEntry(metadata, LINES_KEY, linesSchema, source, '{"eol":"\\n"}');
  if (lines === null) return null;
  const seen = metadata[LINES_SEEN_KEY];
  if (seen === undefined) throw new CharrnnError(`${source} is a line model without its "${LINES_SEEN_KEY}" entry.`);
  return { eol: lines.eol, lineSet: LineSet.decode(seen, source) };
}
