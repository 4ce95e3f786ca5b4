// A model file written here, loaded by PyTorch with the loader of docs/pytorch.md
// (tools/load_charrnn.py, which test/doc-sources.test.ts holds docs/pytorch.md to):
// the same logits. Runs /usr/bin/python3 with PyTorch, so it is in the e2e tier.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { CellType } from '../../src/kernels/kernels.js';
import type { ModelConfig } from '../../src/model/config.js';
import { referenceKernels } from '../../src/kernels/reference/index.js';
import { CharRNN } from '../../src/model/charrnn.js';
import { encodeModel } from '../../src/model/model-file.js';
import { Vocabulary } from '../../src/text/vocabulary.js';
import { runChunks } from '../helpers.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const f32 = referenceKernels('f32');
// 12 distinct characters: h e l o , space w ö r d 😀 newline.
const vocab = Vocabulary.fromText('hello, wörld 😀\n');
const config = (cell: CellType): ModelConfig => ({ cell, layers: 2, hidden: 6, emb: 3, vocabSize: vocab.size, dropout: 0.25 });

describe('interchange with PyTorch', () => {
  const torch = spawnSync('/usr/bin/python3', ['-c', 'import torch'], { encoding: 'utf8' });
  it(
    "PyTorch loads a file written here with docs/pytorch.md's loader (strict load_state_dict) and computes the same logits",
    {
      skip: torch.status === 0 ? false : 'no PyTorch here (/usr/bin/python3 cannot import torch; Debian: apt-get install python3-torch)',
    },
    () => {
      const dir = mkdtempSync(join(tmpdir(), 'charrnn-model-file-'));
      try {
        for (const cell of ['lstm', 'gru', 'rnn'] as const) {
          const model = new CharRNN({ ...config(cell), layers: 3 }, f32, { seed: 8 });
          const input = [vocab.encode('hello, w').ids, vocab.encode('örld 😀\nh').ids].map(a => Array.from(a));
          const chunks = [{ input: input.map(r => r.slice(0, 4)) }, { input: input.map(r => r.slice(4)) }];
          const logits = runChunks(model, chunks);
          const modelPath = join(dir, `${cell}.safetensors`),
            logitsPath = join(dir, `${cell}.json`);
          writeFileSync(modelPath, encodeModel(model, vocab));
          writeFileSync(logitsPath, JSON.stringify({ cell, B: 2, T: 4, chunks: chunks.map((c, k) => ({ ...c, logits: logits[k] })) }));
          const r = spawnSync('/usr/bin/python3', [join(root, 'tools', 'check-pytorch-load.py'), 'check', modelPath, logitsPath], {
            encoding: 'utf8',
          });
          assert.equal(r.status, 0, `${cell}: ${r.stdout}${r.stderr}`);
          assert.match(r.stdout, /"ok": true/);
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
});
