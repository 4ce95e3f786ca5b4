// The run layer's time budget on the real clock: a run with --seconds ends
// within it, the closing validation and save included. The fast tier proves
// the budget's arithmetic on a fake clock (test/budget-closing.test.ts); this
// is the one check against wall-clock time.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { referenceKernels } from '../../src/kernels/reference/index.js';
import type { RunEvent } from '../../src/run/events.js';
import { DEFAULT_SETTINGS } from '../../src/run/settings.js';
import { TrainingRun } from '../../src/run/training-run.js';
import { corpusOf, memoryStore } from '../run-helpers.js';

test('a wall-clock budget is kept, the closing validation and save included', async () => {
  const budget = 2;
  const t0 = performance.now();
  const run = new TrainingRun({
    corpus: corpusOf('some text to learn from, over and over. '.repeat(3000)),
    settings: { ...DEFAULT_SETTINGS, layers: 1, hidden: 32, emb: 6, batch: 4, seq: 8, sampleLength: 0, valEvery: 0, checkpointEvery: 0 },
    limits: { seconds: budget },
    kernels: referenceKernels('f32'),
    store: memoryStore(),
  });
  const events: RunEvent[] = [];
  run.on(e => events.push(e));
  const result = await run.train();
  const took = (performance.now() - t0) / 1000;
  assert.equal(result.reason, 'limit');
  // The slack is the machine's, not the budget's: a loaded CI machine may stall the process between the run's own checks.
  assert.ok(took <= budget + 2, `took ${took.toFixed(2)} s for a ${budget} s budget`);
  assert.ok(result.stepsThisRun > 1);
  assert.ok(
    events.some(e => e.type === 'validation'),
    'the closing validation ran',
  );
  assert.match((events.find(e => e.type === 'stopped') as { message: string }).message, /2-second budget/);
});
