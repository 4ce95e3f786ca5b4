// The one config check (src/model/config.ts) behind the model's constructor, the
// model file and the training checkpoint: the same bad config gets the same
// one-sentence complaint from each, naming the field.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CharrnnError } from '../src/errors.js';
import { referenceKernels } from '../src/kernels/reference/index.js';
import { CharRNN } from '../src/model/charrnn.js';
import { modelConfigProblem, type ModelConfig } from '../src/model/config.js';
import { decodeModel, encodeModel } from '../src/model/model-file.js';
import { decodeSafetensors, encodeSafetensors } from '../src/model/safetensors.js';
import { Vocabulary } from '../src/text/vocabulary.js';
import { decodeCheckpoint, encodeCheckpoint } from '../src/train/checkpoint.js';
import { DEFAULT_OPTIMIZER } from '../src/train/optimizer.js';
import { Trainer } from '../src/train/trainer.js';

const vocab = Vocabulary.fromText('abcd\n');
const good: ModelConfig = { cell: 'gru', layers: 2, hidden: 6, emb: 3, vocabSize: vocab.size, dropout: 0.1 };
const BAD: [string, Record<string, unknown>][] = [
  ['config.layers', { ...good, layers: 0 }],
  ['config.hidden', { ...good, hidden: 2.5 }],
  ['config.emb', { ...good, emb: undefined }],
  ['config.cell', { ...good, cell: 'transformer' }],
  ['config.dropout', { ...good, dropout: 1 }],
  ['config', { ...good, extra: 1 }],
];

/** A file of `format` with its config replaced by `config`. */
function withConfig(bytes: Uint8Array, config: unknown): Uint8Array {
  const { tensors, metadata } = decodeSafetensors(bytes, 'x');
  return encodeSafetensors(
    [...tensors].map(([name, t]) => ({ name, ...t })),
    { ...metadata, config: JSON.stringify(config) },
  );
}

describe('model config', () => {
  const model = new CharRNN(good, referenceKernels('f32'));
  const modelFile = encodeModel(model, vocab);
  const trainer = new Trainer(model, vocab.encode('abcd\n'.repeat(20)).ids, {
    batch: 2,
    seq: 4,
    clip: 5,
    lrDecay: 1,
    lrDecayEvery: 0,
    optimizer: DEFAULT_OPTIMIZER,
  });
  const checkpoint = encodeCheckpoint(trainer, vocab, { settings: {}, textHash: 'h', bestValLoss: null });

  it('accepts a good config everywhere', () => {
    assert.equal(modelConfigProblem(good), null);
    assert.deepEqual(decodeModel(modelFile, 'm').config, good);
    assert.deepEqual(decodeCheckpoint(checkpoint, 'c').config, good);
  });

  for (const [field, bad] of BAD) {
    it(`${field}: the constructor, the model file and the checkpoint say the same sentence`, () => {
      const problem = modelConfigProblem(bad);
      assert.ok(problem?.startsWith(`${field} is invalid (`), String(problem));
      const sentence = (f: () => unknown): string => {
        try {
          f();
        } catch (e) {
          assert.ok(e instanceof CharrnnError, String(e));
          assert.match(e.message, /^[^\n]+\.$/, 'one sentence');
          return e.message;
        }
        return assert.fail('accepted a bad config');
      };
      assert.equal(
        sentence(() => new CharRNN(bad as ModelConfig, referenceKernels('f32'))),
        `The model's ${problem}.`,
      );
      assert.equal(
        sentence(() => decodeModel(withConfig(modelFile, bad), 'm.safetensors')),
        `m.safetensors is not a usable charrnn model: its ${problem}.`,
      );
      assert.equal(
        sentence(() => decodeCheckpoint(withConfig(checkpoint, bad), 'c.safetensors')),
        `c.safetensors is not a usable charrnn checkpoint: its ${problem}.`,
      );
    });
  }
});
