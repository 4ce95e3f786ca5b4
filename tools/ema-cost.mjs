#!/usr/bin/env node
// The cost of --ema per training step: WeightAverage.update timed interleaved with
// Trainer.step on the native backend (same machine, same moment, so the ratio holds
// on a shared machine), for the medium (2x256) and large (2x512) configs.
// Run after `npm run build`:  node tools/ema-cost.mjs
import { CharRNN } from '../dist/src/model/charrnn.js';
import { loadKernels } from '../dist/src/node/backend.js';
import { WeightAverage } from '../dist/src/train/average.js';
import { DEFAULT_OPTIMIZER } from '../dist/src/train/optimizer.js';
import { Trainer } from '../dist/src/train/trainer.js';

const kernels = await loadKernels(process.argv[2] ?? 'native', () => {});
const ids = Uint16Array.from({ length: 200_000 }, (_, i) => (i * 7919) % 65);
for (const hidden of [256, 512]) {
  const model = new CharRNN({ cell: 'lstm', layers: 2, hidden, emb: 64, vocabSize: 65, dropout: 0 }, kernels);
  const trainer = new Trainer(model, ids, { batch: 50, seq: 50, clip: 5, lrDecay: 1, lrDecayEvery: 0, optimizer: DEFAULT_OPTIMIZER });
  const average = new WeightAverage(model.params, 0.999, n => kernels.alloc(n));
  for (let i = 0; i < 3; i++) {
    trainer.step();
    average.update(trainer.steps);
  } // warm-up
  let step = 0;
  let update = 0;
  const n = 10;
  for (let i = 0; i < n; i++) {
    let t = performance.now();
    trainer.step();
    step += performance.now() - t;
    t = performance.now();
    average.update(trainer.steps);
    update += performance.now() - t;
  }
  console.log(
    `${kernels.name} 2x${hidden} (${model.params.size.toLocaleString('en')} parameters), batch 50x50: ` +
      `step ${(step / n).toFixed(1)} ms, EMA update ${(update / n).toFixed(2)} ms (${((100 * update) / step).toFixed(1)}% of a step)`,
  );
}
