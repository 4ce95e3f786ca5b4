// docs/library.md's model-handle example, run as written: a program beside the
// compiled tests, inside the package, so that 'charrnn/node' resolves to it.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { referenceKernels } from '../../src/kernels/reference/index.js';
import { CharRNN } from '../../src/model/charrnn.js';
import { encodeModel } from '../../src/model/model-file.js';
import { Vocabulary } from '../../src/text/vocabulary.js';
import { trainBriefly } from '../helpers.js';

const TEXT = 'the cat sat on the mat. the dog sat on the log.\n'.repeat(20);
let dir: string;

// The example loads model.safetensors from the folder it runs in: a briefly trained model of TEXT (as test/handle.test.ts has).
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'charrnn-readme-handle-'));
  const vocab = Vocabulary.fromText(TEXT);
  const model = new CharRNN({ cell: 'lstm', layers: 2, hidden: 24, emb: 8, vocabSize: vocab.size, dropout: 0 }, referenceKernels('f32'), {
    seed: 3,
  });
  trainBriefly(model, vocab.encode(TEXT).ids, 20);
  writeFileSync(join(dir, 'model.safetensors'), encodeModel(model, vocab));
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe('the model handle in docs/library.md', () => {
  it("runs docs/library.md's example as written", () => {
    const doc = readFileSync(fileURLToPath(new URL('../../../docs/library.md', import.meta.url)), 'utf8');
    assert.ok(doc.includes('## The model handle'), 'docs/library.md has its model handle section');
    const section = doc.slice(doc.indexOf('## The model handle'));
    const code = section.slice(section.indexOf('```js\n') + 6, section.indexOf('\n```', section.indexOf('```js\n')));
    // Beside the compiled tests, inside the package, so that 'charrnn/node' resolves to this package.
    const script = fileURLToPath(new URL('./library-handle-example.mjs', import.meta.url));
    writeFileSync(script, code);
    const r = spawnSync(process.execPath, [script], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
    rmSync(script);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr, '');
    assert.match(r.stdout, /likeliest: \{ char: '.+', p: 0\.\d+ \}/);
    assert.match(r.stdout, /logprobs: \[ -\d/);
    assert.match(r.stdout, /natsPerChar: \d+\.\d+/);
  });

  it("runs docs/library.md's inside-a-model example as written", () => {
    const doc = readFileSync(fileURLToPath(new URL('../../../docs/library.md', import.meta.url)), 'utf8');
    const section = doc.slice(doc.indexOf('## Inside a model'));
    assert.ok(section.length > 0, 'docs/library.md has its inside-a-model section');
    const code = section.slice(section.indexOf('```js\n') + 6, section.indexOf('\n```', section.indexOf('```js\n')));
    const script = fileURLToPath(new URL('./library-inside-example.mjs', import.meta.url));
    writeFileSync(script, code);
    const r = spawnSync(process.execPath, [script], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
    rmSync(script);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr, '');
    const out = r.stdout.replace(/\s+/g, ' ');
    assert.match(out, /char: 'c', surprise: \d+\.\d+, guesses: \[ \[ '.', 0\.\d+ \]/);
    assert.match(out, /cell0: Float32Array\(4\)/);
    assert.match(out, /worst: \d+\.\d+, quote: \{ layer: \d, kind: '(cell|hidden)', unit: \d+, r: -?\d/);
  });
});
