// Line mode: the ignored target of the loss on every backend, the exactness of
// padded batches, the line batcher, the validation split by lines, the line
// set and the line-model metadata.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { LineBatcher, linePadding, writeLineBatch } from '../src/data/line-batcher.js';
import { lineCorpus } from '../src/data/line-corpus.js';
import { encodeLines, holdOutLines, lineCount, lineLength, splitLines } from '../src/data/line-examples.js';
import { CharrnnError } from '../src/errors.js';
import { IGNORE_TARGET, type CellType } from '../src/kernels/kernels.js';
import { referenceKernels } from '../src/kernels/reference/index.js';
import { CharRNN } from '../src/model/charrnn.js';
import { lineModelInfo, lineModelMetadata } from '../src/model/line-model.js';
import { decodeModel, encodeModel } from '../src/model/model-file.js';
import { decodeCheckpoint, encodeCheckpoint } from '../src/train/checkpoint.js';
import { scoreLines } from '../src/train/evaluate.js';
import { lineValidationLoss } from '../src/train/line-loss.js';
import { DEFAULT_OPTIMIZER } from '../src/train/optimizer.js';
import { Trainer } from '../src/train/trainer.js';
import { LineSet, lineHash } from '../src/text/line-set.js';
import { Vocabulary } from '../src/text/vocabulary.js';
import { Random } from '../src/util/random.js';
import { float32Engines } from './conformance/engines.js';
import { error, TOLERANCE } from './conformance/metric.js';
import { randomFill } from './helpers.js';

const WORDS = ['ab', 'cab', 'a', 'bad', 'dabba', 'cc', 'b', 'abcd', 'dd', 'caca', 'bb', 'd', 'acdc', 'ba', 'dcb', 'aaaaaaa', 'c'];
const VOCAB = Vocabulary.fromText('abcd\n');

/** The lines a chunk holds, read back from its targets (row b: targets up to its end-of-line). */
function linesOfChunk(y: Int32Array, T: number, B: number, vocab: Vocabulary): string[] {
  const out: string[] = [];
  for (let b = 0; b < B; b++) {
    let s = '';
    let ended = false;
    for (let t = 0; t < T; t++) {
      const id = y[t * B + b];
      if (ended || id === IGNORE_TARGET) {
        assert.equal(id, IGNORE_TARGET, 'after a line ends every target is ignored');
        ended = true;
        continue;
      }
      if (vocab.chars[id] === '\n') {
        ended = true;
        out.push(s);
        continue;
      }
      s += vocab.chars[id];
    }
  }
  return out;
}

describe('softmax cross-entropy with ignored targets (every backend)', () => {
  // Every float32 engine of this machine; the conformance suite's tolerance for float32 against float64.
  const tolerance = TOLERANCE.f32;
  let backends: Awaited<ReturnType<typeof float32Engines>>;
  before(async () => {
    backends = await float32Engines();
  });

  it('hand-computed loss and gradient; an ignored row adds nothing and gets a zero gradient row', () => {
    const V = 6;
    // Row 0: equal logits, target 4: loss ln 6, gradient 1/6 - onehot.
    // Row 1: logits ln(1, 2, 3, 4, 5, 5), softmax (1, 2, 3, 4, 5, 5) / 20, target 5: loss ln 4.
    // Row 2: ignored. Row 3: ignored, large logits.
    const logits = [0, 0, 0, 0, 0, 0, ...[1, 2, 3, 4, 5, 5].map(Math.log), 3, -1, 2, 0.5, 9, -4, 50, 60, 70, -80, 0, 1];
    const targets = [4, 5, IGNORE_TARGET, IGNORE_TARGET];
    const scale = 0.5;
    const expectedLoss = Math.log(6) + Math.log(4);
    const expectedGrad = [
      ...[1, 1, 1, 1, -5, 1].map(v => (v / 6) * scale),
      ...[1, 2, 3, 4, 5, -15].map(v => (v / 20) * scale),
      ...new Array(2 * V).fill(0),
    ];
    for (const { kernels: k } of backends) {
      const l = k.alloc(logits.length);
      l.set(logits);
      const t = k.allocInt(4);
      t.set(targets);
      const d = k.alloc(logits.length);
      d.fill(7); // stale values that an ignored row must overwrite
      const loss = k.softmaxCrossEntropy(l, t, 4, V, d, scale);
      assert.ok(Math.abs(loss - expectedLoss) < tolerance * expectedLoss, `${k.name}: loss ${loss}, expected ${expectedLoss}`);
      for (let i = 0; i < expectedGrad.length; i++) {
        assert.ok(Math.abs(d[i] - expectedGrad[i]) < 1e-6, `${k.name}: dLogits[${i}] = ${d[i]}, expected ${expectedGrad[i]}`);
      }
      assert.ok(
        Math.abs(k.softmaxCrossEntropy(l, t, 4, V, null, 1) - expectedLoss) < tolerance * expectedLoss,
        `${k.name}: loss without gradient`,
      );
      // Only ignored rows: zero loss, zero gradient.
      t.set([IGNORE_TARGET, IGNORE_TARGET, IGNORE_TARGET, IGNORE_TARGET]);
      d.fill(7);
      assert.equal(k.softmaxCrossEntropy(l, t, 4, V, d, scale), 0, k.name);
      assert.ok(
        d.every(v => v === 0),
        `${k.name}: all-ignored gradient`,
      );
    }
  });

  it('a large problem (the threaded paths) agrees with float64 reference, every other target ignored', () => {
    const rng = new Random(3);
    const rows = 2000,
      V = 65;
    const logits64 = randomFill(new Float64Array(rows * V), rng, 5);
    const targets = new Int32Array(rows).map((_, r) => (r % 2 === 0 ? rng.int(V) : IGNORE_TARGET));
    const d64 = new Float64Array(rows * V);
    const expected = referenceKernels('f64').softmaxCrossEntropy(logits64, targets, rows, V, d64, 1 / 1000);
    for (const { kernels: k } of backends) {
      const l = k.alloc(rows * V);
      l.set(logits64);
      const t = k.allocInt(rows);
      t.set(targets);
      const d = k.alloc(rows * V);
      d.fill(1);
      const loss = k.softmaxCrossEntropy(l, t, rows, V, d, 1 / 1000);
      assert.ok(Math.abs(loss - expected) <= tolerance * Math.abs(expected), `${k.name}: ${loss} vs ${expected}`);
      assert.ok(error(d, d64) < tolerance, `${k.name}: dLogits`);
      for (let r = 1; r < rows; r += 2) for (let j = 0; j < V; j++) assert.equal(d[r * V + j], 0);
    }
  });
});

describe('padded batches are exact (float64 reference)', () => {
  for (const cell of ['lstm', 'gru', 'rnn'] as CellType[]) {
    it(`${cell}: the gradient of a padded batch is the sum of each line's gradient alone`, () => {
      const k = referenceKernels('f64');
      const config = { cell, layers: 2, hidden: 5, emb: 3, vocabSize: VOCAB.size, dropout: 0 };
      const model = new CharRNN(config, k, { seed: 11 });
      const lines = encodeLines(['dabba', 'a', 'cab', 'bb'], VOCAB);
      const n = lineCount(lines);
      const B = 6; // two rows of padding only, besides the padding after the short lines
      const order = [0, 1, 2, 3];
      const x = new Int32Array(B * 6),
        y = new Int32Array(B * 6);
      const T = writeLineBatch(lines, order, 0, n, B, x, y);
      assert.equal(T, 6);
      model.params.zeroGrad();
      model.forward(x, T, B, model.newState(B), { train: true });
      const scored = [...y.subarray(0, T * B)].filter(v => v !== IGNORE_TARGET).length;
      assert.equal(scored, 5 + 1 + 1 + 1 + 3 + 1 + 2 + 1);
      const batchLoss = model.backward(y) * scored;
      const batchGrad = Float64Array.from(model.params.grad, g => g * scored); // backward gives the mean's gradient

      const sumGrad = new Float64Array(batchGrad.length);
      let sumLoss = 0;
      for (let i = 0; i < n; i++) {
        const len = lineLength(lines, i) + 1;
        const xi = new Int32Array(len),
          yi = new Int32Array(len);
        writeLineBatch(lines, [i], 0, 1, 1, xi, yi);
        model.params.zeroGrad();
        model.forward(xi, len, 1, model.newState(1), { train: true });
        sumLoss += model.backward(yi) * len;
        for (let j = 0; j < sumGrad.length; j++) sumGrad[j] += model.params.grad[j] * len;
      }
      assert.ok(Math.abs(batchLoss - sumLoss) < 1e-12 * sumLoss, `loss ${batchLoss} vs ${sumLoss}`);
      assert.ok(error(batchGrad, sumGrad) < 1e-10, `gradient differs by ${error(batchGrad, sumGrad)}`);
      assert.ok(sumGrad.some(g => g !== 0));
    });
  }
});

describe('LineBatcher', () => {
  const lines = encodeLines(WORDS, VOCAB);
  const B = 4;

  function epochOf(batcher: LineBatcher): { lines: string[]; chunks: Int32Array[] } {
    const x = new Int32Array(B * batcher.maxT),
      y = new Int32Array(B * batcher.maxT);
    const seen: string[] = [];
    const chunks: Int32Array[] = [];
    for (let s = 0; s < batcher.stepsPerEpoch; s++) {
      const { T, reset } = batcher.next(x, y);
      assert.equal(reset, true);
      const got = linesOfChunk(y, T, B, VOCAB);
      // T is the longest line of the chunk + 1, and every input starts with the end-of-line.
      assert.equal(T, Math.max(...got.map(l => l.length)) + 1);
      for (let b = 0; b < B; b++) assert.equal(VOCAB.chars[x[b]], '\n');
      seen.push(...got);
      chunks.push(Int32Array.from([...x.subarray(0, T * B), ...y.subarray(0, T * B)]));
    }
    return { lines: seen, chunks };
  }

  it('hands out every line once per pass, in a new order each pass', () => {
    const batcher = new LineBatcher(lines, B, 1);
    assert.equal(batcher.stepsPerEpoch, Math.ceil(WORDS.length / B));
    const first = epochOf(batcher);
    assert.equal(batcher.epoch, 1);
    const second = epochOf(batcher);
    assert.deepEqual([...first.lines].sort(), [...WORDS].sort());
    assert.deepEqual([...second.lines].sort(), [...WORDS].sort());
    assert.notDeepEqual(first.lines, second.lines);
  });

  it('is a function of the seed', () => {
    const a = epochOf(new LineBatcher(lines, B, 7));
    const b = epochOf(new LineBatcher(lines, B, 7));
    const c = epochOf(new LineBatcher(lines, B, 8));
    assert.deepEqual(a.chunks, b.chunks);
    assert.notDeepEqual(a.lines, c.lines);
  });

  it('resumes bit-exact from a saved state, mid-pass', () => {
    const a = new LineBatcher(lines, B, 3);
    epochOf(a);
    const x = new Int32Array(B * a.maxT),
      y = new Int32Array(B * a.maxT);
    a.next(x, y);
    a.next(x, y);
    const saved = JSON.parse(JSON.stringify(a.getState()));
    const b = new LineBatcher(lines, B, 3);
    b.setState(saved);
    assert.equal(b.epoch, a.epoch);
    assert.deepEqual(epochOf(b).chunks, epochOf(a).chunks);
    assert.throws(() => b.setState({ pos: 1, chunks: 0 }), CharrnnError);
  });

  it('padding figure equals the ignored targets it writes', () => {
    const batcher = new LineBatcher(lines, B, 5);
    const x = new Int32Array(B * batcher.maxT),
      y = new Int32Array(B * batcher.maxT);
    let positions = 0,
      ignored = 0;
    for (let s = 0; s < batcher.stepsPerEpoch; s++) {
      const { T, targets } = batcher.next(x, y);
      positions += T * B;
      let chunkIgnored = 0;
      for (let i = 0; i < T * B; i++) if (y[i] === IGNORE_TARGET) chunkIgnored++;
      assert.equal(targets, T * B - chunkIgnored, 'the targets a chunk reports are those it scores');
      ignored += chunkIgnored;
    }
    assert.deepEqual(linePadding(lines, B), { positions, padding: ignored });
  });

  it('trains through Trainer and resumes bit-exact from a checkpoint', () => {
    const k = referenceKernels('f32');
    const config = { cell: 'gru' as const, layers: 1, hidden: 8, emb: 4, vocabSize: VOCAB.size, dropout: 0.1 };
    const training = {
      batch: B,
      seq: 1,
      clip: 5,
      lrDecay: 1,
      lrDecayEvery: 0,
      optimizer: { ...DEFAULT_OPTIMIZER, name: 'adam' as const, lr: 0.01 },
    };
    const whole = new Trainer(new CharRNN(config, k, { seed: 2 }), new LineBatcher(lines, B, 9), training);
    const losses = Array.from({ length: 12 }, () => whole.step().loss);
    const first = new Trainer(new CharRNN(config, k, { seed: 2 }), new LineBatcher(lines, B, 9), training);
    for (let i = 0; i < 7; i++) first.step();
    const saved = decodeCheckpoint(encodeCheckpoint(first, VOCAB, { settings: {}, textHash: '', bestValLoss: null }), 'checkpoint');
    const resumed = new Trainer(saved.model(k), new LineBatcher(lines, B, 9), training);
    saved.restore(resumed);
    const rest = Array.from({ length: 5 }, () => resumed.step().loss);
    assert.deepEqual(rest, losses.slice(7));
    assert.ok(losses[11] < losses[0], 'the loss goes down');
  });
});

describe('line data', () => {
  it('splitLines: non-empty lines, CR of CRLF dropped; one sentence for bad input', () => {
    assert.deepEqual(splitLines('ab\r\n\ncd\n\n', 'x').lines, ['ab', 'cd']);
    assert.deepEqual(splitLines('ab\r\n\ncd', 'x').lineNumbers, [1, 3]);
    assert.throws(
      () => splitLines('no line breaks here', 'list.txt'),
      (e: Error) => e instanceof CharrnnError && /list\.txt has no line breaks/.test(e.message),
    );
    assert.throws(
      () => splitLines('\n\r\n\n', 'list.txt'),
      (e: Error) => e instanceof CharrnnError && /every line of list\.txt is empty/.test(e.message),
    );
    assert.throws(
      () => splitLines(`ok\n${'x'.repeat(12)}\n`, 'list.txt', 10),
      (e: Error) => e instanceof CharrnnError && /^Line 2 of list\.txt has 12 characters.*at most 10/.test(e.message),
    );
    // Counted in code points: 10 emoji are 20 UTF-16 units.
    assert.deepEqual(splitLines(`${'🙂'.repeat(10)}\n`, 'x', 10).lines.length, 1);
  });

  it('holdOutLines: random whole lines with the seed, copies on one side, not the last lines of a sorted list', () => {
    const sorted = Array.from({ length: 1000 }, (_, i) => `line${String(i).padStart(4, '0')}`);
    sorted.push('line0003', 'line0003', 'line0500'); // copies
    const a = holdOutLines(sorted, 0.1, 1);
    assert.deepEqual(holdOutLines(sorted, 0.1, 1), a);
    assert.notDeepEqual(holdOutLines(sorted, 0.1, 2).val, a.val);
    assert.ok(a.val.length >= 100 && a.val.length <= 103, `${a.val.length} held out`);
    assert.equal(a.train.length + a.val.length, sorted.length);
    const trainSet = new Set(a.train);
    assert.ok(
      a.val.every(l => !trainSet.has(l)),
      'no line on both sides',
    );
    assert.ok(
      a.val.some(l => l < 'line0500'),
      'held-out lines come from the whole list',
    );
    assert.ok(a.val.some(l => l >= 'line0500'));
    assert.equal(holdOutLines(sorted, 0, 1).val.length, 0);
    assert.equal(holdOutLines(['a', 'b'], 0.1, 1).val.length, 1, 'at least one line when asked for some');
    assert.equal(holdOutLines(['a', 'a'], 0.5, 1).val.length, 0, 'never every distinct line');
  });

  it("lineValidationLoss: the mean over every line's targets, each line scored alone from a zero state", () => {
    const k = referenceKernels('f64');
    const model = new CharRNN({ cell: 'lstm', layers: 1, hidden: 6, emb: 3, vocabSize: VOCAB.size, dropout: 0 }, k, { seed: 4 });
    const lines = encodeLines(WORDS, VOCAB);
    let nats = 0,
      targets = 0;
    for (const w of WORDS) {
      const ids = [...VOCAB.encode('\n' + w + '\n').ids];
      const logits = model.forward(ids.slice(0, -1), ids.length - 1, 1, model.newState(1));
      for (let t = 0; t < ids.length - 1; t++) {
        const row = Array.from(logits.subarray(t * VOCAB.size, (t + 1) * VOCAB.size));
        const max = Math.max(...row);
        nats += Math.log(row.reduce((s, v) => s + Math.exp(v - max), 0)) + max - row[ids[t + 1]];
      }
      targets += w.length + 1;
    }
    for (const batch of [1, 3, 50]) {
      const got = lineValidationLoss(model, lines, batch);
      assert.ok(Math.abs(got - nats / targets) < 1e-12, `batch ${batch}: ${got} vs ${nats / targets}`);
    }
    const scored = scoreLines(model, VOCAB, WORDS.join('\r\n') + '\n\nxa\n');
    assert.equal(scored.lines, WORDS.length + 1);
    assert.equal(scored.skipped, 1);
  });

  it('lineCorpus: vocabulary of the lines and the end-of-line only, validation apart', () => {
    const c = lineCorpus('b\r\nab\n\nba\nbb\naa\n', 'x', 0.4, 1);
    assert.deepEqual(c.vocab.chars, ['\n', 'a', 'b']);
    assert.equal(lineCount(c.train) + lineCount(c.val), 5);
    assert.equal(lineCount(c.val), 2);
  });
});

describe('LineSet and the line-model metadata', () => {
  it('hashes are 32-bit FNV-1a of UTF-8 (published test vectors)', () => {
    assert.equal(lineHash(''), 0x811c9dc5);
    assert.equal(lineHash('a'), 0xe40c292c);
    assert.equal(lineHash('foobar'), 0xbf9cf968);
    assert.equal(lineHash('foobar\r'), 0xbf9cf968, 'a CRLF line is the same line');
  });

  it('knows its lines, rarely another, and survives encode/decode', () => {
    const lines = Array.from({ length: 10000 }, (_, i) => `name ${i} ${'é'.repeat(i % 3)}`);
    const set = LineSet.fromLines([...lines, lines[0]]);
    assert.equal(set.size, 10000);
    const text = set.encode();
    const back = LineSet.decode(text, 'm');
    assert.ok(lines.every(l => back.has(l)));
    let falsePositives = 0;
    for (let i = 0; i < 100000; i++) if (back.has(`other ${i}`)) falsePositives++;
    assert.ok(falsePositives <= 5, `${falsePositives} of 100000 unseen lines taken for seen ones (expected about 0.2)`);
    // Gaps of about 2^32 / 10^4 as varints: 3 bytes, 4 base64 characters per line, where raw hashes would take 5.3.
    assert.ok(text.length <= 4 * 10000, `${text.length} characters`);
    assert.throws(
      () => LineSet.decode('@@@', 'm.safetensors'),
      (e: Error) => e instanceof CharrnnError && /m\.safetensors has a damaged set/.test(e.message),
    );
    assert.throws(() => LineSet.decode(btoa('\x80'), 'm'), CharrnnError);
  });

  it('lineModelInfo reads what lineModelMetadata wrote, in a model file; null for a model of running text', () => {
    const model = new CharRNN({ cell: 'rnn', layers: 1, hidden: 4, emb: 2, vocabSize: VOCAB.size, dropout: 0 }, referenceKernels('f32'));
    const bytes = encodeModel(model, VOCAB, lineModelMetadata('\n', WORDS));
    const { metadata, tensors } = decodeModel(bytes, 'm');
    assert.equal(tensors.size, model.params.specs.length, 'no extra tensors');
    const info = lineModelInfo(metadata);
    assert.ok(info);
    assert.equal(info.eol, '\n');
    assert.ok(WORDS.every(w => info.lineSet.has(w)));
    assert.ok(!info.lineSet.has('abcabc'));
    assert.equal(lineModelInfo(decodeModel(encodeModel(model, VOCAB), 'm').metadata), null);
    assert.throws(() => lineModelInfo({ lines: '{"eol":""}', lines_seen: '' }, 'm'), CharrnnError);
    assert.throws(() => lineModelInfo({ lines: '{"eol":"\\n"}' }, 'm'), CharrnnError);
  });
});
