// ONNX's own checker on what `charrnn export-onnx` writes: Python's onnx
// package (Debian's python3-onnx) checks every node against the operator
// schemas of the file's opset and, with full_check, infers every shape
// strictly. A file onnxruntime happens to run could still break the standard
// for other runtimes; this is the standard's own judge.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { CellType } from '../../src/kernels/kernels.js';
import { cliRunner } from '../cli-runner.js';
import { PYTHON } from '../export-torch-helpers.js';
import { randomModelFile } from '../onnx-helpers.js';

const probe = spawnSync(PYTHON, ['-c', 'import onnx'], { encoding: 'utf8' });
const noOnnx = probe.status === 0 ? false : `${PYTHON} has no onnx package (apt-get install -y python3-onnx)`;

const CHECK = `
import sys, onnx
model = onnx.load(sys.argv[1])
onnx.checker.check_model(model, full_check=True)
inferred = onnx.shape_inference.infer_shapes(model, check_type=True, strict_mode=True)
print(model.ir_version, model.opset_import[0].version, len(model.graph.node), [o.name for o in inferred.graph.output])
`;

let dir: string;
const { ok } = cliRunner(() => dir);
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'charrnn-onnx-checker-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe("ONNX's checker (python3-onnx) on export-onnx's files", () => {
  const cases: [CellType, number][] = [
    ['lstm', 1],
    ['lstm', 3],
    ['gru', 2],
    ['rnn', 2],
  ];
  for (const [cell, layers] of cases) {
    test(`${cell} x${layers}: a valid model at its opset, every shape inferred`, { skip: noOnnx }, async () => {
      const model = join(dir, `${cell}${layers}.safetensors`);
      writeFileSync(model, randomModelFile(cell, layers, { hidden: 16, emb: 8, seed: 3 }).bytes);
      await ok(['export-onnx', model]);
      const r = spawnSync(PYTHON, ['-c', CHECK, join(dir, `${cell}${layers}.onnx`)], { encoding: 'utf8', timeout: 60_000 });
      assert.equal(r.status, 0, r.stderr);
      const outputs = cell === 'lstm' ? "['logits', 'hn', 'cn']" : "['logits', 'hn']";
      assert.match(r.stdout.trim(), new RegExp(`^8 17 \\d+ ${outputs.replace(/[[\]]/g, '\\$&')}$`));
    });
  }
});
