// Which kernels a command runs on: the fastest that loads by default (native,
// else wasm, said once), or the one named by --backend or CHARRNN_BACKEND. The
// "no addon" case runs a copy of the built package that has no native/ folder,
// as a machine without a C compiler would have it.
import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadNativeKernels } from '../src/node/native-kernels.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url)); // the package (dist/test/ is two below it)
const TINY = ['--layers', '1', '--hidden', '16', '--emb', '8', '--batch', '4', '--seq', '16', '--steps', '2', '--sample-length', '0', '--json'];
let dir: string;
let bare: string;

let runs = 0;
/** A tiny training run into a folder of its own (a folder holds one run). */
function train(main: string, env: Record<string, string>, ...flags: string[]): SpawnSyncReturns<string> {
  const r = spawnSync(process.execPath, [main, 'train', 'corpus.txt', ...TINY, '--out', `run-${++runs}`, ...flags],
    { cwd: dir, env: { ...process.env, CHARRNN_BACKEND: '', CHARRNN_DEBUG: '', ...env }, encoding: 'utf8', timeout: 60_000 });
  if (r.error) throw r.error;
  return r;
}
const backendOf = (r: SpawnSyncReturns<string>): unknown => {
  assert.equal(r.status, 0, r.stderr);
  return (JSON.parse(r.stdout.split('\n')[0]) as { backend: unknown }).backend;
};
const MAIN = join(ROOT, 'dist', 'src', 'cli', 'main.js');

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'charrnn-backend-'));
  writeFileSync(join(dir, 'corpus.txt'), 'a quick brown fox jumps over the lazy dog.\n'.repeat(20));
  bare = join(dir, 'pkg');
  cpSync(join(ROOT, 'dist'), join(bare, 'dist'), { recursive: true });
  cpSync(join(ROOT, 'package.json'), join(bare, 'package.json'));
  symlinkSync(join(ROOT, 'node_modules'), join(bare, 'node_modules'), 'dir');
});

after(() => rmSync(dir, { recursive: true, force: true }));

describe('backend choice', () => {
  test('--backend and CHARRNN_BACKEND choose; the flag wins', () => {
    assert.equal(backendOf(train(MAIN, { CHARRNN_BACKEND: 'wasm' })), 'wasm');
    assert.equal(backendOf(train(MAIN, { CHARRNN_BACKEND: 'wasm' }, '--backend', 'reference')), 'reference');
    assert.equal(backendOf(train(MAIN, {}, '--backend', 'wasm')), 'wasm');
  });

  test('an unknown backend is one sentence', () => {
    const r = train(MAIN, { CHARRNN_BACKEND: 'gpu' });
    assert.equal(r.status, 1);
    assert.equal(r.stderr, "charrnn: Unknown backend 'gpu': choose one of auto, native, wasm, reference.\n");
  });

  test('by default: native where the addon loads, quietly', { skip: loadNativeKernels() ? false : 'the native addon is not built here' }, () => {
    const r = train(MAIN, {});
    assert.equal(backendOf(r), 'native');
    assert.equal(r.stderr, '');
  });

  test('without the addon: wasm, said once on stderr; --backend native refuses in one sentence', () => {
    const r = train(join(bare, 'dist', 'src', 'cli', 'main.js'), {});
    assert.equal(backendOf(r), 'wasm');
    const lines = r.stderr.split('\n').filter(l => l !== '');
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0], /^charrnn: native kernels unavailable \(the native addon was not built .*\); using WebAssembly$/);

    const native = train(join(bare, 'dist', 'src', 'cli', 'main.js'), {}, '--backend', 'native');
    assert.equal(native.status, 1);
    assert.match(native.stderr, /^charrnn: The native backend is not available here \(.*\); use --backend wasm\.\n$/);
  });
});
