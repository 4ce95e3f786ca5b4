// The server in-process (fastify's inject, no socket): every endpoint's answer
// compared with the library's own generation (CharRnnModel.generate, each
// request on a batch of its own); SSE framing; continuous batching changing no
// text; the queue and 429; the token; the page; every refusal's status and
// one-sentence body; a few hundred random bodies. What only a socket shows
// (disconnects, a slow reader, the openai client) is in test/e2e/server-socket.test.ts.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { z } from 'zod';
import type { FastifyInstance, InjectOptions } from 'fastify';
import { CharRnnModel } from '../src/generate/char-rnn-model.js';
import { generateOptionsSchema } from '../src/generate/options.js';
import { CharrnnError } from '../src/errors.js';
import { buildServer, type ServerOptions } from '../src/server/app.js';
import { PAGE_NOT_BUILT } from '../src/server/plugins/page.js';
import { Random } from '../src/util/random.js';
import { assertErrorBody, serverFixtures, sseEvents, vocab, type ServerFixtures } from './server-fixtures.js';

type Injected = Awaited<ReturnType<FastifyInstance['inject']>>;
let f: ServerFixtures;

before(async () => {
  f = await serverFixtures();
});

async function build(options: Partial<ServerOptions> = {}): Promise<FastifyInstance> {
  return buildServer({ models: [f.tiny, f.other], ...options });
}

function post(
  app: FastifyInstance,
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
  more: Partial<InjectOptions> = {},
): Promise<Injected> {
  return app.inject({
    method: 'POST',
    url,
    headers: { 'content-type': 'application/json', ...headers },
    payload: typeof body === 'string' ? body : JSON.stringify(body),
    ...more,
  });
}

/** An error answer as the server promises it: the status, JSON `{error: {message, type}}`, the message one sentence. */
function assertError(res: Injected, status: number, says?: RegExp): { message: string; type: string } {
  assert.equal(res.statusCode, status, `status ${res.statusCode}, expected ${status}: ${res.body}`);
  assert.match(String(res.headers['content-type'] ?? ''), /application\/json/);
  return assertErrorBody(res.json(), says);
}

async function health(app: FastifyInstance): Promise<{ in_flight: number; queued: number; streams: number }> {
  return (await app.inject('/healthz')).json();
}

/** Polls /healthz until `ready` holds (a few seconds at most): waits on the server's state, not on time. */
async function waitForHealth(app: FastifyInstance, ready: (h: { in_flight: number; queued: number }) => boolean): Promise<void> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const h = await health(app);
    if (ready(h)) return;
    assert.ok(Date.now() < deadline, `the server never reached the awaited state: ${JSON.stringify(h)}`);
    await new Promise(resolve => setTimeout(resolve, 5));
  }
}

describe('charrnn server', () => {
  let app: FastifyInstance;
  before(async () => {
    app = await build();
  });
  after(async () => app.close());

  it("GET /healthz and GET /v1/models (OpenAI list shape with the models' own fields)", async () => {
    assert.deepEqual((await app.inject('/healthz')).json(), { status: 'ok', models: 2, in_flight: 0, queued: 0, streams: 0 });
    assert.deepEqual((await app.inject('/v1/models')).json(), {
      object: 'list',
      data: [
        {
          id: 'tiny',
          object: 'model',
          created: 1_700_000_000,
          owned_by: 'charrnn',
          cell: 'lstm',
          layers: 2,
          hidden: 32,
          embedding: 8,
          vocab_size: vocab.size,
          line_model: false,
        },
        {
          id: 'other',
          object: 'model',
          created: 1_700_000_001,
          owned_by: 'charrnn',
          cell: 'gru',
          layers: 1,
          hidden: 32,
          embedding: 8,
          vocab_size: vocab.size,
          line_model: true,
        },
      ],
    });
  });

  it('POST /v1/generate answers the texts the library generates, with usage', async () => {
    const res = await post(app, '/v1/generate', {
      model: 'tiny',
      prime: 'the ',
      length: 60,
      seed: 5,
      temperature: 0.8,
      top_k: 10,
      count: 3,
    });
    assert.equal(res.statusCode, 200);
    const body = res.json<{ model: string; text: string; texts: string[]; finish_reasons: string[]; usage: Record<string, number> }>();
    const expected = await f.alone({ prime: 'the ', length: 60, seed: 5, temperature: 0.8, topK: 10, count: 3 });
    assert.deepEqual(body, {
      model: 'tiny',
      text: expected[0],
      texts: expected,
      finish_reasons: ['length', 'length', 'length'],
      usage: { prompt_chars: 4, generated_chars: 180, total_chars: 184 },
    });
    // Greedy, top_p, stop and beam search go through as well.
    const greedy = (await post(app, '/v1/generate', { model: 'tiny', prime: 'the', length: 30, greedy: true, stop: ['t '] })).json<{
      texts: string[];
    }>();
    assert.deepEqual(greedy.texts, await f.alone({ prime: 'the', length: 30, greedy: true, stop: ['t '] }));
    const beam = (await post(app, '/v1/generate', { model: 'tiny', prime: 'the', length: 12, beam: 3 })).json<{
      texts: string[];
      logprobs: number[];
    }>();
    const beamAlone = await f.handle.generate({ prime: 'the', length: 12, beam: 3 });
    assert.deepEqual(beam.texts, beamAlone.texts);
    assert.deepEqual(beam.logprobs, beamAlone.logprobs);
  });

  it("a line model (lineModelInfo) writes whole lines, as the library's handle does, and refuses the options of running text", async () => {
    const lines = (await post(app, '/v1/generate', { model: 'other', prime: 'the ', max_length: 40, seed: 2, count: 4 })).json<{
      texts: string[];
    }>();
    const otherHandle = new CharRnnModel(f.other.model, vocab, f.other.line);
    assert.deepEqual(lines.texts, (await otherHandle.generate({ prime: 'the ', maxLength: 40, seed: 2, count: 4 })).texts);
    // The handle's lines are an independent reading of a line: from a state fed the end-of-line, then the prime, up to the next end-of-line.
    const plain = new CharRnnModel(f.other.model, vocab);
    const reference = await plain.generate({ prime: '\nthe ', length: 40, seed: 2, count: 4, stop: ['\n'] });
    if (reference.texts.every(t => t !== '')) assert.deepEqual(lines.texts, reference.texts);
    for (const t of lines.texts) assert.ok(!t.includes('\n'));
    for (const [field, value] of [
      ['end_of_line', false],
      ['beam', 2],
      ['length', 12],
      ['stop', 'x'],
    ] as const) {
      const refused = await post(app, '/v1/generate', { model: 'other', prime: 'the ', [field]: value });
      assert.equal(refused.statusCode, 400);
      assert.equal(
        refused.json<{ error: { message: string } }>().error.message,
        `The model 'other' is a line model: it samples whole lines, each ending where the model ends it (at most max_length characters), so leave ${field} out.`,
      );
    }
    // OpenAI's completions: max_tokens is a line's max_length, and the lines are the same.
    const completion = (await post(app, '/v1/completions', { model: 'other', prompt: 'the ', max_tokens: 40, seed: 2, n: 4 })).json<{
      choices: { text: string }[];
    }>();
    assert.deepEqual(
      completion.choices.map(c => c.text),
      lines.texts,
    );
    const running = await post(app, '/v1/generate', { model: 'tiny', max_length: 5 });
    assert.equal(
      running.json<{ error: { message: string } }>().error.message,
      "max_length applies to line models (trained with lines), and the model 'tiny' is not one.",
    );
  });

  it('stream: true answers with Server-Sent Events: one data line per piece, the pieces make the text, then a summary and [DONE]', async () => {
    const res = await post(app, '/v1/generate', { model: 'tiny', prime: 'the ', length: 80, seed: 9, count: 2, stream: true });
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['content-type']), /^text\/event-stream/);
    const events = sseEvents(res.body);
    assert.equal(events.at(-1), '[DONE]');
    const parsed = events
      .slice(0, -1)
      .map(e => JSON.parse(e) as { index?: number; text?: string; finish_reasons?: string[]; usage?: unknown });
    assert.deepEqual(parsed.at(-1), {
      finish_reasons: ['length', 'length'],
      usage: { prompt_chars: 4, generated_chars: 160, total_chars: 164 },
    });
    const pieces = parsed.slice(0, -1);
    assert.ok(pieces.length >= 80, 'a piece per character or so, not one lump');
    const texts = ['', ''];
    for (const p of pieces) texts[p.index!] += p.text;
    assert.deepEqual(texts, await f.alone({ prime: 'the ', length: 80, seed: 9, count: 2 }));
  });

  it("continuous batching: each request's text with 20 others in flight equals it alone, and they did share the batch", async () => {
    const scheduler = app.charrnn.schedulers.get('tiny')!;
    let most = 0;
    const watch = setInterval(() => {
      most = Math.max(most, scheduler.batchSize);
    }, 1);
    const requests = Array.from({ length: 21 }, (_, i) => ({
      model: 'tiny',
      prime: ['the ', 'ROMEO: ', 'a', ''][i % 4],
      length: 150 + 37 * i,
      seed: 100 + i,
      ...(i % 3 === 0 ? { top_p: 0.9 } : {}),
      ...(i % 5 === 0 ? { stop: 'dog' } : {}),
      stream: i % 2 === 0,
    }));
    const answers = await Promise.all(
      requests.map(async (r, i) => {
        // Staggered: requests join and leave a running batch.
        await new Promise(resolve => setTimeout(resolve, 3 * i));
        const res = await post(app, '/v1/generate', r);
        if (!r.stream) return res.json<{ text: string }>().text;
        return sseEvents(res.body)
          .slice(0, -2)
          .map(e => (JSON.parse(e) as { text: string }).text)
          .join('');
      }),
    );
    clearInterval(watch);
    assert.ok(most > 1, `requests overlapped in one batch (at most ${most} streams seen)`);
    for (const [i, r] of requests.entries()) {
      const { model: _m, stream: _s, top_p, ...rest } = r as typeof r & { top_p?: number };
      const [expected] = await f.alone({ ...rest, ...(top_p ? { topP: top_p } : {}) });
      assert.equal(answers[i], expected, `request ${i}`);
    }
    assert.equal(scheduler.batchSize, 0);
  });

  it("POST /v1/completions answers in OpenAI's shape: choices, finish_reason, usage in tokens that are characters", async () => {
    const res = await post(app, '/v1/completions', {
      model: 'tiny',
      prompt: 'the ',
      max_tokens: 40,
      n: 2,
      seed: 4,
      temperature: 0.9,
      top_p: 0.95,
    });
    assert.equal(res.statusCode, 200);
    const c = res.json<{
      id: string;
      object: string;
      created: number;
      model: string;
      choices: { text: string; index: number; logprobs: null; finish_reason: string }[];
      usage: unknown;
    }>();
    assert.match(c.id, /^cmpl-[0-9a-f-]{36}$/);
    assert.ok(Math.abs(c.created - Date.now() / 1000) < 60);
    const texts = await f.alone({ prime: 'the ', length: 40, seed: 4, temperature: 0.9, topP: 0.95, count: 2 });
    assert.deepEqual(
      { ...c, id: null, created: null },
      {
        id: null,
        object: 'text_completion',
        created: null,
        model: 'tiny',
        choices: texts.map((text, index) => ({ text, index, logprobs: null, finish_reason: 'length' })),
        usage: { prompt_tokens: 4, completion_tokens: 80, total_tokens: 84 },
      },
    );
    // temperature 0 is greedy, as OpenAI has it; a stop string ends the text with finish_reason 'stop'.
    const g = (await post(app, '/v1/completions', { model: 'tiny', prompt: 'the', max_tokens: 200, temperature: 0, stop: [' '] })).json<
      typeof c
    >();
    const greedy = await f.handle.generate({ prime: 'the', length: 200, greedy: true, stop: [' '] });
    assert.equal(g.choices[0].text, greedy.texts[0]);
    assert.equal(g.choices[0].finish_reason, greedy.finishReasons[0]);
  });

  it("completions SSE framing in OpenAI's format: one id, the pieces make the text, finish_reason, usage when asked, data: [DONE]", async () => {
    const res = await post(app, '/v1/completions', {
      model: 'tiny',
      prompt: 'a',
      max_tokens: 10,
      n: 2,
      seed: 6,
      stream: true,
      stream_options: { include_usage: true },
    });
    const events = sseEvents(res.body);
    assert.equal(events.at(-1), '[DONE]');
    type Chunk = { id: string; object: string; choices: { index: number; text: string; finish_reason: string | null }[]; usage?: unknown };
    const chunks = events.slice(0, -1).map(e => JSON.parse(e) as Chunk);
    assert.equal(new Set(chunks.map(c => c.id)).size, 1);
    for (const c of chunks) assert.equal(c.object, 'text_completion');
    const usage = chunks.at(-1)!;
    assert.deepEqual([usage.choices, usage.usage], [[], { prompt_tokens: 1, completion_tokens: 20, total_tokens: 21 }]);
    const last = chunks.at(-2)!;
    assert.deepEqual(
      last.choices.map(c => [c.index, c.text, c.finish_reason]),
      [
        [0, '', 'length'],
        [1, '', 'length'],
      ],
    );
    const texts = ['', ''];
    for (const c of chunks.slice(0, -2)) for (const ch of c.choices) texts[ch.index] += ch.text;
    assert.deepEqual(texts, await f.alone({ prime: 'a', length: 10, seed: 6, count: 2 }));
  });

  it('GET /openapi.json documents every endpoint, with the option schemas of src/generate/options.ts', async () => {
    const doc = (await app.inject('/openapi.json')).json<{
      openapi: string;
      paths: Record<
        string,
        Record<string, { requestBody?: { content: Record<string, { schema: { properties: Record<string, unknown> } }> } }>
      >;
    }>();
    assert.match(doc.openapi, /^3\./);
    assert.deepEqual(Object.keys(doc.paths).sort(), ['/healthz', '/v1/completions', '/v1/generate', '/v1/models']);
    const props = doc.paths['/v1/generate'].post.requestBody!.content['application/json'].schema.properties;
    const zodProps = (z.toJSONSchema(generateOptionsSchema, { target: 'draft-7' }) as { properties: Record<string, unknown> }).properties;
    assert.deepEqual(props.temperature, zodProps.temperature);
    assert.deepEqual(props.top_p, zodProps.topP);
    assert.deepEqual(props.stop, zodProps.stop);
    assert.equal((props.length as { maximum: number }).maximum, 10_000);
  });

  it('bad requests get 4xx with {error: {message, type}}, the message one sentence', async () => {
    const gen = (body: unknown) => post(app, '/v1/generate', body);
    assertError(await gen({ model: 'nope' }), 404, /^There is no model 'nope' here \(the models are tiny, other\)\.$/);
    assertError(await gen({ prime: 'x' }), 400, /^Say which model with "model": this server has tiny, other\.$/);
    assertError(
      await gen({ model: 'tiny', temperature: 0 }),
      400,
      /^temperature must be a number greater than 0 and at most 1000000, not 0\.$/,
    );
    assertError(await gen({ model: 'tiny', length: '10' }), 400, /^length must be a whole number from 0 to 10000, not "10"\.$/);
    assertError(await gen({ model: 'tiny', length: 10_001 }), 400, /length must be/);
    assertError(await gen({ model: 'tiny', count: 17 }), 400, /count must be a whole number from 1 to 16/);
    assertError(await gen({ model: 'tiny', top_p: 1.5 }), 400, /top_p must be/);
    assertError(await gen({ model: 'tiny', greedy: true, top_k: 3 }), 400, /greedy .* cannot go with top_k/);
    assertError(await gen({ model: 'tiny', beam: 2, seed: 1 }), 400, /beam .* cannot go with seed/);
    assertError(await gen({ model: 'tiny', prime: 'Zebra€' }), 400, /never seen.*"unknown": "skip"/);
    assertError(await gen({ model: 'tiny', path: '/etc/passwd' }), 400, /Unknown field 'path'/);
    assertError(await gen('[1, 2]'), 400, /^The request body must be a JSON object\.$/);
    assertError(await gen('{"model": '), 400, /^The request body is not valid JSON\.$/);
    assertError(await gen(''), 400, /^The request body is empty; send a JSON object\.$/);
    assertError(await gen('{"model": "tiny", "__proto__": {"length": 1}}'), 400, /^Unknown field '__proto__'/);
    assertError(
      await post(app, '/v1/completions', '{"model": "tiny", "stream_options": {"constructor": {"prototype": {}}}}'),
      400,
      /^stream_options must be/,
    );
    assertError(
      await post(app, '/v1/generate', 'model=tiny', { 'content-type': 'application/x-www-form-urlencoded' }),
      415,
      /must be JSON/,
    );
    assertError(
      await gen({ model: 'tiny', prime: 'x'.repeat(70_000) }),
      413,
      /^The request body is larger than the 65536 bytes this server takes\.$/,
    );
    assertError(await app.inject('/v1/nothing'), 404, /^There is nothing at GET \/v1\/nothing\.$/);
    assertError(await post(app, '/v1/completions', { model: 'tiny', prompt: 1 }), 400, /^prompt must be a string, not 1\.$/);
    // The server is still well.
    assert.equal((await app.inject('/healthz')).statusCode, 200);
  });

  it('a JSON body sent as text/plain (or with no Content-Type) is 415, the sentence naming application/json and what came', async () => {
    const json = JSON.stringify({ model: 'tiny', length: 5 });
    for (const url of ['/v1/generate', '/v1/completions']) {
      const e = assertError(
        await post(app, url, json, { 'content-type': 'text/plain;charset=UTF-8' }),
        415,
        /^The request body must be JSON, sent with Content-Type: application\/json \(this one came as "text\/plain"\)\.$/,
      );
      assert.equal(e.type, 'invalid_request_error');
    }
    const bare = await app.inject({
      method: 'POST',
      url: '/v1/generate',
      payload: json,
      headers: { 'content-length': String(json.length) },
    });
    assertError(bare, 415, /\(this one came without a Content-Type\)\.$/);
    // application/json with a charset is JSON.
    assert.equal((await post(app, '/v1/generate', json, { 'content-type': 'application/json; charset=utf-8' })).statusCode, 200);
  });

  it('survives a few hundred random bodies: every answer is 200 or a 4xx JSON error', async () => {
    const rng = new Random(12345);
    const keys = [
      'model',
      'prime',
      'length',
      'temperature',
      'top_k',
      'top_p',
      'greedy',
      'seed',
      'stop',
      'count',
      'beam',
      'stream',
      'end_of_line',
      'unknown',
      'prompt',
      'max_tokens',
      'n',
      'stream_options',
      'logprobs',
      'echo',
      'char_logprobs',
      'score_prime',
      '__proto__',
      'constructor',
      'x',
    ];
    const values = (): unknown => {
      switch (rng.int(16)) {
        case 0:
          return null;
        case 1:
          return rng.int(2) === 0;
        case 2:
          return rng.int(30);
        case 3:
          return -rng.int(5);
        case 4:
          return rng.uniform(-2, 2);
        case 5:
          return 1e308 * (rng.int(2) ? 10 : 1);
        case 6:
          return 'tiny';
        case 7:
          return 'the ';
        case 8:
          return String.fromCodePoint(...Array.from({ length: rng.int(8) }, () => 32 + rng.int(0x3000)));
        case 9:
          return ['a', 'b'];
        case 10:
          return [];
        case 11:
          return { include_usage: true };
        case 12:
          return [1, { a: 2 }];
        case 13:
          return '';
        case 14:
          return 2 ** 32 + rng.int(3) - 1;
        default:
          return 0.5;
      }
    };
    let ok = 0;
    for (let i = 0; i < 300; i++) {
      const endpoint = rng.int(2) === 0 ? 'generate' : 'completions';
      let body: string;
      if (i % 10 === 9)
        body = Array.from({ length: rng.int(40) }, () => String.fromCharCode(rng.int(128))).join(''); // not JSON
      else {
        const o: Record<string, unknown> = {};
        for (let k = rng.int(5); k > 0; k--) o[keys[rng.int(keys.length)]] = values();
        if (rng.int(3) > 0) o.model = 'tiny';
        for (const field of ['length', 'max_tokens']) if (typeof o[field] === 'number') o[field] = Math.abs(o[field] as number) % 50; // keep the valid ones short
        body = JSON.stringify(o);
      }
      const res = await post(app, `/v1/${endpoint}`, body);
      assert.ok(
        res.statusCode === 200 || (res.statusCode >= 400 && res.statusCode < 500),
        `status ${res.statusCode} for ${body}: ${res.body}`,
      );
      if (res.statusCode === 200) ok++;
      else assert.match(res.json<{ error: { message: string } }>().error.message, /^[^\n]+[.)]$/, `${body}: ${res.body}`);
    }
    assert.ok(ok > 0, 'some random bodies were valid requests');
    assert.deepEqual((await app.inject('/healthz')).json(), { status: 'ok', models: 2, in_flight: 0, queued: 0, streams: 0 });
  });
});

describe('charrnn server limits and options', () => {
  it('requests past maxInFlight wait in the queue; past maxQueue they get 429 with Retry-After', async () => {
    const app = await build({ limits: { maxInFlight: 1, maxQueue: 1, maxLength: 1_000_000 } });
    try {
      // The first request is far longer than the test (a fast machine finished 20,000 chars
      // in under 100 ms); the test ends it by cancelling its generation, which frees its place.
      const long = post(app, '/v1/generate', { model: 'tiny', length: 1_000_000 }).catch((e: unknown) => e);
      await waitForHealth(app, h => h.in_flight === 1);
      const queued = post(app, '/v1/generate', { model: 'tiny', length: 10, seed: 2 });
      await waitForHealth(app, h => h.queued === 1);
      assert.deepEqual(await health(app), { status: 'ok', models: 2, in_flight: 1, queued: 1, streams: 1 });
      const refused = await post(app, '/v1/generate', { model: 'tiny', length: 10 });
      assert.equal(refused.headers['retry-after'], '1');
      const e = assertError(refused, 429, /^The server is busy: too many requests are generating or waiting; try again in a moment\.$/);
      assert.equal(e.type, 'rate_limit_error');
      app.charrnn.schedulers.get('tiny')!.cancelAll();
      assert.ok((await long) instanceof Error, 'the long request ended without an answer');
      const q = await queued;
      assert.equal(q.statusCode, 200);
      assert.equal(q.json<{ text: string }>().text, (await f.alone({ length: 10, seed: 2 }))[0]);
    } finally {
      await app.close();
    }
  });

  it('batching off gives the same texts', async () => {
    const app = await build({ batching: false });
    try {
      const texts = await Promise.all(
        [3, 4, 5].map(
          async seed => (await post(app, '/v1/generate', { model: 'tiny', prime: 'a', length: 70, seed })).json<{ text: string }>().text,
        ),
      );
      for (const [i, seed] of [3, 4, 5].entries()) assert.equal(texts[i], (await f.alone({ prime: 'a', length: 70, seed }))[0]);
    } finally {
      await app.close();
    }
  });
});

describe('charrnn server token', () => {
  let app: FastifyInstance;
  before(async () => {
    app = await build({ token: 's3cret' });
  });
  after(async () => app.close());
  const models = (authorization?: string) =>
    app.inject({ url: '/v1/models', headers: authorization === undefined ? {} : { authorization } });

  it('/v1 needs Authorization: Bearer <token>; /healthz and /openapi.json do not', async () => {
    assert.equal((await models('Bearer s3cret')).statusCode, 200);
    assert.equal((await post(app, '/v1/generate', { model: 'tiny', length: 3 }, { authorization: 'Bearer s3cret' })).statusCode, 200);
    assert.equal((await app.inject('/healthz')).statusCode, 200);
    assert.equal((await app.inject('/openapi.json')).statusCode, 200);
    // The same route spelled another way needs the token too.
    assertError(await app.inject('/%761/models'), 401);
    // The document says so.
    const doc = (await app.inject('/openapi.json')).json<{ security: unknown }>();
    assert.deepEqual(doc.security, [{ bearer: [] }]);
  });

  it('a missing header, another scheme and a wrong token get three different sentences, each 401 with WWW-Authenticate: Bearer', async () => {
    const missing = /^This server needs an API key: send the header Authorization: Bearer <token>, with the token it was started with\.$/;
    const scheme = /^The Authorization header must be Bearer <token>, with the token this server was started with\.$/;
    const wrong = /^The token in the Authorization header is not the one this server was started with\.$/;
    for (const [header, says] of [
      [undefined, missing],
      ['', missing],
      ['s3cret', scheme],
      ['Basic czNjcmV0', scheme],
      ['Bearer', scheme],
      ['Bearer ', scheme],
      ['Bearer wrong', wrong],
      ['Bearer s3cre', wrong],
      ['Bearer s3cret2', wrong],
      ['bearer S3CRET', wrong],
    ] as const) {
      const res = await models(header);
      const e = assertError(res, 401, says);
      assert.equal(e.type, 'authentication_error', String(header));
      assert.equal(res.headers['www-authenticate'], 'Bearer');
    }
  });

  it('the scheme is case-insensitive (RFC 7235): bearer, BEARER and BeArEr all carry the token', async () => {
    for (const scheme of ['bearer', 'BEARER', 'BeArEr']) assert.equal((await models(`${scheme} s3cret`)).statusCode, 200, scheme);
    assert.equal((await models('Bearer   s3cret')).statusCode, 200, 'more than one space after the scheme');
  });
});

describe('charrnn server page', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'charrnn-static-'));
    writeFileSync(join(dir, 'index.html'), '<!doctype html><title>charrnn</title>');
    writeFileSync(join(dir, 'app.js'), 'console.log(1);');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('serves a static folder at / with the cross-origin isolation headers; the API is unchanged beside it', async () => {
    const app = await build({ staticDir: dir });
    try {
      for (const path of ['/', '/app.js']) {
        const page = await app.inject(path);
        assert.equal(page.statusCode, 200, path);
        assert.equal(page.headers['cross-origin-opener-policy'], 'same-origin');
        assert.equal(page.headers['cross-origin-embedder-policy'], 'require-corp');
      }
      assert.match((await app.inject('/')).body, /<title>charrnn<\/title>/);
      assert.equal((await app.inject('/v1/models')).statusCode, 200);
      assertError(await app.inject('/missing.js'), 404, /^There is nothing at GET \/missing\.js\.$/);
    } finally {
      await app.close();
    }
  });

  it('a relative folder is taken from the current directory', async () => {
    const app = await build({ staticDir: relative(process.cwd(), dir) });
    try {
      assert.match((await app.inject('/')).body, /<title>charrnn<\/title>/);
    } finally {
      await app.close();
    }
  });

  it('a folder that does not exist, or a file, is refused in one sentence', async () => {
    const missing = join(dir, 'no-such-folder');
    await assert.rejects(
      build({ staticDir: missing }),
      (e: unknown) => e instanceof CharrnnError && e.message === `The page folder ${missing} does not exist.`,
    );
    const file = join(dir, 'index.html');
    await assert.rejects(
      build({ staticDir: file }),
      (e: unknown) => e instanceof CharrnnError && e.message === `The page folder ${file} is a file, not a folder.`,
    );
  });

  it('without a folder, GET / says the page is not built and how to build it', async () => {
    const app = await build();
    try {
      const e = assertError(await app.inject('/'), 404);
      assert.equal(e.message, PAGE_NOT_BUILT);
      assert.match(e.message, /npm run build:web/);
      assertError(await app.inject('/index.html'), 404, /^There is nothing at GET \/index\.html\.$/);
    } finally {
      await app.close();
    }
  });
});
