// The server over real HTTP on 127.0.0.1, for what only a socket shows: SSE
// pieces arriving while the text is still being generated, a client that
// disconnects stopping its generation, a client reading slower than the model
// writes, and the official openai client. Everything else is tested in-process
// in test/server.test.ts.
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import OpenAI from 'openai';
import type { FastifyInstance } from 'fastify';
import { buildServer, type ServerOptions } from '../../src/server/app.js';
import { serverFixtures, sseEvents, type ServerFixtures } from '../server-fixtures.js';

let f: ServerFixtures;
before(async () => {
  f = await serverFixtures();
});

async function start(options: Partial<ServerOptions> = {}): Promise<{ app: FastifyInstance; url: string }> {
  const app = await buildServer({ models: [f.tiny, f.other], ...options });
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  return { app, url };
}

async function post(url: string, body: unknown, init: RequestInit = {}): Promise<Response> {
  return fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), ...init });
}

type Health = { in_flight: number; queued: number; streams: number };
async function health(url: string): Promise<Health> {
  return (await fetch(`${url}/healthz`)).json() as Promise<Health>;
}

/** Polls /healthz until `ready` holds (a few seconds at most): waits on the server's state, not on time. */
async function waitForHealth(url: string, ready: (h: Health) => boolean): Promise<void> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const h = await health(url);
    if (ready(h)) return;
    assert.ok(Date.now() < deadline, `the server never reached the awaited state: ${JSON.stringify(h)}`);
    await new Promise(resolve => setTimeout(resolve, 10));
  }
}

describe('charrnn server over a socket', () => {
  let app: FastifyInstance;
  let url: string;
  before(async () => ({ app, url } = await start({ limits: { maxLength: 5_000_000 } })));
  after(async () => {
    app.charrnn.schedulers.forEach(s => s.cancelAll());
    await app.close();
  });

  it('stream: true sends its pieces as they are generated, and they make the text the library generates', async () => {
    const res = await post(`${url}/v1/generate`, { model: 'tiny', prime: 'the ', length: 80, seed: 9, count: 2, stream: true });
    assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
    const events = sseEvents(await res.text());
    assert.equal(events.at(-1), '[DONE]');
    const texts = ['', ''];
    for (const e of events.slice(0, -2)) {
      const p = JSON.parse(e) as { index: number; text: string };
      texts[p.index] += p.text;
    }
    assert.deepEqual(texts, await f.alone({ prime: 'the ', length: 80, seed: 9, count: 2 }));
  });

  it('a client that disconnects mid-stream stops its generation: it had pieces while generating, then leaves the batch and its place is freed', async () => {
    const res = await post(`${url}/v1/generate`, { model: 'tiny', length: 5_000_000, stream: true });
    const reader = res.body!.getReader();
    const first = await reader.read();
    assert.match(new TextDecoder().decode(first.value), /^data: \{"index":0,"text":/);
    // The piece came while the generation goes on: streamed, not sent at the end.
    assert.deepEqual({ ...(await health(url)) }, { status: 'ok', models: 2, in_flight: 1, queued: 0, streams: 1 });
    await reader.cancel(); // closes the connection
    // 5,000,000 characters take minutes: being done within seconds means it was stopped.
    await waitForHealth(url, h => h.in_flight === 0 && h.streams === 0);
    // The same for a request waiting for its JSON answer, beside one that goes on.
    const gone = new AbortController();
    void post(`${url}/v1/generate`, { model: 'tiny', length: 5_000_000 }).catch(() => null);
    const waiting = post(`${url}/v1/generate`, { model: 'tiny', length: 5_000_000, seed: 3 }, { signal: gone.signal }).catch(() => null);
    await waitForHealth(url, h => h.in_flight === 2);
    gone.abort();
    await waiting;
    await waitForHealth(url, h => h.in_flight === 1);
    app.charrnn.schedulers.forEach(s => s.cancelAll());
  });

  it('a client reading slower than the model writes gets the same text, its pieces joined into fewer events', async () => {
    // 16 texts of 30,000 characters: some 15 MB of events, more than the sockets' buffers hold on localhost.
    const body = JSON.stringify({ model: 'tiny', prime: 'the ', length: 30_000, count: 16, seed: 11, stream: true });
    const text = await new Promise<string>((resolve, reject) => {
      const req = request(`${url}/v1/generate`, { method: 'POST', headers: { 'content-type': 'application/json' } }, res => {
        // Not read until the generation is over: the sockets fill and the server holds the pieces.
        res.pause();
        const read = () => {
          res.setEncoding('utf8');
          let all = '';
          res.on('data', (d: string) => {
            all += d;
          });
          res.on('end', () => resolve(all));
          res.resume();
        };
        const poll = async (): Promise<void> => {
          if ((await health(url)).in_flight === 0) read();
          else setTimeout(() => void poll().catch(reject), 50);
        };
        setTimeout(() => void poll().catch(reject), 50);
      });
      req.on('error', reject);
      req.end(body);
    });
    const pieces = sseEvents(text)
      .slice(0, -2)
      .map(e => JSON.parse(e) as { index: number; text: string });
    // Unjoined, every step would be an event per text (no stop strings): 480,000 of them.
    assert.ok(pieces.length < 16 * 30_000, `${pieces.length} events for 480000 characters: pieces were joined`);
    const texts = new Array<string>(16).fill('');
    for (const p of pieces) texts[p.index] += p.text;
    assert.deepEqual(texts, await f.alone({ prime: 'the ', length: 30_000, count: 16, seed: 11 }));
  });

  it('the official openai client: completions plain and streamed, and its error classes from our bodies', async () => {
    const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'dummy' });
    const c = await client.completions.create({
      model: 'tiny',
      prompt: 'the ',
      max_tokens: 40,
      n: 2,
      seed: 4,
      temperature: 0.9,
      top_p: 0.95,
    });
    assert.equal(c.object, 'text_completion');
    assert.equal(c.model, 'tiny');
    assert.deepEqual(
      c.choices.map(ch => ch.text),
      await f.alone({ prime: 'the ', length: 40, seed: 4, temperature: 0.9, topP: 0.95, count: 2 }),
    );
    assert.deepEqual(
      c.choices.map(ch => [ch.index, ch.finish_reason]),
      [
        [0, 'length'],
        [1, 'length'],
      ],
    );
    assert.deepEqual(c.usage, { prompt_tokens: 4, completion_tokens: 80, total_tokens: 84 });
    // Streamed: chunks in OpenAI's shape, the pieces make the text, finish_reason at the end, usage when asked.
    const stream = await client.completions.create({
      model: 'tiny',
      prompt: 'the ',
      max_tokens: 50,
      seed: 6,
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '',
      finish: string | null = null,
      usage: unknown = null,
      chunks = 0;
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
    assert.equal(text, (await f.alone({ prime: 'the ', length: 50, seed: 6 }))[0]);
    assert.equal(finish, 'length');
    assert.deepEqual(usage, { prompt_tokens: 4, completion_tokens: 50, total_tokens: 54 });
    await assert.rejects(
      client.completions.create({ model: 'nope', prompt: 'x' }),
      (e: unknown) => e instanceof OpenAI.NotFoundError && /no model 'nope'/.test(e.message),
    );
    await assert.rejects(
      client.completions.create({ model: 'tiny', prompt: 'x', max_tokens: 1e9 }),
      (e: unknown) => e instanceof OpenAI.BadRequestError && /max_tokens must be/.test(e.message),
    );
  });

  it('the official openai client scores a text: max_tokens 0, echo and logprobs give what score gives', async () => {
    const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'dummy' });
    const prompt = 'the cat sat on the mat.\nROMEO: a rose';
    const c = await client.completions.create({ model: 'tiny', prompt, max_tokens: 0, echo: true, logprobs: 1 });
    const choice = c.choices[0];
    assert.equal(choice.text, prompt);
    const lp = choice.logprobs!;
    assert.deepEqual(lp.tokens, Array.from(prompt));
    assert.deepEqual(
      lp.text_offset,
      Array.from(prompt, (_, i) => i),
    );
    // OpenAI's shape: the first token has nothing before it (null); every other lists the most likely token and the chosen one.
    assert.equal(lp.token_logprobs![0], null);
    assert.equal(lp.top_logprobs![0], null);
    for (const top of lp.top_logprobs!.slice(1)) assert.ok([1, 2].includes(Object.keys(top).length));
    const score = f.handle.score(prompt);
    const sum = lp.token_logprobs!.slice(1).reduce((s, l) => s + l, 0);
    assert.ok(Math.abs(sum + score.natsPerChar * score.chars) < 1e-4, `${sum} vs ${-score.natsPerChar * score.chars}`);
    assert.equal(score.chars, prompt.length - 1);
    // Past the server's limit on k, the client's BadRequestError with the sentence naming the flag.
    await assert.rejects(
      client.completions.create({ model: 'tiny', prompt, max_tokens: 0, echo: true, logprobs: 21 }),
      (e: unknown) => e instanceof OpenAI.BadRequestError && /--max-logprobs/.test(e.message),
    );
  });

  it('the official openai client with a token: its apiKey is the bearer token; a wrong one is its AuthenticationError', async () => {
    const secured = await start({ token: 's3cret' });
    try {
      const client = new OpenAI({ baseURL: `${secured.url}/v1`, apiKey: 's3cret' });
      assert.equal((await client.completions.create({ model: 'tiny', prompt: 'a', max_tokens: 5 })).choices[0].text.length, 5);
      await assert.rejects(
        new OpenAI({ baseURL: `${secured.url}/v1`, apiKey: 'dummy' }).completions.create({ model: 'tiny', prompt: 'a' }),
        (e: unknown) => e instanceof OpenAI.AuthenticationError && /not the one this server was started with/.test(e.message),
      );
    } finally {
      await secured.app.close();
    }
  });

  it('closing drains: the request in flight gets its whole answer, and its kept-alive connection does not hold the close', async () => {
    const draining = await start({ limits: { maxLength: 1_000_000 } });
    const inFlight = post(`${draining.url}/v1/generate`, { model: 'tiny', length: 20_000, seed: 2 });
    await waitForHealth(draining.url, h => h.in_flight === 1);
    const closed = draining.app.close();
    const res = await inFlight;
    assert.equal(res.status, 200);
    assert.equal(((await res.json()) as { text: string }).text, (await f.alone({ length: 20_000, seed: 2 }))[0]);
    const answered = Date.now();
    await closed;
    // fastify keeps an idle connection alive 72 s for its client: the close did not wait for it.
    assert.ok(Date.now() - answered < 10_000, `closed ${Date.now() - answered} ms after the last answer`);
    await assert.rejects(fetch(`${draining.url}/healthz`));
  });
});
