// A checkpoint read as a model gives the weights of the model file saved with
// it: with --ema the moving average (what model.safetensors holds), not the raw
// weights the checkpoint keeps beside it for resuming. Before the fix, eval
// scored the checkpoint on the raw weights (3.2963 against 3.3538 nats/char).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { referenceKernels } from '../src/kernels/reference/index.js';
import { loadModel } from '../src/model/model-file.js';
import { decodeSafetensors } from '../src/model/safetensors.js';
import { TrainingRun } from '../src/run/training-run.js';
import { DEFAULT_SETTINGS, type RunSettings } from '../src/run/settings.js';
import { scoreText } from '../src/train/evaluate.js';
import { corpusOf, memoryStore, TINY_RUN } from './run-helpers.js';

const TEXT = 'the quick brown fox jumps over the lazy dog.\n'.repeat(60);
const HELD_OUT = 'a lazy dog jumps over the quick brown fox.\n';

async function trained(settings: Partial<RunSettings>): Promise<Map<string, Uint8Array>> {
  const store = memoryStore();
  const run = new TrainingRun({
    corpus: corpusOf(TEXT),
    settings: { ...DEFAULT_SETTINGS, ...TINY_RUN, lr: 0.02, ...settings },
    limits: { steps: 30 },
    kernels: referenceKernels('f32'),
    store,
  });
  await run.train();
  return store.files;
}

function score(bytes: Uint8Array, source: string): number {
  const { model, vocab } = loadModel(bytes, source, referenceKernels('f32'));
  return scoreText(model, vocab, HELD_OUT).natsPerChar;
}

describe('a checkpoint read as a model', () => {
  test('with ema 0.9 it scores as the model saved with it, and still keeps the raw weights', async () => {
    const files = await trained({ ema: 0.9 });
    const model = score(files.get('model')!, 'model.safetensors');
    const checkpoint = score(files.get('checkpoint')!, 'checkpoint.safetensors');
    assert.ok(Math.abs(model - checkpoint) <= 1e-6, `model ${model}, checkpoint ${checkpoint}`);
    // The raw weights are still there, and differ from the average (else the test would prove nothing).
    const raw = decodeSafetensors(files.get('checkpoint')!, 'checkpoint').tensors;
    const averaged = decodeSafetensors(files.get('model')!, 'model').tensors;
    const name = [...averaged.keys()][0];
    assert.notDeepEqual(raw.get(name)!.data, averaged.get(name)!.data, "the checkpoint keeps the raw weights under the parameters' names");
    assert.ok(raw.has('train.ema'));
  });

  test('without ema the two are the same weights', async () => {
    const files = await trained({ ema: 0 });
    assert.equal(score(files.get('model')!, 'model'), score(files.get('checkpoint')!, 'checkpoint'));
  });
});
