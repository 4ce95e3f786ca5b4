// The library as a user imports it (through the package's own name): an
// application trains a run and writes with the model handle from the main
// entry; an engine builder drives the model and trainer from charrnn/engine.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CharRnnModel, DEFAULT_SETTINGS, TrainingRun, trainingText, type RunEvent, type SavedFile } from 'charrnn';
import { CharRNN, Trainer, createGenerator, encodeModel, loadModel, parseGenerateOptions, referenceKernels, scoreText, splitCorpus } from 'charrnn/engine';
import { loadKernels } from 'charrnn/node';

const TEXT = 'hello world\n'.repeat(200);

test('an application: a training run from a text, then the model handle generates and scores', async () => {
  const saved = new Map<SavedFile, Uint8Array>();
  const events: RunEvent['type'][] = [];
  const run = new TrainingRun({
    corpus: trainingText(TEXT, 'hello.txt'),
    settings: { ...DEFAULT_SETTINGS, layers: 1, hidden: 32, emb: 16, batch: 8, seq: 16, valEvery: 100, checkpointEvery: 100, sampleLength: 0 },
    limits: { steps: 200 },
    kernels: await loadKernels(),
    store: { save: (file, bytes) => void saved.set(file, bytes) },
  });
  run.on(e => events.push(e.type));
  const result = await run.train();
  assert.equal(result.type, 'result');
  assert.ok(events.includes('step') && events.includes('validation') && events.includes('saved'), events.join(' '));

  const model = await CharRnnModel.load(saved.get('model')!, { name: 'model.safetensors' });
  // 8 distinct characters: an untrained model scores near ln 8 = 2.08 nats; this text is almost deterministic.
  const score = model.score(TEXT.slice(0, 600));
  assert.ok(score.natsPerChar < 0.5, `nats/char ${score.natsPerChar}`);
  const { text } = await model.generate({ prime: 'hel', length: 40, temperature: 0.8, seed: 3 });
  assert.equal([...text].length, 40);
  for (const c of text) assert.ok(model.chars.includes(c), `${JSON.stringify(c)} is not one of the model's characters`);
  // A path works too once charrnn/node is imported; a missing one is one sentence.
  await assert.rejects(CharRnnModel.load('no-such-model.safetensors'), /no-such-model\.safetensors/);
});

test('an engine builder: the model and trainer by hand, a generator, a file round trip', async () => {
  const vocab = trainingText(TEXT, 'hello').vocab;
  const { train } = splitCorpus(vocab.encode(TEXT).ids, 0.1);
  const model = new CharRNN({ cell: 'lstm', layers: 1, hidden: 32, emb: 16, vocabSize: vocab.size, dropout: 0 }, referenceKernels(), { seed: 1 });
  const trainer = new Trainer(model, train, {
    batch: 8, seq: 16, clip: 5, lrDecay: 1, lrDecayEvery: 0,
    optimizer: { name: 'adam', lr: 2e-3, beta1: 0.9, beta2: 0.999, alpha: 0.99, momentum: 0.9, eps: 1e-8 },
  });
  const first = trainer.step().loss;
  let last = first;
  for (let i = 0; i < 200; i++) last = trainer.step().loss;
  assert.ok(Math.abs(first - Math.log(vocab.size)) < 0.3, `first loss ${first}`);
  assert.ok(last < 0.5 * first, `loss went from ${first} to ${last}`);
  const gen = createGenerator(model, vocab, parseGenerateOptions({ prime: 'hel', length: 40, temperature: 0.8 }));
  for (const _ of gen.pieces()) { /* to the end */ }
  const [text] = gen.result().texts;
  assert.equal([...text].length, 40);

  // The same model through a file, on the default backend of this machine.
  const { model: loaded, vocab: v2 } = loadModel(encodeModel(model, vocab), 'memory', await loadKernels());
  assert.deepEqual(v2.chars, vocab.chars);
  const a = scoreText(model, vocab, TEXT.slice(0, 500)).natsPerChar;
  const b = scoreText(loaded, v2, TEXT.slice(0, 500)).natsPerChar;
  assert.ok(Math.abs(a - b) < 1e-4 * Math.max(1, a), `${a} vs ${b}`);
});
