// What the server's tests share: two small models (one a line model), the
// library's own generation as the reference for every text the server sends,
// and the checks of an SSE body and of an error sentence.
import assert from 'node:assert/strict';
import { CharRnnModel } from '../src/generate/char-rnn-model.js';
import type { GenerateOptions } from '../src/generate/options.js';
import { CharRNN } from '../src/model/charrnn.js';
import { loadKernels } from '../src/node/backend.js';
import type { ServedModel } from '../src/server/served-models.js';
import { LineSet } from '../src/text/line-set.js';
import { Vocabulary } from '../src/text/vocabulary.js';

const TEXT = 'the cat sat on the mat. the dog sat on the log.\nROMEO: a rose by any other name\n';
export const vocab = Vocabulary.fromText(TEXT);

export interface ServerFixtures {
  /** An LSTM, running text. */
  tiny: ServedModel;
  /** A GRU, a line model (lines end at '\n'). */
  other: ServedModel;
  /** The library's handle on tiny's model. */
  handle: CharRnnModel;
  /** What the library generates for these options with tiny's model, alone: the reference for every text the server sends. */
  alone: (options: GenerateOptions) => Promise<string[]>;
}

export async function serverFixtures(): Promise<ServerFixtures> {
  const kernels = await loadKernels();
  const config = { cell: 'lstm' as const, layers: 2, hidden: 32, emb: 8, vocabSize: vocab.size, dropout: 0 };
  const model = new CharRNN(config, kernels, { seed: 7 });
  const tiny = { name: 'tiny', model, vocab, line: null, created: 1_700_000_000 };
  const other = {
    name: 'other',
    model: new CharRNN({ ...config, cell: 'gru', layers: 1 }, kernels, { seed: 8 }),
    vocab,
    line: { eol: '\n', lineSet: LineSet.fromLines([]) },
    created: 1_700_000_001,
  };
  const handle = new CharRnnModel(model, vocab);
  return { tiny, other, handle, alone: async options => (await handle.generate(options)).texts };
}

/** The `data:` payloads of an SSE body, checking the framing: every event is one `data: ` line and a blank line. */
export function sseEvents(body: string): string[] {
  assert.ok(body.endsWith('\n\n'), 'an SSE body ends with a blank line');
  const events = body.slice(0, -2).split('\n\n');
  for (const e of events) assert.match(e, /^data: [^\n]*$/, `an event is one data: line: ${JSON.stringify(e)}`);
  return events.map(e => e.slice('data: '.length));
}

/** An error body as the server promises it: `{error: {message, type}}`, the message one sentence with no stack trace. */
export function assertErrorBody(body: unknown, says?: RegExp): { message: string; type: string } {
  const { error } = body as { error: { message: string; type: string } };
  assert.equal(typeof error.type, 'string');
  assert.match(error.message, /^[A-Z"'a-z_][^\n]*[.)]$/, `one sentence: ${error.message}`);
  assert.ok(!/\bat .*\.js:\d+/.test(error.message), 'no stack trace');
  if (says) assert.match(error.message, says);
  return error;
}
