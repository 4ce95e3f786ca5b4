// The generation loops docs/onnx.md shows, run as the programs they are
// (tools/onnx-generate.mjs on onnxruntime-node; tools/onnx_generate.py on
// Python's onnxruntime where it is installed): their greedy text must be
// `charrnn sample --greedy`'s for the same model and prime. Where Python's
// onnxruntime is not installed, the Python loop still runs, on a stand-in
// package (test/fixtures/onnx-python-standin/) that answers the loop's few calls
// with onnxruntime-node: that checks the loop's logic, not the binding's API,
// and the test that needs the real binding skips, saying so.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { CellType } from '../../src/kernels/kernels.js';
import { PYTHON } from '../export-torch-helpers.js';
import { cliRunner } from '../cli-runner.js';
import { randomModelFile, ROOT } from '../onnx-helpers.js';

const JS_LOOP = join(ROOT, 'tools', 'onnx-generate.mjs');
const PYTHON_LOOP = join(ROOT, 'tools', 'onnx_generate.py');
const STAND_IN = join(ROOT, 'test', 'fixtures', 'onnx-python-standin');

const probe = spawnSync(PYTHON, ['-c', 'import onnxruntime, numpy'], { encoding: 'utf8' });
const noOnnxruntime =
  probe.error !== undefined
    ? `${PYTHON} cannot be run (${probe.error.message})`
    : probe.status !== 0
      ? `${PYTHON} has no onnxruntime (pip install onnxruntime)`
      : false;
const numpyProbe = spawnSync(PYTHON, ['-c', 'import numpy'], { encoding: 'utf8' });
const noNumpy = numpyProbe.status === 0 ? false : `${PYTHON} has no numpy (apt-get install -y python3-numpy)`;
if (noOnnxruntime) console.log(`# onnx-examples.test: the Python loop on Python's onnxruntime: skipped: ${noOnnxruntime}`);

let dir: string;
const { ok } = cliRunner(() => dir);
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'charrnn-onnx-examples-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** A model file and its ONNX file (by the CLI), and charrnn's greedy text from the prime. */
async function exported(cell: CellType, layers: number, prime: string, length: number): Promise<{ onnx: string; expected: string }> {
  const model = join(dir, `${cell}${layers}.safetensors`);
  writeFileSync(model, randomModelFile(cell, layers, { hidden: 32, emb: 8, seed: 8 }).bytes);
  await ok(['export-onnx', model]);
  const expected = await ok(['sample', model, '--greedy', '--prime', prime, '--length', String(length)]);
  return { onnx: join(dir, `${cell}${layers}.onnx`), expected };
}

function run(command: string, args: string[], env: NodeJS.ProcessEnv = {}): string {
  // The timeout is a safety net against a hang, not a timing assertion.
  const r = spawnSync(command, args, { cwd: ROOT, encoding: 'utf8', timeout: 120_000, env: { ...process.env, ...env } });
  if (r.error) throw r.error;
  assert.equal(r.status, 0, `${command} ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return r.stdout;
}

const CASES: [CellType, number, string][] = [
  ['lstm', 2, 'The lazy 🙂 '],
  ['gru', 1, ''], // no prime: both start from the newline
  ['rnn', 3, 'e\u0301 '], // decomposed: the model's form is NFC, and each loop puts the prime in it
];

describe('the JavaScript loop of docs/onnx.md (tools/onnx-generate.mjs) on onnxruntime-node', () => {
  for (const [cell, layers, prime] of CASES) {
    test(`${cell} x${layers}, prime ${JSON.stringify(prime)}: charrnn sample --greedy's text`, async () => {
      const { onnx, expected } = await exported(cell, layers, prime, 120);
      assert.equal(run(process.execPath, [JS_LOOP, onnx, prime, '120']), expected);
    });
  }
});

describe('the Python loop of docs/onnx.md (tools/onnx_generate.py)', () => {
  test('compiles, and pyflakes finds nothing in it', () => {
    const out = mkdtempSync(join(tmpdir(), 'charrnn-py-compile-'));
    try {
      run(PYTHON, [
        '-c',
        'import py_compile, sys; py_compile.compile(sys.argv[1], cfile=sys.argv[2], doraise=True)',
        PYTHON_LOOP,
        join(out, 'x.pyc'),
      ]);
      assert.equal(run(PYTHON, ['-m', 'pyflakes', PYTHON_LOOP]), '');
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });

  test("on Python's onnxruntime: charrnn sample --greedy's text", { skip: noOnnxruntime }, async () => {
    for (const [cell, layers, prime] of CASES) {
      const { onnx, expected } = await exported(cell, layers, prime, 120);
      assert.equal(run(PYTHON, [PYTHON_LOOP, onnx, prime, '120']), expected, `${cell} x${layers}`);
    }
  });

  test("on the stand-in for onnxruntime that runs onnxruntime-node: charrnn sample --greedy's text", { skip: noNumpy }, async () => {
    for (const [cell, layers, prime] of CASES) {
      const { onnx, expected } = await exported(cell, layers, prime, 120);
      const env = { PYTHONPATH: STAND_IN, CHARRNN_NODE: process.execPath, PYTHONIOENCODING: 'utf-8', PYTHONDONTWRITEBYTECODE: '1' };
      assert.equal(run(PYTHON, [PYTHON_LOOP, onnx, prime, '120'], env), expected, `${cell} x${layers}`);
    }
  });
});
