// `charrnn serve` as a user runs it: a real process on 127.0.0.1, a port chosen
// by the system, SIGTERM draining the requests in flight, and startup mistakes
// said in one sentence.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { CharRNN } from '../src/model/charrnn.js';
import { lineModelMetadata } from '../src/model/line-model.js';
import { encodeModel } from '../src/model/model-file.js';
import { referenceKernels } from '../src/kernels/reference/index.js';
import { Vocabulary } from '../src/text/vocabulary.js';

const MAIN = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const ENV = { ...process.env, CHARRNN_DEBUG: '', CHARRNN_TOKEN: '' };
let dir: string;
let model: string;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'charrnn-serve-'));
  const vocab = Vocabulary.fromText('abc def\n');
  const m = new CharRNN({ cell: 'lstm', layers: 1, hidden: 16, emb: 4, vocabSize: vocab.size, dropout: 0 }, referenceKernels('f32'), { seed: 1 });
  model = join(dir, 'abc.safetensors');
  writeFileSync(model, encodeModel(m, vocab));
  writeFileSync(join(dir, 'lines.safetensors'), encodeModel(m, vocab, lineModelMetadata('\n', ['abc def', 'def abc'])));
  writeFileSync(join(dir, 'not-a-model.safetensors'), 'hello');
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** Starts `charrnn serve ... --port 0` and resolves with its address, from the line it prints. */
function serve(args: string[], env: Record<string, string> = {}): Promise<{ child: ChildProcess; url: string; output: () => string }> {
  const child = spawn(process.execPath, [MAIN, 'serve', ...args, '--port', '0'], { env: { ...ENV, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
  child.stderr!.on('data', (d: Buffer) => { out += d.toString(); });
  return new Promise((resolve, reject) => {
    const timer = setInterval(() => {
      const m = / at (http:\/\/[^ \n]+)/.exec(out);
      if (m) {
        clearInterval(timer);
        resolve({ child, url: m[1], output: () => out });
      }
    }, 20);
    child.on('exit', code => { clearInterval(timer); reject(new Error(`serve exited ${code}: ${out}`)); });
  });
}

const exited = (child: ChildProcess): Promise<number | null> =>
  new Promise(resolve => (child.exitCode !== null ? resolve(child.exitCode) : child.once('exit', code => resolve(code))));

describe('charrnn serve', () => {
  it('binds 127.0.0.1, names models by file stem or --name, and drains on SIGTERM: requests in flight finish, then exit 0', async () => {
    const { child, url, output } = await serve([model, model, '--name', 'first', '--max-length', '1000000']);
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/);
    const models = await (await fetch(`${url}/v1/models`)).json() as { data: { id: string }[] };
    assert.deepEqual(models.data.map(m => m.id), ['first', 'abc']);
    // A request long enough to be in flight when the signal comes (tens of thousands of steps).
    const inFlight = fetch(`${url}/v1/generate`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'abc', length: 40_000, seed: 2 }),
    });
    const until = Date.now() + 10_000;
    while (((await (await fetch(`${url}/healthz`)).json()) as { in_flight: number }).in_flight === 0 && Date.now() < until) {
      await new Promise(resolve => setTimeout(resolve, 10));
    }
    child.kill('SIGTERM');
    const res = await inFlight;
    assert.equal(res.status, 200);
    const body = await res.json() as { text: string; usage: { generated_chars: number } };
    assert.equal(body.usage.generated_chars, 40_000, 'the request in flight ran to its end');
    assert.equal([...body.text].length, 40_000);
    assert.equal(await exited(child), 0, output());
    assert.match(output(), /SIGTERM: finishing the requests in flight/);
    // Nothing listens any more.
    await assert.rejects(fetch(`${url}/healthz`));
  });

  it('a model trained on lines is a line model: /v1/models says so and its texts end at the end of the line', async () => {
    const { child, url } = await serve([model, join(dir, 'lines.safetensors')]);
    try {
      const models = await (await fetch(`${url}/v1/models`)).json() as { data: { id: string; line_model: boolean }[] };
      assert.deepEqual(models.data.map(m => [m.id, m.line_model]), [['abc', false], ['lines', true]]);
      const r = await (await fetch(`${url}/v1/generate`, {
        method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'lines', length: 2000, count: 8 }),
      })).json() as { texts: string[]; finish_reasons: string[]; usage: { prompt_chars: number } };
      for (const t of r.texts) assert.ok(!t.includes('\n'));
      assert.equal(r.usage.prompt_chars, 1, 'the end-of-line the line starts from');
      assert.ok(r.finish_reasons.includes('stop'), 'some line ended at its end-of-line');
    } finally {
      child.kill('SIGTERM');
      await exited(child);
    }
  });

  it('--token from the flag or CHARRNN_TOKEN', async () => {
    for (const [args, env] of [[['--token', 'tok'], {}], [[], { CHARRNN_TOKEN: 'tok' }]] as const) {
      const { child, url } = await serve([model, ...args], env);
      try {
        assert.equal((await fetch(`${url}/v1/models`)).status, 401);
        assert.equal((await fetch(`${url}/v1/models`, { headers: { authorization: 'Bearer tok' } })).status, 200);
      } finally {
        child.kill('SIGTERM');
        await exited(child);
      }
    }
  });

  for (const [what, args, says] of [
    ['a missing file', ['missing.safetensors'], /missing\.safetensors/],
    ['a file that is not a model', ['not-a-model.safetensors'], /not-a-model\.safetensors/],
    ['two models of one name', ['abc.safetensors', 'abc.safetensors'], /Two models are named 'abc'/],
    ['a bad name', ['abc.safetensors', '--name', '../x'], /model name '\.\.\/x' is not usable/],
    ['more names than models', ['abc.safetensors', '--name', 'a', '--name', 'b'], /2 --name flags for 1 model/],
  ] as const) {
    it(`refuses ${what} in one sentence`, () => {
      const r = spawnSync(process.execPath, [MAIN, 'serve', ...args, '--port', '0'], { cwd: dir, env: ENV, encoding: 'utf8', timeout: 30_000 });
      assert.equal(r.status, 1, r.stderr);
      const lines = r.stderr.trimEnd().split('\n');
      assert.equal(lines.length, 1, r.stderr);
      assert.match(lines[0], /^charrnn: \S/);
      assert.match(lines[0], says);
    });
  }

  it('a port in use is one sentence', async () => {
    const { child, url } = await serve([model]);
    try {
      const port = new URL(url).port;
      const r = spawnSync(process.execPath, [MAIN, 'serve', model, '--port', port], { env: ENV, encoding: 'utf8', timeout: 30_000 });
      assert.equal(r.status, 1, r.stderr);
      assert.match(r.stderr, new RegExp(`^charrnn: Port ${port} on 127\\.0\\.0\\.1 is in use; choose another with --port\\.\\n$`));
    } finally {
      child.kill('SIGTERM');
      await exited(child);
    }
  });
});
