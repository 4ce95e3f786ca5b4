// The server over real HTTP on 127.0.0.1: Node's fetch and the official openai
// client against every endpoint; texts compared with the library's own
// generation (CharRnnModel.generate, each request on a batch of its own); SSE
// framing; continuous batching changing no text; disconnects ending generation;
// every refusal's status and one-sentence body; a few hundred random bodies.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import OpenAI from 'openai';
import { z } from 'zod';
import type { FastifyInstance } from 'fastify';
import { CharRnnModel } from '../src/generate/char-rnn-model.js';
import { generateOptionsSchema, type GenerateOptions } from '../src/generate/options.js';
import { CharRNN } from '../src/model/charrnn.js';
import { loadKernels } from '../src/node/backend.js';
import { buildServer, type ServerOptions } from '../src/server/app.js';
import type { ServedModel } from '../src/server/models.js';
import { Vocabulary } from '../src/text/vocabulary.js';
import { Random } from '../src/util/random.js';

const TEXT = 'the cat sat on the mat. the dog sat on the log.\nROMEO: a rose by any other name\n';
const vocab = Vocabulary.fromText(TEXT);
let tiny: ServedModel;
let other: ServedModel;
let handle: CharRnnModel;

/** What the library generates for these options, alone: the reference for every text the server sends. */
async function alone(options: GenerateOptions): Promise<string[]> {
  return (await handle.generate(options)).texts;
}

async function start(options: Partial<ServerOptions> = {}): Promise<{ app: FastifyInstance; url: string }> {
  const app = await buildServer({ models: [tiny, other], ...options });
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  return { app, url };
}

async function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });
}

/** The `data:` payloads of an SSE body, checking the framing: every event is one `data: ` line and a blank line. */
function sseEvents(body: string): string[] {
  assert.ok(body.endsWith('\n\n'), 'an SSE body ends with a blank line');
  const events = body.slice(0, -2).split('\n\n');
  for (const e of events) assert.match(e, /^data: [^\n]*$/, `an event is one data: line: ${JSON.stringify(e)}`);
  return events.map(e => e.slice('data: '.length));
}

/** An error answer as the server promises it: the status, JSON `{error: {message, type}}`, the message one sentence. */
async function assertError(res: Response, status: number, says?: RegExp): Promise<{ message: string; type: string }> {
  assert.equal(res.status, status, `status ${res.status}, expected ${status}`);
  assert.match(res.headers.get('content-type') ?? '', /application\/json/);
  const body = (await res.json()) as { error: { message: string; type: string } };
  assert.equal(typeof body.error.type, 'string');
  assert.match(body.error.message, /^[A-Z"'a-z_][^\n]*[.)]$/, `one sentence: ${body.error.message}`);
  assert.ok(!/\bat .*\.js:\d+/.test(body.error.message), 'no stack trace');
  if (says) assert.match(body.error.message, says);
  return body.error;
}

/** Polls /healthz until `ready` holds (a few seconds at most): waits on the server's state, not on time. */
async function waitForHealth(url: string, ready: (h: { in_flight: number; queued: number }) => boolean): Promise<void> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const h = (await (await fetch(`${url}/healthz`)).json()) as { in_flight: number; queued: number };
    if (ready(h)) return;
    assert.ok(Date.now() < deadline, `the server never reached the awaited state: ${JSON.stringify(h)}`);
    await new Promise(resolve => setTimeout(resolve, 5));
  }
}

before(async () => {
  const kernels = await loadKernels();
  const config = { cell: 'lstm' as const, layers: 2, hidden: 32, emb: 8, vocabSize: vocab.size, dropout: 0 };
  const model = new CharRNN(config, kernels, { seed: 7 });
  tiny = { name: 'tiny', model, vocab, lineEol: null, created: 1_700_000_000 };
  other = { name: 'other', model: new CharRNN({ ...config, cell: 'gru', layers: 1 }, kernels, { seed: 8 }), vocab, lineEol: '\n', created: 1_700_000_001 };
  handle = new CharRnnModel(model, vocab);
});

describe('charrnn server', () => {
  let app: FastifyInstance;
  let url: string;
  before(async () => ({ app, url } = await start()));
  after(async () => app.close());

  it('GET /healthz and GET /v1/models (OpenAI list shape with the models\' own fields)', async () => {
    const health = await (await fetch(`${url}/healthz`)).json();
    assert.deepEqual(health, { status: 'ok', models: 2, in_flight: 0, queued: 0, streams: 0 });
    const models = await (await fetch(`${url}/v1/models`)).json();
    assert.deepEqual(models, {
      object: 'list',
      data: [
        { id: 'tiny', object: 'model', created: 1_700_000_000, owned_by: 'charrnn', cell: 'lstm', layers: 2, hidden: 32, embedding: 8, vocab_size: vocab.size, line_model: false },
        { id: 'other', object: 'model', created: 1_700_000_001, owned_by: 'charrnn', cell: 'gru', layers: 1, hidden: 32, embedding: 8, vocab_size: vocab.size, line_model: true },
      ],
    });
  });

  it('POST /v1/generate answers the texts the library generates, with usage', async () => {
    const res = await post(`${url}/v1/generate`, { model: 'tiny', prime: 'the ', length: 60, seed: 5, temperature: 0.8, top_k: 10, count: 3 });
    assert.equal(res.status, 200);
    const body = await res.json() as { text: string; texts: string[]; finish_reasons: string[]; usage: Record<string, number> };
    const expected = await alone({ prime: 'the ', length: 60, seed: 5, temperature: 0.8, topK: 10, count: 3 });
    assert.deepEqual(body.texts, expected);
    assert.equal(body.text, expected[0]);
    assert.deepEqual(body.finish_reasons, ['length', 'length', 'length']);
    assert.deepEqual(body.usage, { prompt_chars: 4, generated_chars: 180, total_chars: 184 });
    // Greedy, top_p, stop and beam search go through as well.
    const greedy = await (await post(`${url}/v1/generate`, { model: 'tiny', prime: 'the', length: 30, greedy: true, stop: ['t '] })).json() as { texts: string[] };
    assert.deepEqual(greedy.texts, await alone({ prime: 'the', length: 30, greedy: true, stop: ['t '] }));
    const beam = await (await post(`${url}/v1/generate`, { model: 'tiny', prime: 'the', length: 12, beam: 3 })).json() as { texts: string[]; logprobs: number[] };
    const beamAlone = await handle.generate({ prime: 'the', length: 12, beam: 3 });
    assert.deepEqual(beam.texts, beamAlone.texts);
    assert.deepEqual(beam.logprobs, beamAlone.logprobs);
  });

  it('a line model (lineModelInfo) writes lines, each from its end-of-line, unless the request says end_of_line: false', async () => {
    const lines = await (await post(`${url}/v1/generate`, { model: 'other', prime: 'the ', length: 400, seed: 2, count: 4 })).json() as { texts: string[]; finish_reasons: string[] };
    const otherHandle = new CharRnnModel(other.model, vocab);
    // A line: from a state fed the end-of-line, then the prime, up to the next end-of-line.
    assert.deepEqual(lines.texts, (await otherHandle.generate({ prime: '\nthe ', length: 400, seed: 2, count: 4, stop: ['\n'] })).texts);
    for (const t of lines.texts) assert.ok(!t.includes('\n'));
    const free = await (await post(`${url}/v1/generate`, { model: 'other', prime: 'the ', length: 400, seed: 2, end_of_line: false })).json() as { text: string };
    assert.equal(free.text, (await otherHandle.generate({ prime: 'the ', length: 400, seed: 2 })).text);
  });

  it('stream: true answers with Server-Sent Events: one data line per piece, the pieces make the text, then a summary and [DONE]', async () => {
    const res = await post(`${url}/v1/generate`, { model: 'tiny', prime: 'the ', length: 80, seed: 9, count: 2, stream: true });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
    const events = sseEvents(await res.text());
    assert.equal(events.at(-1), '[DONE]');
    const parsed = events.slice(0, -1).map(e => JSON.parse(e) as { index?: number; text?: string; finish_reasons?: string[]; usage?: unknown });
    const summary = parsed.at(-1)!;
    assert.deepEqual(summary.finish_reasons, ['length', 'length']);
    const pieces = parsed.slice(0, -1);
    assert.ok(pieces.length >= 80, 'a piece per character or so, not one lump');
    const texts = ['', ''];
    for (const p of pieces) texts[p.index!] += p.text;
    assert.deepEqual(texts, await alone({ prime: 'the ', length: 80, seed: 9, count: 2 }));
  });

  it('continuous batching: each request\'s text with 20 others in flight equals it alone, and they did share the batch', async () => {
    const scheduler = app.charrnn.schedulers.get('tiny')!;
    let most = 0;
    const watch = setInterval(() => { most = Math.max(most, scheduler.batchSize); }, 1);
    const requests = Array.from({ length: 21 }, (_, i) => ({
      model: 'tiny', prime: ['the ', 'ROMEO: ', 'a', ''][i % 4], length: 150 + 37 * i, seed: 100 + i,
      ...(i % 3 === 0 ? { top_p: 0.9 } : {}), ...(i % 5 === 0 ? { stop: 'dog' } : {}), stream: i % 2 === 0,
    }));
    const answers = await Promise.all(requests.map(async (r, i) => {
      // Staggered: requests join and leave a running batch.
      await new Promise(resolve => setTimeout(resolve, 3 * i));
      const res = await post(`${url}/v1/generate`, r);
      if (!r.stream) return ((await res.json()) as { text: string }).text;
      return sseEvents(await res.text()).slice(0, -2).map(e => (JSON.parse(e) as { text: string }).text).join('');
    }));
    clearInterval(watch);
    assert.ok(most > 1, `requests overlapped in one batch (at most ${most} streams seen)`);
    for (const [i, r] of requests.entries()) {
      const { model: _m, stream: _s, top_p, ...rest } = r as typeof r & { top_p?: number };
      const [expected] = await alone({ ...rest, ...(top_p ? { topP: top_p } : {}) });
      assert.equal(answers[i], expected, `request ${i}`);
    }
    assert.equal(scheduler.batchSize, 0);
  });

  it('a client that disconnects mid-stream stops its generation: it leaves the batch and its place is freed', async () => {
    const { app: big, url: bigUrl } = await start({ limits: { maxLength: 5_000_000 } });
    try {
      const res = await post(`${bigUrl}/v1/generate`, { model: 'tiny', length: 5_000_000, stream: true });
      const reader = res.body!.getReader();
      await reader.read();
      const health = async () => (await fetch(`${bigUrl}/healthz`)).json() as Promise<{ in_flight: number; streams: number }>;
      assert.deepEqual({ ...(await health()) }, { status: 'ok', models: 2, in_flight: 1, queued: 0, streams: 1 });
      await reader.cancel(); // closes the connection
      const until = Date.now() + 5000;
      let h = await health();
      while ((h.in_flight > 0 || h.streams > 0) && Date.now() < until) {
        await new Promise(resolve => setTimeout(resolve, 20));
        h = await health();
      }
      // 5,000,000 characters take minutes: being done within seconds means it was stopped.
      assert.equal(h.in_flight, 0);
      assert.equal(h.streams, 0);
      // The same for a request waiting for its JSON answer, beside one that goes on.
      const gone = new AbortController();
      void post(`${bigUrl}/v1/generate`, { model: 'tiny', length: 5_000_000 }).catch(() => null);
      const waiting = fetch(`${bigUrl}/v1/generate`, {
        method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'tiny', length: 5_000_000, seed: 3 }), signal: gone.signal,
      }).catch(() => null);
      await waitForHealth(bigUrl, h => h.in_flight === 2);
      gone.abort();
      await waiting;
      const until2 = Date.now() + 5000;
      while ((await health()).in_flight > 1 && Date.now() < until2) await new Promise(resolve => setTimeout(resolve, 20));
      assert.equal((await health()).in_flight, 1);
    } finally {
      big.charrnn.schedulers.forEach(s => s.cancelAll());
      await big.close();
    }
  });

  it('a client reading slower than the model writes gets the same text, its pieces joined into fewer events', async () => {
    // 16 texts of 30,000 characters: some 15 MB of events, more than the sockets' buffers hold on localhost.
    const { app: big, url: bigUrl } = await start({ limits: { maxLength: 30_000 } });
    try {
      const body = JSON.stringify({ model: 'tiny', prime: 'the ', length: 30_000, count: 16, seed: 11, stream: true });
      const text = await new Promise<string>((resolve, reject) => {
        const req = request(`${bigUrl}/v1/generate`, { method: 'POST', headers: { 'content-type': 'application/json' } }, res => {
          // Not read until the generation is over: the sockets fill and the server holds the pieces.
          res.pause();
          const read = () => { res.setEncoding('utf8'); let all = ''; res.on('data', (d: string) => { all += d; }); res.on('end', () => resolve(all)); res.resume(); };
          const poll = async (): Promise<void> => {
            const h = await (await fetch(`${bigUrl}/healthz`)).json() as { in_flight: number };
            if (h.in_flight === 0) read();
            else setTimeout(() => void poll().catch(reject), 50);
          };
          setTimeout(() => void poll().catch(reject), 50);
        });
        req.on('error', reject);
        req.end(body);
      });
      const events = sseEvents(text);
      const pieces = events.slice(0, -2).map(e => JSON.parse(e) as { index: number; text: string });
      // Unjoined, every step would be an event per text (no stop strings): 480,000 of them.
      assert.ok(pieces.length < 16 * 30_000, `${pieces.length} events for 480000 characters: pieces were joined`);
      const texts = new Array<string>(16).fill('');
      for (const p of pieces) texts[p.index] += p.text;
      assert.deepEqual(texts, await alone({ prime: 'the ', length: 30_000, count: 16, seed: 11 }));
    } finally {
      await big.close();
    }
  });

  it('POST /v1/completions works with the official openai client, plain and streamed', async () => {
    const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'dummy' });
    const c = await client.completions.create({ model: 'tiny', prompt: 'the ', max_tokens: 40, n: 2, seed: 4, temperature: 0.9, top_p: 0.95 });
    assert.equal(c.object, 'text_completion');
    assert.equal(c.model, 'tiny');
    assert.deepEqual(c.choices.map(ch => ch.text), await alone({ prime: 'the ', length: 40, seed: 4, temperature: 0.9, topP: 0.95, count: 2 }));
    assert.deepEqual(c.choices.map(ch => [ch.index, ch.finish_reason]), [[0, 'length'], [1, 'length']]);
    assert.deepEqual(c.usage, { prompt_tokens: 4, completion_tokens: 80, total_tokens: 84 });
    // temperature 0 is greedy, as OpenAI has it; a stop string ends the text with finish_reason 'stop'.
    const g = await client.completions.create({ model: 'tiny', prompt: 'the', max_tokens: 200, temperature: 0, stop: [' '] });
    const [greedy] = await alone({ prime: 'the', length: 200, greedy: true, stop: [' '] });
    assert.equal(g.choices[0].text, greedy);
    assert.equal(g.choices[0].finish_reason, (await handle.generate({ prime: 'the', length: 200, greedy: true, stop: [' '] })).finishReasons[0]);
    // Streamed: chunks in OpenAI's shape, the pieces make the text, finish_reason at the end, usage when asked.
    const stream = await client.completions.create({ model: 'tiny', prompt: 'the ', max_tokens: 50, seed: 6, stream: true, stream_options: { include_usage: true } });
    let text = '', finish: string | null = null, usage: unknown = null, chunks = 0;
    for await (const chunk of stream) {
      chunks++;
      assert.equal(chunk.object, 'text_completion');
      for (const ch of chunk.choices) {
        text += ch.text;
        if (ch.finish_reason) finish = ch.finish_reason;
      }
      if (chunk.usage) usage = chunk.usage;
    }
    assert.ok(chunks > 10);
    assert.equal(text, (await alone({ prime: 'the ', length: 50, seed: 6 }))[0]);
    assert.equal(finish, 'length');
    assert.deepEqual(usage, { prompt_tokens: 4, completion_tokens: 50, total_tokens: 54 });
    // The client's error types come from our bodies.
    await assert.rejects(client.completions.create({ model: 'nope', prompt: 'x' }), (e: unknown) => e instanceof OpenAI.NotFoundError && /no model 'nope'/.test(e.message));
    await assert.rejects(client.completions.create({ model: 'tiny', prompt: 'x', max_tokens: 1e9 }), (e: unknown) => e instanceof OpenAI.BadRequestError && /max_tokens must be/.test(e.message));
  });

  it('completions SSE framing in OpenAI\'s format, ending with data: [DONE]', async () => {
    const res = await post(`${url}/v1/completions`, { model: 'tiny', prompt: 'a', max_tokens: 10, n: 2, stream: true });
    const events = sseEvents(await res.text());
    assert.equal(events.at(-1), '[DONE]');
    const chunks = events.slice(0, -1).map(e => JSON.parse(e) as { id: string; object: string; choices: { index: number; text: string; finish_reason: string | null }[] });
    assert.equal(new Set(chunks.map(c => c.id)).size, 1);
    const last = chunks.at(-1)!;
    assert.deepEqual(last.choices.map(c => [c.index, c.text, c.finish_reason]), [[0, '', 'length'], [1, '', 'length']]);
  });

  it('GET /openapi.json documents every endpoint, with the option schemas of src/generate/options.ts', async () => {
    const doc = await (await fetch(`${url}/openapi.json`)).json() as { openapi: string; paths: Record<string, Record<string, { requestBody?: { content: Record<string, { schema: { properties: Record<string, unknown> } }> } }>> };
    assert.match(doc.openapi, /^3\./);
    for (const p of ['/v1/generate', '/v1/completions', '/v1/models', '/healthz']) assert.ok(doc.paths[p], p);
    const props = doc.paths['/v1/generate'].post.requestBody!.content['application/json'].schema.properties;
    const zodProps = (z.toJSONSchema(generateOptionsSchema, { target: 'draft-7' }) as { properties: Record<string, unknown> }).properties;
    assert.deepEqual(props.temperature, zodProps.temperature);
    assert.deepEqual(props.top_p, zodProps.topP);
    assert.deepEqual(props.stop, zodProps.stop);
    assert.equal((props.length as { maximum: number }).maximum, 10_000);
  });

  it('bad requests get 4xx with {error: {message, type}}, the message one sentence', async () => {
    const gen = `${url}/v1/generate`;
    await assertError(await post(gen, { model: 'nope' }), 404, /no model 'nope'.*tiny, other/);
    await assertError(await post(gen, { prime: 'x' }), 400, /Say which model/);
    await assertError(await post(gen, { model: 'tiny', temperature: 0 }), 400, /^temperature must be a number greater than 0 and at most 1000000, not 0\.$/);
    await assertError(await post(gen, { model: 'tiny', length: '10' }), 400, /^length must be a whole number from 0 to 10000, not "10"\.$/);
    await assertError(await post(gen, { model: 'tiny', length: 10_001 }), 400, /length must be/);
    await assertError(await post(gen, { model: 'tiny', count: 17 }), 400, /count must be a whole number from 1 to 16/);
    await assertError(await post(gen, { model: 'tiny', top_p: 1.5 }), 400, /top_p must be/);
    await assertError(await post(gen, { model: 'tiny', greedy: true, top_k: 3 }), 400, /greedy .* cannot go with top_k/);
    await assertError(await post(gen, { model: 'tiny', beam: 2, seed: 1 }), 400, /beam .* cannot go with seed/);
    await assertError(await post(gen, { model: 'tiny', prime: 'Zebra€' }), 400, /never seen.*"unknown": "skip"/);
    await assertError(await post(gen, { model: 'tiny', path: '/etc/passwd' }), 400, /Unknown field 'path'/);
    await assertError(await post(gen, '[1, 2]'), 400, /must be a JSON object/);
    await assertError(await post(gen, '{"model": '), 400, /not valid JSON/);
    await assertError(await post(gen, ''), 400, /empty/);
    await assertError(await post(gen, '{"model": "tiny", "__proto__": {"length": 1}}'), 400, /^Unknown field '__proto__'/);
    await assertError(await post(`${url}/v1/completions`, '{"model": "tiny", "stream_options": {"constructor": {"prototype": {}}}}'), 400, /^stream_options must be/);
    await assertError(await fetch(gen, { method: 'POST', body: 'model=tiny', headers: { 'content-type': 'application/x-www-form-urlencoded' } }), 415, /must be JSON/);
    await assertError(await post(gen, { model: 'tiny', prime: 'x'.repeat(70_000) }), 413, /larger than the 65536 bytes/);
    await assertError(await fetch(`${url}/v1/nothing`), 404, /nothing at GET \/v1\/nothing/);
    await assertError(await post(`${url}/v1/completions`, { model: 'tiny', prompt: 1 }), 400, /^prompt must be a string, not 1\.$/);
    // The server is still well.
    assert.equal((await fetch(`${url}/healthz`)).status, 200);
  });

  it('survives a few hundred random bodies: every answer is 200 or a 4xx JSON error', async () => {
    const rng = new Random(12345);
    const keys = ['model', 'prime', 'length', 'temperature', 'top_k', 'top_p', 'greedy', 'seed', 'stop', 'count', 'beam', 'stream', 'end_of_line', 'unknown',
      'prompt', 'max_tokens', 'n', 'stream_options', '__proto__', 'constructor', 'x'];
    const values = (): unknown => {
      const pick = rng.int(16);
      switch (pick) {
        case 0: return null;
        case 1: return rng.int(2) === 0;
        case 2: return rng.int(30);
        case 3: return -rng.int(5);
        case 4: return rng.uniform(-2, 2);
        case 5: return 1e308 * (rng.int(2) ? 10 : 1);
        case 6: return 'tiny';
        case 7: return 'the ';
        case 8: return String.fromCodePoint(...Array.from({ length: rng.int(8) }, () => 32 + rng.int(0x3000)));
        case 9: return ['a', 'b'];
        case 10: return [];
        case 11: return { include_usage: true };
        case 12: return [1, { a: 2 }];
        case 13: return '';
        case 14: return 2 ** 32 + rng.int(3) - 1;
        default: return 0.5;
      }
    };
    for (let i = 0; i < 300; i++) {
      const endpoint = rng.int(2) === 0 ? 'generate' : 'completions';
      let body: string;
      if (i % 10 === 9) body = Array.from({ length: rng.int(40) }, () => String.fromCharCode(rng.int(128))).join(''); // not JSON
      else {
        const o: Record<string, unknown> = {};
        for (let k = rng.int(5); k > 0; k--) o[keys[rng.int(keys.length)]] = values();
        if (rng.int(3) > 0) o.model = 'tiny';
        for (const f of ['length', 'max_tokens']) if (typeof o[f] === 'number') o[f] = Math.abs(o[f] as number) % 50; // keep the valid ones short
        body = JSON.stringify(o);
      }
      const res = await post(`${url}/v1/${endpoint}`, body);
      const text = await res.text();
      assert.ok(res.status === 200 || (res.status >= 400 && res.status < 500), `status ${res.status} for ${body}: ${text}`);
      if (res.status !== 200) {
        const e = JSON.parse(text) as { error: { message: string; type: string } };
        assert.match(e.error.message, /^[^\n]+[.)]$/, `${body}: ${e.error.message}`);
      }
    }
    assert.deepEqual(await (await fetch(`${url}/healthz`)).json(), { status: 'ok', models: 2, in_flight: 0, queued: 0, streams: 0 });
  });
});

describe('charrnn server limits and options', () => {
  it('--token: /v1 needs Authorization: Bearer <token> (401 otherwise); /healthz does not', async () => {
    const { app, url } = await start({ token: 's3cret' });
    try {
      const e = await assertError(await fetch(`${url}/v1/models`), 401, /Authorization: Bearer/);
      assert.equal(e.type, 'authentication_error');
      await assertError(await fetch(`${url}/v1/models`, { headers: { authorization: 'Bearer wrong' } }), 401);
      await assertError(await post(`${url}/v1/generate`, { model: 'tiny' }, { authorization: 's3cret' }), 401);
      assert.equal((await fetch(`${url}/v1/models`, { headers: { authorization: 'Bearer s3cret' } })).status, 200);
      assert.equal((await fetch(`${url}/healthz`)).status, 200);
      // The same route spelled another way needs the token too.
      await assertError(await fetch(`${url}/%761/models`), 401);
      const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: 's3cret' });
      assert.equal((await client.completions.create({ model: 'tiny', prompt: 'a', max_tokens: 5 })).choices[0].text.length, 5);
      await assert.rejects(new OpenAI({ baseURL: `${url}/v1`, apiKey: 'dummy' }).completions.create({ model: 'tiny', prompt: 'a' }), OpenAI.AuthenticationError);
    } finally {
      await app.close();
    }
  });

  it('requests past maxInFlight wait in the queue; past maxQueue they get 429 with Retry-After', async () => {
    const { app, url } = await start({ limits: { maxInFlight: 1, maxQueue: 1, maxLength: 1_000_000 } });
    try {
      // The first request is far longer than the test (a fast machine finished 20,000 chars
      // in under 100 ms); the test ends it by disconnecting, which frees its place.
      const stopLong = new AbortController();
      const long = fetch(`${url}/v1/generate`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'tiny', length: 1_000_000 }), signal: stopLong.signal })
        .catch((e: unknown) => e);
      await waitForHealth(url, h => h.in_flight === 1);
      const queued = post(`${url}/v1/generate`, { model: 'tiny', length: 10, seed: 2 });
      await waitForHealth(url, h => h.queued === 1);
      assert.deepEqual(await (await fetch(`${url}/healthz`)).json(), { status: 'ok', models: 2, in_flight: 1, queued: 1, streams: 1 });
      const refused = await post(`${url}/v1/generate`, { model: 'tiny', length: 10 });
      assert.equal(refused.headers.get('retry-after'), '1');
      const e = await assertError(refused, 429, /busy/);
      assert.equal(e.type, 'rate_limit_error');
      stopLong.abort();
      assert.ok((await long) instanceof Error, 'the long request was ended by its client');
      const q = await queued;
      assert.equal(q.status, 200);
      assert.equal(((await q.json()) as { text: string }).text, (await alone({ length: 10, seed: 2 }))[0]);
    } finally {
      await app.close();
    }
  });

  it('batching off gives the same texts', async () => {
    const { app, url } = await start({ batching: false });
    try {
      const texts = await Promise.all([3, 4, 5].map(async seed =>
        ((await (await post(`${url}/v1/generate`, { model: 'tiny', prime: 'a', length: 70, seed })).json()) as { text: string }).text));
      for (const [i, seed] of [3, 4, 5].entries()) assert.equal(texts[i], (await alone({ prime: 'a', length: 70, seed }))[0]);
    } finally {
      await app.close();
    }
  });

  it('serves a static folder at / with the cross-origin isolation headers; the API is unchanged beside it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'charrnn-static-'));
    writeFileSync(join(dir, 'index.html'), '<!doctype html><title>charrnn</title>');
    const { app, url } = await start({ staticDir: dir });
    try {
      const page = await fetch(`${url}/`);
      assert.equal(page.status, 200);
      assert.match(await page.text(), /<title>charrnn<\/title>/);
      assert.equal(page.headers.get('cross-origin-opener-policy'), 'same-origin');
      assert.equal(page.headers.get('cross-origin-embedder-policy'), 'require-corp');
      assert.equal((await fetch(`${url}/v1/models`)).status, 200);
      await assertError(await fetch(`${url}/missing.js`), 404);
    } finally {
      await app.close();
      rmSync(dir, { recursive: true, force: true });
    }
    // Without the folder, / is a 404 like any other unknown path.
    const bare = await start({ staticDir: join(tmpdir(), 'charrnn-no-such-folder') });
    try {
      await assertError(await fetch(`${bare.url}/`), 404);
    } finally {
      await bare.app.close();
    }
  });
});
