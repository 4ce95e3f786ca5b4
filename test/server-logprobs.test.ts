// The server's per-character log-probabilities, in-process (fastify's inject):
// OpenAI's `logprobs` and `echo` on /v1/completions, `char_logprobs` and
// `score_prime` on /v1/generate. Every value is compared with the library's
// handle fed the same text a character at a time (`feed` and `predict`: one
// stream and the output layer in float64, not the trace the server uses), the
// top characters with a brute-force sort of that whole distribution, an echoed
// prompt's sum with `score`, and beam search's own log-probabilities; then the
// limits and every bad value, each a 400 with one sentence.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { CharRnnModel } from '../src/generate/char-rnn-model.js';
import { CharRNN } from '../src/model/charrnn.js';
import { loadKernels } from '../src/node/backend.js';
import { buildServer, type ServerOptions } from '../src/server/app.js';
import { charLogprobs, TRACE_CHUNK } from '../src/server/char-logprobs.js';
import { jsonInSlices, mapInSlices } from '../src/server/json-slices.js';
import { Pacer } from '../src/server/pacing.js';
import { requestPlan } from '../src/server/request-settings.js';
import { GenerationCancelled } from '../src/server/scheduler.js';
import type { ServedModel } from '../src/server/served-models.js';
import { GENERATE_NAMES } from '../src/server/schemas.js';
import { Vocabulary } from '../src/text/vocabulary.js';
import { assertErrorBody, serverFixtures, sseEvents, vocab, type ServerFixtures } from './server-fixtures.js';

let f: ServerFixtures;
/** A model whose vocabulary has é and a lone combining acute (NFC), and which writes the acute above all else. */
let accent: ServedModel;

before(async () => {
  f = await serverFixtures();
  const accentVocab = new Vocabulary(['\n', ' ', 'a', 'e', 'é', '\u0301'], 'nfc');
  const model = new CharRNN({ cell: 'lstm', layers: 1, hidden: 16, emb: 4, vocabSize: accentVocab.size, dropout: 0 }, await loadKernels(), {
    seed: 3,
  });
  model.params.get('out.bias')[accentVocab.id('\u0301')!] = 8;
  accent = { name: 'accent', model, vocab: accentVocab, line: null, created: 1_700_000_002 };
});

async function build(options: Partial<ServerOptions> = {}): Promise<FastifyInstance> {
  return buildServer({ models: [f.tiny, f.other, accent], ...options });
}

async function post<T>(app: FastifyInstance, url: string, body: unknown): Promise<{ status: number; body: T }> {
  const res = await app.inject({ method: 'POST', url, headers: { 'content-type': 'application/json' }, payload: JSON.stringify(body) });
  return { status: res.statusCode, body: String(res.headers['content-type'] ?? '').includes('json') ? res.json<T>() : (res.body as T) };
}

/** A 400 whose message is exactly `sentence`. */
async function refused(app: FastifyInstance, url: string, body: unknown, sentence: string): Promise<void> {
  const res = await post<unknown>(app, url, body);
  assert.equal(res.status, 400, `status ${res.status} for ${JSON.stringify(body)}: ${JSON.stringify(res.body)}`);
  assert.equal(assertErrorBody(res.body).message, sentence);
}

interface OpenAiLogprobs {
  tokens: string[];
  token_logprobs: (number | null)[];
  top_logprobs: (Record<string, number> | null)[];
  text_offset: number[];
}
interface Completion {
  choices: { text: string; index: number; logprobs: OpenAiLogprobs | null; finish_reason: string }[];
  usage: { prompt_tokens: number; completion_tokens: number };
}
interface WireCharLogprobs {
  chars: string[];
  logprobs: (number | null)[];
  top: ({ char: string; logprob: number }[] | null)[];
  prime_chars: number;
}
interface Generated {
  texts: string[];
  logprobs?: number[];
  char_logprobs: WireCharLogprobs[];
}

/** What the model gave each character, by the handle: fed `before`, then each character in turn, its distribution read before each. */
interface Reference {
  /** ln p of the character; null for a first character with nothing before it. */
  logprob: number | null;
  /** The whole distribution there, by id: [V]. */
  p: number[];
}

function reference(handle: CharRnnModel, before: string, chars: string[]): Reference[] {
  handle.reset();
  if (before) handle.feed(before);
  return chars.map((c, i) => {
    let r: Reference = { logprob: null, p: [] };
    if (i > 0 || before) {
      const ids = new Map(handle.chars.map((ch, id) => [ch, id]));
      const p = new Array<number>(handle.chars.length);
      for (const { char, p: q } of handle.predict()) p[ids.get(char)!] = q;
      r = { logprob: Math.log(p[ids.get(c)!]), p };
    }
    handle.feed(c);
    return r;
  });
}

/** The k most likely characters of a distribution by a brute-force sort of every id: most likely first, ties by the lower id. */
function bruteTop(chars: readonly string[], p: number[], k: number): { char: string; logprob: number }[] {
  return p
    .map((q, id) => ({ id, q }))
    .sort((a, b) => b.q - a.q || a.id - b.id)
    .slice(0, k)
    .map(({ id, q }) => ({ char: chars[id], logprob: Math.log(q) }));
}

const close = (actual: number | null, expected: number | null, what: string, tol = 1e-5) => {
  if (expected === null) return assert.equal(actual, null, `${what}: null`);
  assert.ok(actual !== null && Math.abs(actual - expected) <= tol, `${what}: ${actual} vs ${expected}`);
};

/** OpenAI's logprobs of one choice against the reference: tokens, token_logprobs, top_logprobs (the k most likely and the chosen one), offsets. */
function assertOpenAi(lp: OpenAiLogprobs, text: string, ref: Reference[], chars: readonly string[], k: number, firstOffset: number): void {
  assert.deepEqual(lp.tokens, Array.from(text));
  assert.equal(lp.tokens.join(''), text);
  assert.deepEqual(
    lp.text_offset,
    lp.tokens.map((_, i) => firstOffset + i),
  );
  assert.equal(lp.token_logprobs.length, ref.length);
  ref.forEach((r, i) => {
    close(lp.token_logprobs[i], r.logprob, `token ${i}`);
    const top = lp.top_logprobs[i];
    if (r.logprob === null) return assert.equal(top, null);
    const brute = bruteTop(chars, r.p, k);
    const expected = new Map(brute.map(b => [b.char, b.logprob]));
    if (!expected.has(lp.tokens[i])) expected.set(lp.tokens[i], r.logprob);
    assert.deepEqual(Object.keys(top!).sort(), [...expected.keys()].sort(), `top_logprobs ${i}`);
    for (const [c, l] of expected) close(top![c], l, `top_logprobs ${i} ${JSON.stringify(c)}`);
  });
}

/** /v1/generate's char_logprobs of one text against the reference: the top list is the brute-force one, in its order. */
function assertWire(c: WireCharLogprobs, text: string, ref: Reference[], chars: readonly string[], k: number): void {
  assert.equal(c.chars.join(''), text);
  ref.forEach((r, i) => {
    close(c.logprobs[i], r.logprob, `char ${i}`);
    if (r.logprob === null) return assert.equal(c.top[i], null);
    const brute = bruteTop(chars, r.p, k);
    assert.deepEqual(
      c.top[i]!.map(t => t.char),
      brute.map(b => b.char),
    );
    c.top[i]!.forEach((t, j) => close(t.logprob, brute[j].logprob, `top ${i}.${j}`));
  });
}

describe('server log-probabilities', () => {
  let app: FastifyInstance;
  before(async () => {
    app = await build();
  });
  after(async () => app.close());

  it("completions' logprobs are the model's: each generated character's ln p after the prompt, the top ones by a brute-force sort", async () => {
    const asked = { model: 'tiny', prompt: 'the ', max_tokens: 30, n: 2, seed: 4, temperature: 0.7, logprobs: 3 };
    const { status, body } = await post<Completion>(app, '/v1/completions', asked);
    assert.equal(status, 200);
    // Sampling at temperature 0.7 gives the library's texts; the log-probabilities are the model's own (temperature 1).
    const texts = await f.alone({ prime: 'the ', length: 30, seed: 4, temperature: 0.7, count: 2 });
    assert.deepEqual(
      body.choices.map(c => c.text),
      texts,
    );
    body.choices.forEach((c, i) => {
      const ref = reference(f.handle, 'the ', Array.from(texts[i]));
      assertOpenAi(c.logprobs!, texts[i], ref, vocab.chars, 3, 4);
    });
    // logprobs: 0 lists no alternatives: each top_logprobs holds the chosen character alone.
    const zero = await post<Completion>(app, '/v1/completions', { ...asked, n: 1, logprobs: 0 });
    const lp = zero.body.choices[0].logprobs!;
    lp.top_logprobs.forEach((top, i) => assert.deepEqual(top, { [lp.tokens[i]]: lp.token_logprobs[i] }));
  });

  it('without a prompt the text starts from a newline, which predicts its first character; a stop string is not a token', async () => {
    const { body } = await post<Completion>(app, '/v1/completions', { model: 'tiny', max_tokens: 40, seed: 2, logprobs: 2, stop: [' '] });
    const [text] = await f.alone({ length: 40, seed: 2, stop: [' '] });
    assert.equal(body.choices[0].text, text);
    assertOpenAi(body.choices[0].logprobs!, text, reference(f.handle, '\n', Array.from(text)), vocab.chars, 2, 0);
    assert.notEqual(body.choices[0].logprobs!.token_logprobs[0], null);
  });

  it('echo with max_tokens 0 scores a text: the first token null, the rest summing to what score gives', async () => {
    const prompt = 'the cat sat on the mat.\nthe dog sat';
    const { body } = await post<Completion>(app, '/v1/completions', { model: 'tiny', prompt, max_tokens: 0, echo: true, logprobs: 1 });
    const c = body.choices[0];
    assert.equal(c.text, prompt);
    assert.equal(c.finish_reason, 'length');
    assert.deepEqual(body.usage, { prompt_tokens: prompt.length, completion_tokens: 0, total_tokens: prompt.length });
    assertOpenAi(c.logprobs!, prompt, reference(f.handle, '', Array.from(prompt)), vocab.chars, 1, 0);
    assert.equal(c.logprobs!.token_logprobs[0], null);
    const score = f.handle.score(prompt);
    const sum = c.logprobs!.token_logprobs.reduce<number>((s, l) => s + (l ?? 0), 0);
    assert.ok(Math.abs(sum + score.natsPerChar * score.chars) < 1e-4, `${sum} vs ${-score.natsPerChar * score.chars}`);
    // echo with a completion: the prompt, then the completion, every character scored from the start.
    const both = await post<Completion>(app, '/v1/completions', {
      model: 'tiny',
      prompt: 'the ',
      max_tokens: 20,
      seed: 8,
      echo: true,
      logprobs: 4,
    });
    const [text] = await f.alone({ prime: 'the ', length: 20, seed: 8 });
    assert.equal(both.body.choices[0].text, `the ${text}`);
    assertOpenAi(both.body.choices[0].logprobs!, `the ${text}`, reference(f.handle, '', Array.from(`the ${text}`)), vocab.chars, 4, 0);
  });

  it('echo without logprobs returns the prompt before the completion, streamed as its first chunk', async () => {
    const plain = await post<Completion>(app, '/v1/completions', { model: 'tiny', prompt: 'the ', max_tokens: 10, seed: 3, echo: true });
    const [text] = await f.alone({ prime: 'the ', length: 10, seed: 3 });
    assert.deepEqual(
      plain.body.choices.map(c => [c.text, c.logprobs]),
      [[`the ${text}`, null]],
    );
    const streamed = await post<string>(app, '/v1/completions', {
      model: 'tiny',
      prompt: 'the ',
      max_tokens: 10,
      seed: 3,
      n: 2,
      echo: true,
      stream: true,
    });
    const chunks = sseEvents(streamed.body)
      .slice(0, -1)
      .map(e => JSON.parse(e) as { choices: { index: number; text: string }[] });
    assert.deepEqual(
      chunks[0].choices.map(c => [c.index, c.text]),
      [
        [0, 'the '],
        [1, 'the '],
      ],
    );
    const texts = ['', ''];
    for (const c of chunks) for (const ch of c.choices) texts[ch.index] += ch.text;
    assert.deepEqual(
      texts,
      (await f.alone({ prime: 'the ', length: 10, seed: 3, count: 2 })).map(t => `the ${t}`),
    );
  });

  it('the prompt is scored as the model read it (its normalisation form), and the text is never normalised again', async () => {
    const handle = new CharRnnModel(accent.model, accent.vocab);
    // Typed decomposed, read composed: echo gives the model's form, one token per character read.
    const nfd = await post<Completion>(app, '/v1/completions', {
      model: 'accent',
      prompt: 'ae\u0301',
      max_tokens: 3,
      temperature: 0,
      echo: true,
      logprobs: 2,
    });
    const c = nfd.body.choices[0];
    assert.equal(c.text, 'aé\u0301\u0301\u0301');
    assertOpenAi(c.logprobs!, c.text, reference(handle, '', Array.from(c.text)), accent.vocab.chars, 2, 0);
    // 'e' then the acute the model writes: NFC would join them into é, but the tokens are what was read and written.
    const joined = await post<Completion>(app, '/v1/completions', {
      model: 'accent',
      prompt: 'e',
      max_tokens: 2,
      temperature: 0,
      echo: true,
      logprobs: 1,
    });
    const j = joined.body.choices[0];
    assert.equal(j.text, 'e\u0301\u0301');
    assert.deepEqual(j.logprobs!.tokens, ['e', '\u0301', '\u0301']);
    assertOpenAi(j.logprobs!, j.text, reference(handle, '', ['e', '\u0301', '\u0301']), accent.vocab.chars, 1, 0);
  });

  it("a line model's lines are scored from its end-of-line: the prompt's first character too; the end-of-line is not a token", async () => {
    const handle = new CharRnnModel(f.other.model, vocab, f.other.line);
    const lines = (await handle.generate({ prime: 'the ', maxLength: 20, seed: 2, count: 3 })).texts;
    const echoed = await post<Completion>(app, '/v1/completions', {
      model: 'other',
      prompt: 'the ',
      max_tokens: 20,
      seed: 2,
      n: 3,
      echo: true,
      logprobs: 3,
    });
    const plainHandle = new CharRnnModel(f.other.model, vocab);
    echoed.body.choices.forEach((c, i) => {
      assert.equal(c.text, `the ${lines[i]}`);
      assert.ok(!c.logprobs!.tokens.includes('\n'));
      assertOpenAi(c.logprobs!, c.text, reference(plainHandle, '\n', Array.from(c.text)), vocab.chars, 3, 0);
      assert.notEqual(c.logprobs!.token_logprobs[0], null);
    });
    const plain = await post<Completion>(app, '/v1/completions', {
      model: 'other',
      prompt: 'the ',
      max_tokens: 20,
      seed: 2,
      n: 3,
      logprobs: 3,
    });
    plain.body.choices.forEach((c, i) => {
      assert.equal(c.text, lines[i]);
      assertOpenAi(c.logprobs!, c.text, reference(plainHandle, '\nthe ', Array.from(c.text)), vocab.chars, 3, 4);
    });
    // /v1/generate the same way.
    const gen = await post<Generated>(app, '/v1/generate', {
      model: 'other',
      prime: 'the ',
      max_length: 20,
      seed: 2,
      count: 3,
      char_logprobs: 3,
      score_prime: true,
    });
    gen.body.char_logprobs.forEach((c, i) => {
      assert.equal(c.prime_chars, 4);
      assertWire(c, `the ${lines[i]}`, reference(plainHandle, '\n', Array.from(`the ${lines[i]}`)), vocab.chars, 3);
    });
  });

  it('/v1/generate: char_logprobs per text, the prime with score_prime; beam texts sum to their beam log-probabilities', async () => {
    const asked = { model: 'tiny', prime: 'the ', length: 25, seed: 6, count: 2, top_k: 5, char_logprobs: 4 };
    const { body } = await post<Generated>(app, '/v1/generate', asked);
    const texts = await f.alone({ prime: 'the ', length: 25, seed: 6, count: 2, topK: 5 });
    assert.deepEqual(body.texts, texts);
    body.char_logprobs.forEach((c, i) => {
      assert.equal(c.prime_chars, 0);
      assertWire(c, texts[i], reference(f.handle, 'the ', Array.from(texts[i])), vocab.chars, 4);
    });
    const withPrime = await post<Generated>(app, '/v1/generate', { ...asked, score_prime: true });
    withPrime.body.char_logprobs.forEach((c, i) => {
      assert.equal(c.prime_chars, 4);
      assertWire(c, `the ${texts[i]}`, reference(f.handle, '', Array.from(`the ${texts[i]}`)), vocab.chars, 4);
    });
    // Streamed: the pieces as usual, the log-probabilities in the last event, as the JSON answer has them.
    const streamed = await post<string>(app, '/v1/generate', { ...asked, stream: true });
    const last = JSON.parse(sseEvents(streamed.body).at(-2)!) as { char_logprobs: WireCharLogprobs[] };
    assert.deepEqual(last.char_logprobs, body.char_logprobs);
    // Beam search's own log-probability of each text is the sum of its characters'.
    const beam = await post<Generated>(app, '/v1/generate', { model: 'tiny', prime: 'the', length: 12, beam: 3, char_logprobs: 0 });
    assert.equal(beam.body.char_logprobs.length, 3);
    beam.body.char_logprobs.forEach((c, i) => {
      assert.deepEqual(c.top, new Array(12).fill([]));
      const sum = c.logprobs.reduce<number>((s, l) => s + l!, 0);
      assert.ok(Math.abs(sum - beam.body.logprobs![i]) < 1e-4, `${sum} vs ${beam.body.logprobs![i]}`);
    });
  });

  it('a k past the vocabulary lists every character: the whole distribution, summing to 1', async () => {
    const wide = await build({ limits: { maxLogprobs: 100 } });
    try {
      const { body } = await post<Generated>(wide, '/v1/generate', { model: 'tiny', prime: 'the', length: 3, char_logprobs: 100 });
      for (const top of body.char_logprobs[0].top) {
        assert.equal(top!.length, vocab.size);
        assert.ok(Math.abs(top!.reduce((s, t) => s + Math.exp(t.logprob), 0) - 1) < 1e-9);
      }
    } finally {
      await wide.close();
    }
  });

  it('the trace yields between chunks, waits while others generate (they keep half the thread), and stops when its client has gone', async () => {
    const plan = requestPlan(f.tiny, { prime: 'the ', length: 0 }, GENERATE_NAMES, '');
    const result = {
      texts: ['the cat sat on the mat. '.repeat(100)],
      finishReasons: ['length' as const],
      usage: { promptChars: 4, generatedChars: 0 },
    };
    /** Turns of the event loop while the trace runs (a setImmediate that schedules itself), and the characters scored. */
    const turnsWhileTracing = async (busy: boolean): Promise<{ turns: number; scored: number }> => {
      let turns = 0,
        tracing = true;
      const turn = () => {
        turns++;
        if (tracing) setImmediate(turn);
      };
      setImmediate(turn);
      const scored = await charLogprobs(f.tiny, plan, result, { k: 2, prime: false }, new AbortController().signal, new Pacer(() => busy));
      tracing = false;
      return { turns, scored: scored[0].chars.length };
    };
    const alone = await turnsWhileTracing(false);
    assert.equal(alone.scored, 2400);
    // 2404 characters in chunks of TRACE_CHUNK: the event loop turned between every two.
    const chunks = Math.ceil(2404 / TRACE_CHUNK);
    assert.ok(alone.turns >= chunks - 1, `${alone.turns} turns of the event loop while tracing ${chunks} chunks`);
    // With requests generating, the trace waits after each chunk as long as it took: the loop turns many times per chunk.
    const beside = await turnsWhileTracing(true);
    assert.equal(beside.scored, 2400);
    assert.ok(beside.turns > 3 * alone.turns, `${beside.turns} turns beside generation, ${alone.turns} alone`);
    const gone = new AbortController();
    gone.abort();
    await assert.rejects(charLogprobs(f.tiny, plan, result, { k: 2, prime: false }, gone.signal), GenerationCancelled);
  });

  it("a long answer's JSON made in slices is JSON.stringify's, and the event loop turns while it is made", async () => {
    const long = Array.from({ length: 10_000 }, (_, i) => ({
      c: String.fromCharCode(32 + (i % 90)),
      l: i % 7 === 0 ? NaN : -i / 3,
      t: i % 5 ? null : [{ a: 1 }],
    }));
    const value = {
      a: 'x"\n\u2028',
      b: [1, undefined, -Infinity],
      c: undefined,
      d: { long, empty: [], nested: [[long.slice(0, 3)]] },
      e: null,
      f: true,
    };
    let turns = 0,
      making = true;
    const turn = () => {
      turns++;
      if (making) setImmediate(turn);
    };
    setImmediate(turn);
    const json = await jsonInSlices(value);
    making = false;
    assert.equal(json, JSON.stringify(value));
    assert.ok(turns >= 4, `${turns} turns while making 10000 items`);
    assert.deepEqual(
      await mapInSlices(long, (x, i) => `${i}${x.c}`),
      long.map((x, i) => `${i}${x.c}`),
    );
  });

  it('the limits: k past --max-logprobs, a trace past --max-trace-length (judged before generating), each one sentence', async () => {
    const limited = await build({ limits: { maxLogprobs: 3, maxTraceLength: 50 } });
    try {
      await refused(
        limited,
        '/v1/completions',
        { model: 'tiny', logprobs: 4 },
        "logprobs must be a whole number from 0 to 3 (this server's --max-logprobs), not 4.",
      );
      await refused(
        limited,
        '/v1/generate',
        { model: 'tiny', char_logprobs: 4 },
        "char_logprobs must be a whole number from 0 to 3 (this server's --max-logprobs), not 4.",
      );
      // 'the ' and 46 characters: 50 traced, the limit.
      assert.equal((await post(limited, '/v1/completions', { model: 'tiny', prompt: 'the ', max_tokens: 46, logprobs: 3 })).status, 200);
      await refused(
        limited,
        '/v1/completions',
        { model: 'tiny', prompt: 'the ', max_tokens: 47, logprobs: 3 },
        'logprobs would trace up to 51 characters (1 text, each its prompt and up to 47 characters), more than the 50 this server traces per request (--max-trace-length).',
      );
      await refused(
        limited,
        '/v1/completions',
        { model: 'tiny', prompt: 'the ', max_tokens: 22, n: 2, echo: true, logprobs: 0 },
        'logprobs would trace up to 52 characters (2 texts, each its prompt and up to 22 characters), more than the 50 this server traces per request (--max-trace-length).',
      );
      // Without a prompt, the newline the text starts from counts; a line model's end-of-line too.
      await refused(
        limited,
        '/v1/generate',
        { model: 'tiny', length: 50, char_logprobs: 1 },
        'char_logprobs would trace up to 51 characters (1 text, each its prime and up to 50 characters), more than the 50 this server traces per request (--max-trace-length).',
      );
      await refused(
        limited,
        '/v1/generate',
        { model: 'other', prime: 'a', max_length: 24, count: 2, char_logprobs: 1 },
        'char_logprobs would trace up to 52 characters (2 texts, each its prime and up to 24 characters), more than the 50 this server traces per request (--max-trace-length).',
      );
      await refused(
        limited,
        '/v1/generate',
        { model: 'tiny', prime: 'the', length: 10, beam: 4, char_logprobs: 1 },
        'char_logprobs would trace up to 52 characters (4 texts, each its prime and up to 10 characters), more than the 50 this server traces per request (--max-trace-length).',
      );
      // Nothing traced, nothing limited.
      assert.equal((await post(limited, '/v1/completions', { model: 'tiny', prompt: 'the ', max_tokens: 200 })).status, 200);
      assert.deepEqual((await limited.inject('/healthz')).json(), { status: 'ok', models: 3, in_flight: 0, queued: 0, streams: 0 });
    } finally {
      await limited.close();
    }
  });

  it('bad values and conflicts: one sentence each', async () => {
    const lp = "a whole number from 0 to 20 (this server's --max-logprobs)";
    for (const [value, shown] of [
      ['2', '"2"'],
      [1.5, '1.5'],
      [-1, '-1'],
      [true, 'true'],
      [null, 'null'],
      [[1], 'a list'],
    ] as const) {
      await refused(app, '/v1/completions', { model: 'tiny', logprobs: value }, `logprobs must be ${lp}, not ${shown}.`);
      await refused(app, '/v1/generate', { model: 'tiny', char_logprobs: value }, `char_logprobs must be ${lp}, not ${shown}.`);
    }
    await refused(app, '/v1/completions', { model: 'tiny', echo: 'yes' }, 'echo must be true or false, not "yes".');
    await refused(app, '/v1/generate', { model: 'tiny', score_prime: 1 }, 'score_prime must be true or false, not 1.');
    await refused(
      app,
      '/v1/completions',
      { model: 'tiny', logprobs: 1, stream: true },
      'logprobs cannot go with stream: true, since they are worked out once a text is whole; ask for them without stream.',
    );
    await refused(
      app,
      '/v1/generate',
      { model: 'tiny', score_prime: true },
      "score_prime scores the prime's characters in char_logprobs, so it needs char_logprobs.",
    );
  });

  it('GET /openapi.json documents the new fields and stays OpenAPI 3.0 (null by nullable, every type one name)', async () => {
    const doc = (await app.inject('/openapi.json')).json<{
      openapi: string;
      paths: Record<
        string,
        { post: { requestBody: { content: { 'application/json': { schema: { properties: Record<string, unknown> } } } } } }
      >;
    }>();
    assert.match(doc.openapi, /^3\.0\./);
    const fields = (path: string) => Object.keys(doc.paths[path].post.requestBody.content['application/json'].schema.properties);
    assert.ok(['logprobs', 'echo'].every(k => fields('/v1/completions').includes(k)));
    assert.ok(['char_logprobs', 'score_prime'].every(k => fields('/v1/generate').includes(k)));
    // Every schema's type is one name (a property called "type" holds a schema object, not a type).
    const types: unknown[] = [];
    JSON.stringify(doc, (key, value: unknown) => {
      if (key === 'type' && (typeof value !== 'object' || Array.isArray(value))) types.push(value);
      return value;
    });
    assert.ok(types.length > 50);
    for (const t of types) assert.equal(typeof t, 'string', `a type that is not one name: ${JSON.stringify(t)}`);
    assert.match(
      JSON.stringify(doc.paths['/v1/completions']),
      /"token_logprobs":\{"type":"array","items":\{"type":"number","nullable":true\}\}/,
    );
  });
});
