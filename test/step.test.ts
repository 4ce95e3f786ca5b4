// Generation on GenerationBatch: the step against forward on the reference backend
// (bit for bit, whatever B), step-based generation against the forward-based one,
// batched sampling, and the choice rule. The engines' step kernels themselves
// (Kernels.cellStep and Kernels.bindModelStep through GenerationBatch: against the
// float64 reference, every stream's numbers whatever B, weights followed, bad ids
// refused) are checked on every engine by the conformance suite (test/conformance/).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CellType, Kernels } from '../src/kernels/kernels.js';
import { referenceKernels } from '../src/kernels/reference/index.js';
import { CharRNN } from '../src/model/charrnn.js';
import type { ModelConfig } from '../src/model/config.js';
import { loadKernels } from '../src/node/backend.js';
import { GenerationBatch } from '../src/generate/generation-batch.js';
import { chooseNext, DEFAULT_RULE } from '../src/generate/decoding.js';
import { createGenerator } from '../src/generate/create-generator.js';
import { PRIME_STEPS_MAX } from '../src/generate/encode-prime.js';
import { GenerateOptionsError, parseGenerateOptions } from '../src/generate/options.js';
import { sampleTexts } from '../src/generate/sample-texts.js';
import { Vocabulary } from '../src/text/vocabulary.js';
import { Random } from '../src/util/random.js';
import { trainBriefly } from './helpers.js';

const CELLS: CellType[] = ['lstm', 'gru', 'rnn'];

// Generation on the backends a user gets: the specification and the default choice.
const BACKENDS: { name: string; kernels: Kernels<Float32Array> }[] = [
  { name: 'reference', kernels: referenceKernels('f32') },
  { name: 'default', kernels: await loadKernels() },
];

describe('GenerationBatch.step', () => {
  it('is bit-identical to forward (T = 1) on the reference backend, whatever B', () => {
    for (const cell of CELLS) {
      const config: ModelConfig = { cell, layers: 3, hidden: 9, emb: 4, vocabSize: 7, dropout: 0 };
      const a = new CharRNN(config, referenceKernels('f32'), { seed: 3 });
      const b = new CharRNN(config, referenceKernels('f32'), { seed: 3 });
      const sa = a.newState(3);
      const batch = new GenerationBatch(b, { capacity: 3 });
      const streams = [batch.open(), batch.open(), batch.open()];
      for (let t = 0; t < 5; t++) {
        const ids = [t % 7, (2 * t + 1) % 7, (3 * t + 2) % 7];
        streams.forEach((s, i) => s.input(ids[i]));
        batch.step();
        const want = a.forward(ids, 1, 3, sa);
        streams.forEach((s, i) =>
          assert.deepEqual(Array.from(s.logits), Array.from(want.subarray(i * 7, (i + 1) * 7)), `${cell} step ${t} stream ${i}`),
        );
      }
    }
  });
});

/** Generation as it was before CharRNN.step: every character fed back through forward(T = 1). */
function generateWithForward(
  model: CharRNN<Float32Array>,
  vocab: Vocabulary,
  prime: string,
  length: number,
  seed: number,
  rule = DEFAULT_RULE,
): string {
  const rng = new Random(seed);
  const V = vocab.size;
  const state = model.newState(1);
  const probs = new Float64Array(V),
    order = new Uint32Array(V);
  const primeIds = Array.from(vocab.encode(prime).ids);
  let logits = model.forward(primeIds, primeIds.length, 1, state);
  let row = logits.subarray((primeIds.length - 1) * V, primeIds.length * V);
  let out = '';
  for (let i = 0; i < length; i++) {
    const next = chooseNext(row, V, rule, rng, probs, order);
    out += vocab.chars[next];
    logits = model.forward([next], 1, 1, state);
    row = logits.subarray(0, V);
  }
  return out;
}

describe('generation with step', () => {
  const text = 'the quick brown fox jumps over the lazy dog.\n'.repeat(20);
  const vocab = Vocabulary.fromText(text);
  const trained = (k: Kernels<Float32Array>, cell: CellType): CharRNN<Float32Array> => {
    const m = new CharRNN({ cell, layers: 2, hidden: 24, emb: 8, vocabSize: vocab.size, dropout: 0 }, k, { seed: 4 });
    trainBriefly(m, vocab.encode(text).ids, 15);
    return m;
  };

  it('gives exactly the text of the forward-based path on the reference backend (greedy, and sampled by seed)', () => {
    for (const cell of CELLS) {
      const m = trained(referenceKernels('f32'), cell);
      const greedy = sampleTexts(m, vocab, { prime: 'the qu', length: 120, greedy: true })[0];
      assert.equal(greedy, generateWithForward(m, vocab, 'the qu', 120, 1, { ...DEFAULT_RULE, greedy: true }), cell);
      // A prime longer than PRIME_STEPS_MAX is read by one forward pass rather than by steps: the same text.
      const long = text.slice(3, 3 + PRIME_STEPS_MAX + 9);
      assert.equal(
        sampleTexts(m, vocab, { prime: long, length: 40, seed: 6 })[0],
        generateWithForward(m, vocab, long, 40, 6),
        `${cell}, long prime`,
      );
      for (const seed of [1, 2]) {
        const rule = { ...DEFAULT_RULE, temperature: 0.9, topK: 10 };
        assert.equal(
          sampleTexts(m, vocab, { prime: 'fox', length: 150, seed, ...rule })[0],
          generateWithForward(m, vocab, 'fox', 150, seed, rule),
          `${cell} seed ${seed}`,
        );
      }
    }
  });

  it('yields characters one at a time, the requested number of them', () => {
    const m = trained(referenceKernels('f32'), 'gru');
    const pieces = createGenerator(m, vocab, parseGenerateOptions({ prime: 'lazy', length: 30, seed: 5 })).pieces();
    let n = 0;
    for (const [c] of pieces) {
      assert.equal(typeof c, 'string');
      assert.ok(vocab.id(c) !== undefined);
      n++;
    }
    assert.equal(n, 30);
  });

  it('sampleTexts: count texts of the requested length; stream i is the text of seed + i alone; deterministic', () => {
    for (const { name, kernels: k } of BACKENDS) {
      const m = trained(k, 'lstm');
      for (const prime of ['the ', '']) {
        const opts = { prime, length: 60, seed: 11, temperature: 1.2 };
        const texts = sampleTexts(m, vocab, { ...opts, count: 4 });
        assert.equal(texts.length, 4);
        for (const t of texts) {
          assert.equal(Array.from(vocab.encode(t).ids).length, 60, `${name}: ${JSON.stringify(t)}`);
          assert.equal([...t].length, 60);
        }
        assert.deepEqual(sampleTexts(m, vocab, { ...opts, count: 4 }), texts, `${name}: same seed, same texts`);
        texts.forEach((t, i) =>
          assert.equal(t, sampleTexts(m, vocab, { ...opts, seed: 11 + i })[0], `${name} stream ${i} (prime ${JSON.stringify(prime)})`),
        );
        // 4 streams of 60 draws at temperature 1.2: equal texts would be a coincidence.
        assert.equal(new Set(texts).size, 4, `${name}: the streams differ`);
      }
      assert.deepEqual(sampleTexts(m, vocab, { length: 0, count: 3 }), ['', '', '']);
      assert.throws(() => sampleTexts(m, vocab, { length: 3, count: 0 }), GenerateOptionsError);
    }
  });

  it('chooseNext: top-k and top-p rank by probability, ties by id, as a plain sort does', () => {
    // An independent plain version of the rule: softmax, then (when a filter applies) the ids ranked by
    // Array.prototype.sort, the kept prefix, and one uniform draw over the kept mass.
    const plain = (logits: Float64Array, rule: typeof DEFAULT_RULE, rng: Random): number => {
      const V = logits.length;
      const max = Math.max(...logits);
      const e = Array.from(logits, l => Math.exp((l - max) / rule.temperature));
      const sum = e.reduce((a, b) => a + b, 0);
      const p = e.map(v => v / sum);
      const ids = Array.from({ length: V }, (_, j) => j);
      const filtered = (rule.topK > 0 && rule.topK < V) || rule.topP < 1;
      const ranked = filtered ? ids.sort((a, b) => p[b] - p[a] || a - b) : ids;
      let keep = filtered && rule.topK > 0 ? Math.min(rule.topK, V) : V;
      if (filtered && rule.topP < 1) {
        let c = 0;
        for (let r = 0; r < keep; r++) {
          c += p[ranked[r]];
          if (c >= rule.topP) {
            keep = r + 1;
            break;
          }
        }
      }
      let u = rng.next() * (filtered ? ranked.slice(0, keep).reduce((a, j) => a + p[j], 0) : 1);
      for (let r = 0; r < keep; r++) {
        u -= p[ranked[r]];
        if (u < 0) return ranked[r];
      }
      return filtered ? ranked[keep - 1] : ranked.filter(j => p[j] > 0).pop()!;
    };
    for (let trial = 0; trial < 600; trial++) {
      const V = 1 + (trial % 70);
      const rng = new Random(trial);
      // Coarse logits on a third of the trials: many equal probabilities, so the tie order matters.
      const logits = Float64Array.from({ length: V }, () => Math.round(rng.uniform(-3, 3) * (trial % 3 ? 100 : 2)) / 10);
      for (const rule of [
        { ...DEFAULT_RULE, topK: 5 },
        { ...DEFAULT_RULE, temperature: 0.7, topP: 0.6 },
        { ...DEFAULT_RULE, temperature: 1.3, topK: 3, topP: 0.9 },
      ]) {
        const got = chooseNext(logits, V, rule, new Random(trial), new Float64Array(V), new Uint32Array(V));
        assert.equal(got, plain(logits, rule, new Random(trial)), `trial ${trial} ${JSON.stringify(rule)}`);
      }
    }
  });

  it('sampleTexts starts each stream at its own random character when the model knows no newline', () => {
    const v = Vocabulary.fromText('abcdefg');
    const m = new CharRNN({ cell: 'rnn', layers: 1, hidden: 8, emb: 4, vocabSize: v.size, dropout: 0 }, referenceKernels('f32'), {
      seed: 1,
    });
    const texts = sampleTexts(m, v, { length: 12, count: 5, seed: 3 });
    texts.forEach((t, i) => assert.equal(t, sampleTexts(m, v, { length: 12, seed: 3 + i })[0]));
    assert.ok(new Set(texts.map(t => t[0])).size > 1, 'the first characters differ');
    // The first character is drawn, output, and then read once, as every other generated character is:
    // after the first step the stream predicts what the model predicts after that one character.
    const batch = new GenerationBatch(m, { capacity: 1 });
    const gen = createGenerator(m, v, parseGenerateOptions({ length: 12, seed: 3 }), batch);
    const [first] = gen.advance();
    assert.equal(first, texts[0][0]);
    batch.step();
    const want = m.forward([v.id(first)!], 1, 1, m.newState(1));
    assert.deepEqual(Array.from(batch.rowLogits(0)), Array.from(want));
    gen.dispose();
    batch.dispose();
  });
});
