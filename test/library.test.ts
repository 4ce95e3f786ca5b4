// The library as a user imports it (through the package's own name), from
// docs/library.md's examples run as written: an application trains a run and
// writes with the model handle from the main entry; an engine builder drives
// the model and trainer from charrnn/engine. Each example's output is checked.
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';

const doc = readFileSync(fileURLToPath(new URL('../../docs/library.md', import.meta.url)), 'utf8');

/** The first ```js or ```ts block after `heading`, as the reader sees it. */
function exampleAfter(heading: string): string {
  const at = doc.indexOf(heading);
  assert.ok(at >= 0, `docs/library.md has the section ${heading}`);
  const open = doc.indexOf('```', at);
  const body = doc.indexOf('\n', open) + 1;
  return doc.slice(body, doc.indexOf('\n```', body));
}

/** Runs an example in this process, beside the compiled tests (so 'charrnn' resolves to this package), and returns what it printed. */
async function run(code: string, name: string): Promise<string> {
  const script = fileURLToPath(new URL(`./${name}.mjs`, import.meta.url));
  // TypeScript's annotations in the engine example are the reader's; the module runs as JavaScript.
  writeFileSync(script, code.replace(/const (\w+): Uint8Array =/g, 'const $1 ='));
  const printed: string[] = [];
  const log = console.log;
  console.log = (...args: unknown[]) => void printed.push(args.join(' ') + '\n');
  try {
    await import(pathToFileURL(script).href);
  } finally {
    console.log = log;
    rmSync(script);
  }
  return printed.join('');
}

test("an application: docs/library.md's training run, then the model handle scores what it learned", async () => {
  const out = await run(exampleAfter('## Training a model'), 'library-training-example');
  const last = out.trim().split('\n').at(-1)!;
  assert.match(last, /^\w+ \d+\.\d+$/, 'the example ends with the stop reason and a score');
  const [reason, nats] = last.split(' ');
  assert.equal(reason, 'limit');
  // 8 distinct characters: an untrained model scores near ln 8 = 2.08 nats; this text is almost deterministic.
  assert.ok(Number(nats) < 0.5, `nats/char ${nats}`);
  assert.match(out, /step 200/, 'the event lines were printed');
});

test("an engine builder: docs/library.md's model and trainer by hand, a generator, a file round trip", async () => {
  const out = await run(exampleAfter('## The engine beneath'), 'library-engine-example');
  const text = out.slice(0, -1); // console.log's newline
  assert.equal([...text].length, 40, `40 generated characters: ${JSON.stringify(text)}`);
  for (const c of text) assert.ok('helo wrd\n'.includes(c), `${JSON.stringify(c)} is not one of the text's characters`);
});
