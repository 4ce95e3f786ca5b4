// `charrnn serve` as the CLI calls it (the serve function, in-process): it
// binds 127.0.0.1 on a port the system chooses, names the models, takes a
// token, serves the page, and says each startup mistake in one sentence
// before listening. Signals, exit codes and the environment variable are the
// spawned process's (test/e2e/serve-cli.test.ts).
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { CharrnnError } from '../src/errors.js';
import { referenceKernels } from '../src/kernels/reference/index.js';
import { CharRNN } from '../src/model/charrnn.js';
import { lineModelMetadata } from '../src/model/line-model.js';
import { encodeModel } from '../src/model/model-file.js';
import { PAGE_NOT_BUILT } from '../src/server/plugins/page.js';
import { builtPage, DEFAULT_STATIC_DIR, serve, type ServeOptions } from '../src/server/serve-models.js';
import { Vocabulary } from '../src/text/vocabulary.js';

let dir: string;
let model: string;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'charrnn-serve-'));
  const vocab = Vocabulary.fromText('abc def\n');
  const m = new CharRNN({ cell: 'lstm', layers: 1, hidden: 16, emb: 4, vocabSize: vocab.size, dropout: 0 }, referenceKernels('f32'), {
    seed: 1,
  });
  model = join(dir, 'abc.safetensors');
  writeFileSync(model, encodeModel(m, vocab));
  writeFileSync(join(dir, 'lines.safetensors'), encodeModel(m, vocab, lineModelMetadata('\n', ['abc def', 'def abc'])));
  writeFileSync(join(dir, 'not-a-model.safetensors'), 'hello');
  writeFileSync(join(dir, 'index.html'), '<!doctype html><title>page</title>');
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** serve() as the CLI calls it, on a port the system chooses; the lines it logs are kept. */
async function started(options: Partial<ServeOptions>): Promise<{ app: FastifyInstance; log: string[] }> {
  const log: string[] = [];
  const app = await serve({
    models: [model],
    port: 0,
    host: '127.0.0.1',
    batching: true,
    backend: 'reference',
    log: line => log.push(line),
    ...options,
  });
  return { app, log };
}

/** Runs `check` on a started server, and closes it whatever happens. */
async function withServer(options: Partial<ServeOptions>, check: (app: FastifyInstance, log: string[]) => Promise<void>): Promise<void> {
  const { app, log } = await started(options);
  try {
    await check(app, log);
  } finally {
    await app.close();
  }
}

const refusal = (says: RegExp) => (e: unknown) => e instanceof CharrnnError && says.test(e.message);

describe('charrnn serve', () => {
  it('binds 127.0.0.1, says where, names models by file stem or --name, and takes its signal handlers away when closed', async () => {
    const signalHandlers = process.listenerCount('SIGTERM');
    await withServer({ models: [model, model], names: ['first'] }, async (app, log) => {
      const address = app.server.address();
      assert.ok(address !== null && typeof address === 'object');
      assert.equal(address.address, '127.0.0.1');
      assert.deepEqual(log, [`charrnn: serving first, abc at http://127.0.0.1:${address.port}`]);
      const models = (await app.inject('/v1/models')).json<{ data: { id: string }[] }>();
      assert.deepEqual(
        models.data.map(m => m.id),
        ['first', 'abc'],
      );
      assert.equal(process.listenerCount('SIGTERM'), signalHandlers + 1);
    });
    assert.equal(process.listenerCount('SIGTERM'), signalHandlers);
  });

  it('a model trained on lines is a line model: /v1/models says so and its texts end at the end of the line', async () => {
    await withServer({ models: [model, join(dir, 'lines.safetensors')], batching: false }, async (app, log) => {
      assert.match(log[0], /\(batching off\)$/);
      const models = (await app.inject('/v1/models')).json<{ data: { id: string; line_model: boolean }[] }>();
      assert.deepEqual(
        models.data.map(m => [m.id, m.line_model]),
        [
          ['abc', false],
          ['lines', true],
        ],
      );
      const r = (await app.inject({ method: 'POST', url: '/v1/generate', payload: { model: 'lines', max_length: 2000, count: 8 } })).json<{
        texts: string[];
        finish_reasons: string[];
        usage: { prompt_chars: number };
      }>();
      for (const t of r.texts) assert.ok(!t.includes('\n'));
      assert.equal(r.usage.prompt_chars, 1, 'the end-of-line the line starts from');
      assert.ok(r.finish_reasons.includes('stop'), 'some line ended at its end-of-line');
    });
  });

  it('--token: /v1 needs it', async () => {
    await withServer({ token: 'tok' }, async app => {
      assert.equal((await app.inject('/v1/models')).statusCode, 401);
      assert.equal((await app.inject({ url: '/v1/models', headers: { authorization: 'Bearer tok' } })).statusCode, 200);
    });
  });

  for (const [what, models, names, says] of [
    ['a missing file', ['missing.safetensors'], [], /missing\.safetensors/],
    ['a file that is not a model', ['not-a-model.safetensors'], [], /not-a-model\.safetensors/],
    ['two models of one name', ['abc.safetensors', 'abc.safetensors'], [], /^Two models are named 'abc'; name them apart with --name\.$/],
    ['a bad name', ['abc.safetensors'], ['../x'], /^The model name '\.\.\/x' is not usable/],
    ['more names than models', ['abc.safetensors'], ['a', 'b'], /^There are 2 --name flags for 1 model files\.$/],
  ] as const) {
    it(`refuses ${what} in one sentence`, async () => {
      await assert.rejects(started({ models: models.map(m => join(dir, m)), names: [...names] }), refusal(says));
    });
  }

  it('a port in use, or past 65535, is one sentence', async () => {
    await withServer({}, async app => {
      const port = (app.server.address() as { port: number }).port;
      await assert.rejects(
        started({ port }),
        refusal(new RegExp(`^Port ${port} on 127\\.0\\.0\\.1 is in use; choose another with --port\\.$`)),
      );
    });
    await assert.rejects(started({ port: 65536 }), refusal(/^--port must be from 0 to 65535, not 65536\.$/));
  });
});

describe('charrnn serve --static', () => {
  it('a relative folder is taken from the current directory, and served with the cross-origin isolation headers', async () => {
    await withServer({ staticDir: relative(process.cwd(), dir) }, async app => {
      const page = await app.inject('/');
      assert.equal(page.statusCode, 200);
      assert.match(page.body, /<title>page<\/title>/);
      assert.equal(page.headers['cross-origin-opener-policy'], 'same-origin');
      assert.equal(page.headers['cross-origin-embedder-policy'], 'require-corp');
    });
  });

  it('a folder that does not exist, or a file, is refused in one sentence before the models load', async () => {
    const missing = join(dir, 'no-such-folder');
    // The model list is empty: were the models loaded first, the sentence would be about them.
    await assert.rejects(started({ models: [], staticDir: missing }), refusal(new RegExp(`^--static ${missing} does not exist\\.$`)));
    await assert.rejects(started({ models: [], staticDir: model }), refusal(new RegExp(`^--static ${model} is a file, not a folder\\.$`)));
    await assert.rejects(started({ models: [], staticDir: 'no-such-folder' }), refusal(/^--static no-such-folder does not exist\.$/));
  });

  it("without --static, the package's page build when it exists (web/dist), else GET / says how to build it", async () => {
    assert.equal(builtPage(dir), dir);
    assert.equal(builtPage(join(dir, 'no-such-folder')), undefined);
    assert.equal(builtPage(model), undefined);
    await withServer({}, async app => {
      const page = await app.inject('/');
      if (existsSync(join(DEFAULT_STATIC_DIR, 'index.html'))) {
        assert.equal(page.statusCode, 200);
        assert.match(String(page.headers['content-type']), /^text\/html/);
        assert.equal(page.headers['cross-origin-embedder-policy'], 'require-corp');
      } else {
        assert.equal(page.statusCode, 404);
        assert.equal(page.json<{ error: { message: string } }>().error.message, PAGE_NOT_BUILT);
      }
    });
  });
});
