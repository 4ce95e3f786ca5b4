// The model handle (CharRnnModel): loading from a path, bytes and a URL over real
// HTTP; greedy generation against the forward pass, stream against generate; feed / predict /
// reset / state against the model's forward pass. docs/library.md's example, run as
// written (as a program importing the package by its name), is in
// test/e2e/library-handle.test.ts.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CharrnnError } from '../src/errors.js';
import { GenerateOptionsError } from '../src/generate/options.js';
import type { Kernels } from '../src/kernels/kernels.js';
import { referenceKernels } from '../src/kernels/reference/index.js';
import { CharRNN } from '../src/model/charrnn.js';
import { encodeModel } from '../src/model/model-file.js';
import { CharRnnModel } from '../src/node/index.js';
import { loadNativeKernels } from '../src/node/native-kernels.js';
import { Vocabulary } from '../src/text/vocabulary.js';
import { trainBriefly } from './helpers.js';

const TEXT = 'the cat sat on the mat. the dog sat on the log.\n'.repeat(20);
const vocab = Vocabulary.fromText(TEXT);
let dir: string;
let file: string;
let trained: CharRNN<Float32Array>;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'charrnn-handle-'));
  trained = new CharRNN({ cell: 'lstm', layers: 2, hidden: 24, emb: 8, vocabSize: vocab.size, dropout: 0 }, referenceKernels('f32'), {
    seed: 3,
  });
  trainBriefly(trained, vocab.encode(TEXT).ids, 20);
  file = join(dir, 'model.safetensors');
  writeFileSync(file, encodeModel(trained, vocab));
});

after(() => rmSync(dir, { recursive: true, force: true }));

describe('CharRnnModel', () => {
  it('loads a path on the native engine where it builds, and generates what the forward pass gives', async () => {
    const m = await CharRnnModel.load(file);
    assert.equal(m.model.kernels.name, loadNativeKernels() ? 'native' : 'wasm');
    assert.deepEqual(m.chars, vocab.chars);
    // Greedy generation against the model's forward pass over the whole text so far, from a zero state, at each step: its argmax.
    let want = '';
    for (let k = 0; k < 30; k++) {
      const ids = m.vocab.encode(`the ${want}`).ids;
      const logits = m.model.forward(ids, ids.length, 1, m.model.newState(1)).slice((ids.length - 1) * m.vocab.size);
      want += m.vocab.chars[logits.indexOf(Math.max(...logits))];
    }
    assert.equal((await m.generate({ prime: 'the ', length: 30, greedy: true })).text, want);
    const o = { prime: 'the ', length: 50, seed: 4, temperature: 0.9 };
    const one = await m.generate(o);
    assert.equal(one.text, one.texts[0]);
    assert.deepEqual(one.usage, { promptChars: 4, generatedChars: 50 });
    const three = await m.generate({ ...o, count: 3 });
    assert.equal(three.texts[0], one.text);
    assert.equal(three.texts.length, 3);
    const beam = await m.generate({ prime: 'the ', length: 5, beam: 4 });
    assert.equal(beam.logprobs!.length, 4);
    assert.equal(new Set(beam.texts).size, 4);
    beam.logprobs!.forEach((lp, i) => assert.ok(lp < 0 && (i === 0 || lp <= beam.logprobs![i - 1])));
    assert.equal(
      (await m.generate({ prime: 'the ', length: 5, beam: 1 })).text,
      (await m.generate({ prime: 'the ', length: 5, greedy: true })).text,
    );
    await assert.rejects(m.generate({ temperature: 0 }), GenerateOptionsError);
    await assert.rejects(
      CharRnnModel.load(join(dir, 'missing.safetensors')),
      (e: Error) => e instanceof CharrnnError && /missing\.safetensors/.test(e.message),
    );
  });

  it('loads bytes (on the backend asked for) and URLs over real HTTP; a bad file or a 404 is one sentence', async () => {
    const bytes = readFileSync(file);
    const fromBytes = await CharRnnModel.load(new Uint8Array(bytes), { backend: 'wasm' });
    assert.equal(fromBytes.model.kernels.name, 'wasm');
    const server = createServer((req, res) => {
      if (req.url === '/model.safetensors') res.end(bytes);
      else if (req.url === '/junk') res.end('not a model');
      else {
        res.statusCode = 404;
        res.end();
      }
    });
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const o = { prime: 'the', length: 30, greedy: true };
      const want = (await fromBytes.generate(o)).text;
      for (const m of [
        await CharRnnModel.load(`${base}/model.safetensors`),
        await CharRnnModel.load(new URL(`${base}/model.safetensors`)),
      ]) {
        assert.equal((await m.generate(o)).text, want);
      }
      await assert.rejects(
        CharRnnModel.load(`${base}/nothing`),
        /^CharrnnError: Could not fetch the model at .*nothing: the server answered 404 Not Found\.$/,
      );
      await assert.rejects(
        CharRnnModel.load(`${base}/junk`),
        (e: Error) => e instanceof CharrnnError && /junk is not a valid safetensors file/.test(e.message),
      );
    } finally {
      server.close();
    }
  });

  it('stream yields the text of generate piece by piece; leaving early frees the generation (no new buffers after)', async () => {
    let allocs = 0;
    const ref = referenceKernels('f32');
    const counting: Kernels<Float32Array> = {
      ...ref,
      alloc: n => {
        allocs++;
        return ref.alloc(n);
      },
      allocInt: n => {
        allocs++;
        return ref.allocInt(n);
      },
    };
    const m = await CharRnnModel.load(readFileSync(file), { kernels: counting });
    const o = { prime: 'the ', length: 120, seed: 9 };
    let streamed = '';
    for await (const piece of m.stream(o)) streamed += piece;
    assert.equal(streamed, (await m.generate(o)).text);
    const before = allocs;
    for (let i = 0; i < 20; i++) {
      let n = 0;
      for await (const piece of m.stream(o)) {
        assert.ok(piece.length > 0);
        if (++n === 3) break;
      }
    }
    assert.equal(allocs, before, 'abandoned streams hand their buffers back for the next');
    await assert.rejects(async () => {
      for await (const _ of m.stream({ count: 2 })) {
        /* */
      }
    }, GenerateOptionsError);
  });

  it('feed / predict / reset / state: the distribution of the forward pass, state copied in and out', async () => {
    const m = new CharRnnModel(trained, vocab);
    m.feed('the c');
    m.feed('at s');
    const p = m.predict();
    // The forward pass of the whole text from a zero state, softmax in float64.
    const ids = vocab.encode('the cat s').ids;
    const logits = trained.forward(ids, ids.length, 1, trained.newState(1)).slice((ids.length - 1) * vocab.size);
    const max = Math.max(...logits);
    const e = Array.from(logits, l => Math.exp(l - max));
    const sum = e.reduce((a, b) => a + b, 0);
    assert.equal(p.length, vocab.size);
    for (const { char, p: prob } of p) assert.ok(Math.abs(prob - e[vocab.id(char)!] / sum) < 1e-5, char);
    for (let i = 1; i < p.length; i++) assert.ok(p[i].p <= p[i - 1].p);
    const saved = m.state;
    saved.layers[0].h.fill(5); // a copy: the handle does not change
    assert.deepEqual(m.predict(), p);
    const kept = m.state;
    m.feed('at on');
    assert.notDeepEqual(m.predict(), p);
    m.state = kept;
    kept.layers[1].h.fill(0); // set copied it in
    assert.deepEqual(m.predict(), p);
    m.reset();
    const fresh = new CharRnnModel(trained, vocab);
    fresh.feed('the');
    m.feed('the');
    assert.deepEqual(m.predict(), fresh.predict());
    assert.throws(() => m.feed('the 🙂'), CharrnnError);
    assert.throws(
      () => {
        m.state = { B: 1, layers: [] };
      },
      (err: Error) => err instanceof CharrnnError && /does not fit/.test(err.message),
    );
    assert.throws(() => m.predict({ temperature: -1 }), GenerateOptionsError);
    m.dispose();
  });
});
