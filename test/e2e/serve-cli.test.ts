// `charrnn serve` as a user runs it, a real process, for what only a process
// shows: SIGTERM draining the requests in flight and exiting 0, the token from
// the environment, and a startup mistake as one line on stderr with exit code 1.
// The rest of serve is tested in-process in test/serve.test.ts.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { CharRNN } from '../../src/model/charrnn.js';
import { encodeModel } from '../../src/model/model-file.js';
import { referenceKernels } from '../../src/kernels/reference/index.js';
import { Vocabulary } from '../../src/text/vocabulary.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const ENV = { ...process.env, CHARRNN_DEBUG: '', CHARRNN_TOKEN: '' };
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
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** Starts `charrnn serve ... --port 0` and resolves with its address, from the line it prints. */
function serve(args: string[], env: Record<string, string> = {}): Promise<{ child: ChildProcess; url: string; output: () => string }> {
  const child = spawn(process.execPath, [MAIN, 'serve', ...args, '--port', '0'], {
    env: { ...ENV, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr!.on('data', (d: Buffer) => {
    out += d.toString();
  });
  return new Promise((resolve, reject) => {
    const timer = setInterval(() => {
      const m = / at (http:\/\/[^ \n]+)/.exec(out);
      if (m) {
        clearInterval(timer);
        resolve({ child, url: m[1], output: () => out });
      }
    }, 20);
    child.on('exit', code => {
      clearInterval(timer);
      reject(new Error(`serve exited ${code}: ${out}`));
    });
  });
}

const exited = (child: ChildProcess): Promise<number | null> =>
  new Promise(resolve => (child.exitCode !== null ? resolve(child.exitCode) : child.once('exit', code => resolve(code))));

describe('charrnn serve, a process', () => {
  it('drains on SIGTERM: the request in flight finishes, then exit 0, and nothing listens', async () => {
    const { child, url, output } = await serve([model, '--max-length', '1000000', '--backend', 'reference']);
    // A request long enough to be in flight when the signal comes (tens of thousands of steps).
    const inFlight = fetch(`${url}/v1/generate`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'abc', length: 40_000, seed: 2 }),
    });
    const until = Date.now() + 10_000;
    while (((await (await fetch(`${url}/healthz`)).json()) as { in_flight: number }).in_flight === 0 && Date.now() < until) {
      await new Promise(resolve => setTimeout(resolve, 10));
    }
    child.kill('SIGTERM');
    const res = await inFlight;
    assert.equal(res.status, 200);
    const body = (await res.json()) as { text: string; usage: { generated_chars: number } };
    assert.equal(body.usage.generated_chars, 40_000, 'the request in flight ran to its end');
    assert.equal([...body.text].length, 40_000);
    // Promptly: the connection the answer came on, kept alive for its client, does not hold the exit (fastify keeps one 72 s).
    const answered = Date.now();
    assert.equal(await exited(child), 0, output());
    assert.ok(Date.now() - answered < 10_000, `exited ${Date.now() - answered} ms after the last answer`);
    assert.match(output(), /SIGTERM: finishing the requests in flight/);
    await assert.rejects(fetch(`${url}/healthz`));
  });

  it('the token from CHARRNN_TOKEN when --token is not given', async () => {
    const { child, url } = await serve([model], { CHARRNN_TOKEN: 'tok' });
    try {
      assert.equal((await fetch(`${url}/v1/models`)).status, 401);
      assert.equal((await fetch(`${url}/v1/models`, { headers: { authorization: 'Bearer tok' } })).status, 200);
    } finally {
      child.kill('SIGTERM');
      await exited(child);
    }
  });

  it('a startup mistake is one line on stderr and exit code 1', () => {
    const r = spawnSync(process.execPath, [MAIN, 'serve', 'abc.safetensors', '--static', 'site', '--port', '0'], {
      cwd: dir,
      env: ENV,
      encoding: 'utf8',
      timeout: 30_000,
    });
    assert.equal(r.status, 1, r.stderr);
    assert.equal(r.stderr, 'charrnn: --static site does not exist.\n');
  });
});
