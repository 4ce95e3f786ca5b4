// Without the native addon: a copy of the built package that has no native/
// folder, as a machine without a C compiler would have it, run as a program
// (which addon a process can load is the process's). The choice by flag and
// environment is test/backend-choice.test.ts.
import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { TINY_MODEL } from '../cli-runner.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url)); // the package (dist/test/e2e/ is three below it)
const FLAGS = [...TINY_MODEL, '--steps', '2', '--sample-length', '0', '--no-plot', '--json'];
let dir: string;
let bare: string;

let runs = 0;
/** A tiny training run into a folder of its own (a folder holds one run). */
function train(main: string, env: Record<string, string>, ...flags: string[]): SpawnSyncReturns<string> {
  const r = spawnSync(process.execPath, [main, 'train', 'corpus.txt', ...FLAGS, '--out', `run-${++runs}`, ...flags], {
    cwd: dir,
    env: { ...process.env, CHARRNN_BACKEND: '', CHARRNN_DEBUG: '', ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });
  if (r.error) throw r.error;
  return r;
}
const backendOf = (r: SpawnSyncReturns<string>): unknown => {
  assert.equal(r.status, 0, r.stderr);
  return (JSON.parse(r.stdout.split('\n')[0]) as { backend: unknown }).backend;
};

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'charrnn-backend-'));
  writeFileSync(join(dir, 'corpus.txt'), 'a quick brown fox jumps over the lazy dog.\n'.repeat(20));
  bare = join(dir, 'pkg');
  cpSync(join(ROOT, 'dist'), join(bare, 'dist'), { recursive: true });
  cpSync(join(ROOT, 'package.json'), join(bare, 'package.json'));
  symlinkSync(join(ROOT, 'node_modules'), join(bare, 'node_modules'), 'dir');
});

after(() => rmSync(dir, { recursive: true, force: true }));

describe('backend choice without the native addon', () => {
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
