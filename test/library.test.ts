// The README's library example, run as written (through the package's own name,
// as a user imports it): it must keep working.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CharRNN, Vocabulary, Trainer, splitCorpus, sample, encodeModel, loadModel, referenceKernels, scoreText } from 'charrnn';
import { loadKernels } from 'charrnn/node';

test('README library example: train, sample, save and load', async () => {
  const text = 'hello world\n'.repeat(200);
  const vocab = Vocabulary.fromText(text);
  const { train } = splitCorpus(vocab.encode(text).ids, 0.1);
  const kernels = referenceKernels();
  const model = new CharRNN({ cell: 'lstm', layers: 1, hidden: 32, emb: 16, vocabSize: vocab.size, dropout: 0 }, kernels, { seed: 1 });
  const trainer = new Trainer(model, train, {
    batch: 8, seq: 16, clip: 5, lrDecay: 1, lrDecayEvery: 0,
    optimizer: { name: 'adam', lr: 2e-3, beta1: 0.9, beta2: 0.999, alpha: 0.99, momentum: 0.9, eps: 1e-8 },
  });
  const first = trainer.step().loss;
  let last = first;
  for (let i = 0; i < 200; i++) last = trainer.step().loss;
  // 8 distinct characters: an untrained model is near ln 8 = 2.08 nats; this text is almost deterministic.
  assert.ok(Math.abs(first - Math.log(vocab.size)) < 0.3, `first loss ${first}`);
  assert.ok(last < 0.5 * first, `loss went from ${first} to ${last}`);
  const text2 = sample(model, vocab, { prime: 'hel', length: 40, temperature: 0.8 });
  assert.equal([...text2].length, 40);
  for (const c of text2) assert.ok(vocab.id(c) !== undefined);

  // The same model through a file, on the default backend of this machine.
  const { model: loaded, vocab: v2 } = loadModel(encodeModel(model, vocab), 'memory', await loadKernels());
  assert.deepEqual(v2.chars, vocab.chars);
  const a = scoreText(model, vocab, text.slice(0, 500)).natsPerChar;
  const b = scoreText(loaded, v2, text.slice(0, 500)).natsPerChar;
  assert.ok(Math.abs(a - b) < 1e-4 * Math.max(1, a), `${a} vs ${b}`);
});
