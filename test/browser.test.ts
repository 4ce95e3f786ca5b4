// The browser adapter's platform-neutral parts, in Node: a page's training run
// (its refusals, and a short run saving a model file that loads), the memory
// store, and the charrnn-serve client over real HTTP (events split anywhere,
// error answers, stopping). test/e2e/web.test.ts drives the same code in Chromium.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer, type ServerResponse } from 'node:http';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  CharRnnModel,
  createTrainingRun,
  memoryStore,
  pageSentence,
  readTextFile,
  serverModels,
  serverStream,
  SKIP_UNKNOWN_LABEL,
} from '../src/browser/index.js';
import { CharrnnError } from '../src/errors.js';
import { referenceKernels } from '../src/kernels/reference/index.js';
import { CharRNN } from '../src/model/charrnn.js';
import { encodeModel, loadModel } from '../src/model/model-file.js';
import { buildServer } from '../src/server/app.js';
import { Vocabulary } from '../src/text/vocabulary.js';

describe('a training run as a page starts one', () => {
  test('an empty text, a too short one and an unknown size are refused in one sentence', () => {
    const store = memoryStore();
    const run =
      (text: string, size = 'small') =>
      () =>
        createTrainingRun({ text, source: 'the pasted text', size: size as 'small', seconds: 1 }, referenceKernels(), store);
    // The run layer's rule (src/run/check-settings.ts), in the page's words.
    assert.throws(
      run(''),
      new CharrnnError('The pasted text is empty; a run needs some text (paste it, or drop a text file) to train on.'),
    );
    assert.throws(
      run(' \n '),
      new CharrnnError('The pasted text holds only white space; a run needs some text (paste it, or drop a text file) to train on.'),
    );
    // small: batch 16 x seq 32 + 1 = 513 characters to train on, 90% of the text: 570 (floor(570 x 0.9) = 513).
    // The run layer's rule and sentence (src/run/check-settings.ts), in the page's words.
    assert.throws(
      run('abc'.repeat(189) + 'ab'),
      new CharrnnError(
        "The text is too short for the small size's batch 16 and the small size's chunk length 32: " +
          'training needs at least 513 characters, a text of at least 570 with the validation share 0.1 held out, and the pasted text has 569, ' +
          "512 of them left for training; make the small size's batch or the small size's chunk length smaller, or give a longer text.",
      ),
    );
    assert.doesNotThrow(run('abc'.repeat(190)));
    assert.throws(run('abcd'.repeat(500), 'huge'), new CharrnnError("There is no size 'huge'; choose small or medium."));
  });

  test("a short run saves a model file, kept by the memory store, that loads with the text's vocabulary", async () => {
    const saved: string[] = [];
    const store = memoryStore(file => saved.push(file));
    const text = 'the quick brown fox jumps over the lazy dog. '.repeat(40);
    const run = createTrainingRun({ text, source: 'fox.txt', size: 'small', seconds: 1 }, referenceKernels(), store);
    const steps: number[] = [];
    run.on(e => {
      if (e.type === 'step') steps.push(e.loss);
    });
    const result = await run.train();
    assert.ok(result.step > 0);
    assert.ok(saved.includes('model'));
    const { vocab, model } = loadModel(store.files.get('model')!, 'model', referenceKernels());
    assert.deepEqual([...vocab.chars], [...new Set(text)].sort());
    assert.equal(model.config.hidden, 64);
  });

  test('readTextFile decodes strict UTF-8 and names the file in its sentence', async () => {
    const file = (name: string, bytes: number[]) => ({ name, arrayBuffer: async () => new Uint8Array(bytes).buffer });
    assert.equal(await readTextFile(file('ok.txt', [0xef, 0xbb, 0xbf, 0x68, 0xc3, 0xa9])), 'hé');
    await assert.rejects(readTextFile(file('empty.txt', [])), new CharrnnError('empty.txt is empty.'));
    await assert.rejects(readTextFile(file('latin1.txt', [0x68, 0xe9, 0x21])), /^CharrnnError: latin1\.txt is not valid UTF-8 text/);
  });
});

describe('the charrnn serve client', () => {
  /** A server answering each request with `answer`; returns its base URL and a closer. */
  async function serve(answer: (url: string, body: string, response: ServerResponse) => void) {
    const server = createServer((request, response) => {
      let body = '';
      request.on('data', c => {
        body += c;
      });
      request.on('end', () => answer(request.url ?? '', body, response));
    });
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    const base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    return {
      base,
      close: () =>
        new Promise(resolve => {
          server.closeAllConnections();
          server.close(resolve);
        }),
    };
  }

  test('pieces come out as the server sent them, whatever the chunks; the request is what the page asked', async () => {
    let asked = '';
    const { base, close } = await serve((_, body, response) => {
      asked = body;
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      // One event cut across writes, two in one write, then the summary and [DONE].
      const wire =
        'data: {"index":0,"text":"he"}\n\ndata: {"index":0,"text":"l"}\n\ndata: {"index":0,"text":"lo\\n"}\n\n' +
        'data: {"finish_reasons":["length"],"usage":{}}\n\ndata: [DONE]\n\n';
      const cuts = [5, 17, 31, 33, 60, wire.length];
      let from = 0;
      for (const to of cuts) {
        response.write(wire.slice(from, to));
        from = to;
      }
      response.end();
    });
    try {
      const pieces: string[] = [];
      for await (const p of serverStream({ model: 'm', prime: 'x', length: 5, seed: 3 }, { base })) pieces.push(p);
      assert.deepEqual(pieces, ['he', 'l', 'lo\n']);
      assert.deepEqual(JSON.parse(asked), { model: 'm', prime: 'x', length: 5, seed: 3, stream: true });
    } finally {
      await close();
    }
  });

  test("an error answer throws the server's sentence; a missing server is no server", async () => {
    const { base, close } = await serve((url, _, response) => {
      if (url === '/v1/models') return void response.writeHead(404, { 'content-type': 'text/html' }).end('<h1>not here</h1>');
      response
        .writeHead(400, { 'content-type': 'application/json' })
        .end(JSON.stringify({ error: { message: 'temperature must be above 0.', type: 'invalid_request_error' } }));
    });
    try {
      await assert.rejects(async () => {
        for await (const _ of serverStream({ model: 'm', temperature: 0 }, { base })) {
          /* none */
        }
      }, new CharrnnError('temperature must be above 0.'));
      assert.equal(await serverModels(base), null);
    } finally {
      await close();
    }
  });

  test('aborting ends the stream quietly and closes the connection', async () => {
    let closed = false;
    const { base, close } = await serve((_, __, response) => {
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      const timer = setInterval(() => response.write('data: {"index":0,"text":"a"}\n\n'), 5);
      response.on('close', () => {
        closed = true;
        clearInterval(timer);
      });
    });
    try {
      const stop = new AbortController();
      let n = 0;
      for await (const _ of serverStream({ model: 'm' }, { base, signal: stop.signal })) if (++n === 3) stop.abort();
      assert.equal(n, 3);
      for (let i = 0; i < 50 && !closed; i++) await new Promise(resolve => setTimeout(resolve, 10));
      assert.equal(closed, true);
    } finally {
      await close();
    }
  });
});

describe("the page's sentence for a prime the model cannot read", () => {
  // The page's library calls, as web/main.ts makes them: CharRnnModel.load then stream, or serverStream to `charrnn serve`;
  // the page shows what pageSentence makes of an error. Its advice must name the page's own control, never another face's.
  const TEXT = 'the cat sat on the mat.\n';
  const advice = `(tick “${SKIP_UNKNOWN_LABEL}” to drop them).`;
  const kernels = referenceKernels();
  const vocab = Vocabulary.fromText(TEXT);
  const net = new CharRNN({ cell: 'lstm', layers: 1, hidden: 8, emb: 4, vocabSize: vocab.size, dropout: 0 }, kernels, { seed: 1 });

  test('the page has the control its sentence names', () => {
    const html = readFileSync(fileURLToPath(new URL('../../web/index.html', import.meta.url)), 'utf8');
    assert.match(html, new RegExp(`<label[^>]*><input type="checkbox" id="skip-unknown" ?/?> ${SKIP_UNKNOWN_LABEL}</label>`));
  });

  test('a model opened in the page: the sentence ends in the checkbox; ticked, the characters are dropped', async () => {
    const model = await CharRnnModel.load(encodeModel(net, vocab), { name: 'cat.safetensors', kernels });
    const refused = await (async () => {
      try {
        for await (const piece of model.stream({ prime: 'the Zoo', length: 5, unknown: 'error' })) void piece;
      } catch (e) {
        return e;
      }
      return null;
    })();
    assert.equal(pageSentence(refused), `The prime has a character the model has never seen: "Z" (U+005A) ${advice}`);
    let text = '';
    for await (const piece of model.stream({ prime: 'the Zoo', length: 5, unknown: 'skip', seed: 3 })) text += piece;
    assert.equal([...text].length, 5);
  });

  test("a model of the server: its sentence is said with the page's advice; ticked, the request asks the server to skip", async () => {
    const app = await buildServer({ models: [{ name: 'cat', model: net, vocab, line: null, created: 1_700_000_000 }] });
    const base = await app.listen({ port: 0, host: '127.0.0.1' });
    try {
      let refused: unknown = null;
      try {
        for await (const piece of serverStream({ model: 'cat', prime: 'the Zoo', length: 5 }, { base })) void piece;
      } catch (e) {
        refused = e;
      }
      assert.ok(
        refused instanceof CharrnnError && refused.message.includes('"unknown": "skip"'),
        'the server words its advice for an API client',
      );
      assert.equal(pageSentence(refused), `The prime has a character the model has never seen: "Z" (U+005A) ${advice}`);
      let text = '';
      for await (const piece of serverStream({ model: 'cat', prime: 'the Zoo', length: 5, unknown: 'skip', seed: 3 }, { base }))
        text += piece;
      assert.equal([...text].length, 5);
    } finally {
      await app.close();
    }
  });
});
