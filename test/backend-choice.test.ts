// Which kernels a command runs on: the fastest that loads by default (native,
// else wasm), or the one named by --backend or CHARRNN_BACKEND; the CLI runs
// in-process. Without the native addon (a copy of the built package that has no
// native/ folder, as a machine without a C compiler would have it) is in
// test/e2e/backend-choice.test.ts.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { loadNativeKernels } from '../src/node/native-kernels.js';
import { cliRunner, TINY_MODEL, type CliResult } from './cli-runner.js';

const FLAGS = [...TINY_MODEL, '--steps', '2', '--sample-length', '0', '--no-plot', '--json'];
let dir: string;

let runs = 0;
/** A tiny training run into a folder of its own (a folder holds one run). */
function train(env: Record<string, string>, ...flags: string[]): Promise<CliResult> {
  return cliRunner(() => dir, env).cli(['train', 'corpus.txt', ...FLAGS, '--out', `run-${++runs}`, ...flags]);
}
const backendOf = (r: CliResult): unknown => {
  assert.equal(r.status, 0, r.stderr);
  return (JSON.parse(r.stdout.split('\n')[0]) as { backend: unknown }).backend;
};

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'charrnn-backend-'));
  writeFileSync(join(dir, 'corpus.txt'), 'a quick brown fox jumps over the lazy dog.\n'.repeat(20));
});

after(() => rmSync(dir, { recursive: true, force: true }));

describe('backend choice', () => {
  test('--backend and CHARRNN_BACKEND choose; the flag wins', async () => {
    assert.equal(backendOf(await train({ CHARRNN_BACKEND: 'wasm' })), 'wasm');
    assert.equal(backendOf(await train({ CHARRNN_BACKEND: 'wasm' }, '--backend', 'reference')), 'reference');
    assert.equal(backendOf(await train({}, '--backend', 'wasm')), 'wasm');
  });

  test('an unknown backend is one sentence', async () => {
    const r = await train({ CHARRNN_BACKEND: 'gpu' });
    assert.equal(r.status, 1);
    assert.equal(r.stderr, "charrnn: Unknown backend 'gpu': choose one of auto, native, wasm, reference.\n");
  });

  // Where CHARRNN_REQUIRE_NATIVE=1 (CI, which has a compiler) a missing addon fails here rather than skips.
  const noAddon = loadNativeKernels() || process.env.CHARRNN_REQUIRE_NATIVE === '1' ? false : 'the native addon is not built here';
  test('by default: native where the addon loads, quietly', { skip: noAddon }, async () => {
    const r = await train({});
    assert.equal(backendOf(r), 'native');
    assert.equal(r.stderr, '');
  });
});
