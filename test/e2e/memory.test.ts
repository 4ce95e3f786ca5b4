// What the reference engine really allocates for a training step, measured in a
// fresh process (so that no other test's buffers are collected during the
// measurement), against the memory estimate: 0.9x to 1x. The estimate's parts are
// checked by hand in test/corpus.test.ts.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import type { ModelConfig } from '../../src/model/config.js';
import { trainingMemory } from '../../src/train/memory-estimate.js';

describe('the memory estimate against a real process', () => {
  it('bounds what the reference engine really allocates for training (0.9x to 1x of the estimate)', () => {
    for (const [cell, hidden, batch, seq, dropout, ema] of [
      ['lstm', 256, 32, 64, 0, 0],
      ['gru', 128, 16, 100, 0.2, 0.9],
    ] as const) {
      const config: ModelConfig = { cell, layers: 2, hidden, emb: 32, vocabSize: 80, dropout };
      // A fresh process, so that no other test's buffers are collected during the measurement.
      const script = `
        import { referenceKernels } from ${JSON.stringify(new URL('../../src/kernels/reference/index.js', import.meta.url).href)};
        import { CharRNN } from ${JSON.stringify(new URL('../../src/model/charrnn.js', import.meta.url).href)};
        import { Trainer } from ${JSON.stringify(new URL('../../src/train/trainer.js', import.meta.url).href)};
        import { DEFAULT_OPTIMIZER } from ${JSON.stringify(new URL('../../src/train/optimizer.js', import.meta.url).href)};
        const data = new Uint8Array(${batch * seq * 3});
        const before = process.memoryUsage().arrayBuffers;
        const model = new CharRNN(${JSON.stringify(config)}, referenceKernels(), { seed: 1 });
        const trainer = new Trainer(model, data, { batch: ${batch}, seq: ${seq}, clip: 5, lrDecay: 1, lrDecayEvery: 0, ema: ${ema}, optimizer: { ...DEFAULT_OPTIMIZER, name: 'adam', lr: 1e-3 } });
        trainer.step();
        process.stdout.write(String(process.memoryUsage().arrayBuffers - before));`;
      const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      const measured = Number(r.stdout);
      const e = trainingMemory({ config, batch, seq, optimizer: 'adam', ema: ema > 0 });
      // The reference engine packs nothing and has no threads: its share of the estimate is everything but the engine scratch.
      const expected = e.bytes - e.parts['engine scratch'];
      assert.ok(measured <= expected && measured >= 0.9 * expected, `${cell}: measured ${measured} bytes, estimated ${expected}`);
    }
  });
});
