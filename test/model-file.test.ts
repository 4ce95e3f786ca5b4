// Model files: round trips, every kind of unusable file, and interchange with
// PyTorch: files PyTorch wrote, committed under test/fixtures/model-file by
// tools/check-pytorch-load.py, must give PyTorch's logits here. The other
// direction (PyTorch loads a file written here) runs PyTorch itself, in
// test/e2e/pytorch-load.test.ts.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { CharrnnError } from '../src/errors.js';
import type { CellType, FloatArray, Kernels } from '../src/kernels/kernels.js';
import { referenceKernels } from '../src/kernels/reference/index.js';
import { CharRNN } from '../src/model/charrnn.js';
import type { ModelConfig } from '../src/model/config.js';
import { decodeModel, encodeModel, loadModel, MODEL_FORMAT } from '../src/model/model-file.js';
import { decodeSafetensors, encodeSafetensors, type NamedTensor } from '../src/model/safetensors.js';
import { Vocabulary } from '../src/text/vocabulary.js';
import { error } from './conformance/metric.js';
import { runChunks } from './helpers.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const fixtures = join(root, 'test', 'fixtures', 'model-file');
const f32 = referenceKernels('f32');
const f64 = referenceKernels('f64');

// 12 distinct characters: h e l o , space w ö r d 😀 newline.
const vocab = Vocabulary.fromText('hello, wörld 😀\n');
const config = (cell: CellType): ModelConfig => ({ cell, layers: 2, hidden: 6, emb: 3, vocabSize: vocab.size, dropout: 0.25 });

/** The tensors and metadata of a valid model file, to damage one at a time. */
function parts(): { tensors: NamedTensor[]; metadata: Record<string, string> } {
  const { tensors, metadata } = decodeSafetensors(encodeModel(new CharRNN(config('gru'), f32, { seed: 3 }), vocab), 'x');
  return { tensors: [...tensors].map(([name, t]) => ({ name, ...t })), metadata };
}

function rejects(tensors: NamedTensor[], metadata: Record<string, string>, ...patterns: RegExp[]): void {
  assert.throws(
    () => decodeModel(encodeSafetensors(tensors, metadata), 'm.charrnn'),
    (e: unknown) => {
      assert.ok(e instanceof CharrnnError, `expected a CharrnnError, got ${String(e)}`);
      assert.match(e.message, /^m\.charrnn [^\n]*\.$/);
      for (const p of patterns) assert.match(e.message, p);
      return true;
    },
  );
}

describe('model file', () => {
  for (const cell of ['lstm', 'gru', 'rnn'] as const) {
    it(`${cell}: round-trips weights bit for bit, config, vocabulary and extra metadata`, () => {
      const model = new CharRNN(config(cell), f32, { seed: 42 });
      const bytes = encodeModel(model, vocab, { step: '120', note: 'héllo' });
      const d = decodeModel(bytes, 'm.charrnn');
      assert.deepEqual(d.config, config(cell));
      assert.deepEqual(d.vocab.chars, vocab.chars);
      assert.deepEqual(d.metadata, {
        format: MODEL_FORMAT,
        vocab: JSON.stringify(vocab.chars),
        config: JSON.stringify(config(cell)),
        normalize: 'none',
        step: '120',
        note: 'héllo',
      });
      assert.deepEqual(
        [...d.tensors.keys()],
        model.params.specs.map(s => s.name),
      );

      const { model: loaded, vocab: v2, metadata } = loadModel(bytes, 'm.charrnn', f32);
      assert.equal(metadata.step, '120');
      assert.deepEqual(v2.chars, vocab.chars);
      assert.deepEqual(loaded.config, model.config);
      assert.deepEqual(
        new Uint32Array(loaded.params.data.buffer, loaded.params.data.byteOffset, loaded.params.size),
        new Uint32Array(model.params.data.buffer, model.params.data.byteOffset, model.params.size),
      );

      // Same weights, same logits; and the float64 backend takes the same values.
      const ids = vocab.encode('hello 😀').ids;
      const a = model.forward(ids, ids.length, 1, model.newState(1)).slice();
      const b = loaded.forward(ids, ids.length, 1, loaded.newState(1));
      assert.deepEqual(b, a);
      const wide = loadModel(bytes, 'm.charrnn', f64).model;
      assert.deepEqual(Array.from(wide.params.data), Array.from(model.params.data));
    });
  }

  it('the same model always gives the same bytes', () => {
    const m = new CharRNN(config('lstm'), f32, { seed: 5 });
    assert.deepEqual(encodeModel(m, vocab, { a: '1' }), encodeModel(m, vocab, { a: '1' }));
  });

  it('refuses a vocabulary of the wrong size and reserved metadata keys (programming errors)', () => {
    const m = new CharRNN(config('lstm'), f32);
    assert.throws(() => encodeModel(m, Vocabulary.fromText('abc')));
    assert.throws(() => encodeModel(m, vocab, { format: 'x' }));
  });

  it('rejects files that are not charrnn models, or of another format version', () => {
    const { tensors, metadata } = parts();
    const { format: _, ...noFormat } = metadata;
    rejects(tensors, noFormat, /no "format" entry/);
    rejects(tensors, { ...metadata, format: 'charrnn/2' }, /format "charrnn\/2"/, /reads charrnn\/1/);
    assert.throws(() => decodeModel(new Uint8Array(3), 'm.charrnn'), CharrnnError);
  });

  it('rejects a missing, unparsable or invalid config, naming the field', () => {
    const { tensors, metadata } = parts();
    const cfg = JSON.parse(metadata.config) as Record<string, unknown>;
    const { config: _, ...noConfig } = metadata;
    rejects(tensors, noConfig, /no "config" entry/);
    rejects(tensors, { ...metadata, config: '{cell: gru' }, /"config" metadata is not JSON/);
    rejects(tensors, { ...metadata, config: JSON.stringify({ ...cfg, layers: 0 }) }, /config\.layers is invalid/);
    rejects(tensors, { ...metadata, config: JSON.stringify({ ...cfg, hidden: 2.5 }) }, /config\.hidden is invalid/);
    rejects(tensors, { ...metadata, config: JSON.stringify({ ...cfg, cell: 'transformer' }) }, /config\.cell is invalid/);
    rejects(tensors, { ...metadata, config: JSON.stringify({ ...cfg, dropout: 1 }) }, /config\.dropout is invalid/);
    rejects(tensors, { ...metadata, config: JSON.stringify({ ...cfg, emb: undefined }) }, /config\.emb is invalid/);
    rejects(tensors, { ...metadata, config: '[]' }, /config is invalid/);
  });

  it('rejects a missing or invalid vocabulary, or one that does not match the config', () => {
    const { tensors, metadata } = parts();
    const { vocab: _, ...noVocab } = metadata;
    rejects(tensors, noVocab, /no "vocab" entry/);
    rejects(tensors, { ...metadata, vocab: '["a",' }, /"vocab" metadata is not JSON/);
    rejects(tensors, { ...metadata, vocab: '["a", 3]' }, /vocab\.1 is invalid/);
    const chars = JSON.parse(metadata.vocab) as string[];
    rejects(tensors, { ...metadata, vocab: JSON.stringify([...chars.slice(1), chars[2]]) }, /vocabulary is invalid/, /twice/);
    rejects(tensors, { ...metadata, vocab: JSON.stringify(['ab', ...chars.slice(1)]) }, /vocabulary is invalid/, /index 0/);
    rejects(
      tensors,
      { ...metadata, vocab: JSON.stringify(chars.slice(1)) },
      new RegExp(`has ${chars.length - 1} characters but its config says ${chars.length}`),
    );
  });

  it('rejects a missing tensor, a tensor of the wrong shape, and an unexpected tensor, naming it', () => {
    const { tensors, metadata } = parts();
    rejects(
      tensors.filter(t => t.name !== 'rnn.bias_hh_l1'),
      metadata,
      /tensor rnn\.bias_hh_l1 is missing/,
    );
    const reshaped = tensors.map(t => (t.name === 'out.weight' ? { ...t, shape: [t.shape[1], t.shape[0]] } : t));
    rejects(reshaped, metadata, /tensor out\.weight has shape \[6, 12\] but the config needs \[12, 6\]/);
    rejects(
      [...tensors, { name: 'rnn.weight_ih_l2', shape: [1], data: new Float32Array(1) }],
      metadata,
      /tensor rnn\.weight_ih_l2 that this model has no use for/,
    );
    // A file with the architecture of a 1-layer model but a config that says 2.
    rejects(
      tensors.filter(t => !t.name.endsWith('_l1')),
      metadata,
      /rnn\.weight_ih_l1 is missing/,
    );
  });
});

interface TorchChunk {
  input: number[][];
  logits: number[][][];
}
interface TorchLogits {
  cell: CellType;
  B: number;
  T: number;
  chunks: TorchChunk[];
}

describe('interchange with PyTorch', () => {
  const expected = JSON.parse(readFileSync(join(fixtures, 'torch-logits.json'), 'utf8')) as Record<CellType, TorchLogits>;
  for (const cell of ['lstm', 'gru', 'rnn'] as const) {
    it(`${cell}: a file PyTorch wrote loads and gives PyTorch's logits over two chunks of carried state`, () => {
      const bytes = readFileSync(join(fixtures, `torch-${cell}.safetensors`));
      const ref = expected[cell];
      const check = <F extends FloatArray>(k: Kernels<F>): void => {
        const { model, vocab: v, metadata } = loadModel(new Uint8Array(bytes), `torch-${cell}.safetensors`, k);
        assert.deepEqual(v.chars, ['\n', ' ', 'a', 'b', 'é', '中', '😀']);
        assert.equal(model.config.cell, cell);
        assert.match(metadata.written_by, /^torch /);
        const got = runChunks(model, ref.chunks);
        const err = error(got.flat(3), ref.chunks.map(c => c.logits).flat(3));
        assert.ok(err < 1e-5, `${k.name}: relative error ${err.toExponential(2)} against PyTorch`);
      };
      check(f32);
      check(f64);
    });
  }
});
