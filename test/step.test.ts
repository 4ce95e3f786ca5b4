// Inference steps (Kernels.cellStep, Kernels.bindModelStep, CharRNN.step) and the
// generation built on them, on every backend, against the float64 reference's
// forward pass with T = 1: every cell type, one and five streams, awkward hidden
// sizes; the inference table kept current as weights change; step-based
// generation against the forward-based one; batched sampling.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  cellActivationSizes, cellStepScratchSize, GATES, type CellShape, type CellType, type CellWeights, type Kernels,
} from '../src/kernels/kernels.js';
import { referenceKernels } from '../src/kernels/reference/index.js';
import { loadWasmKernels, relaxedSimdSupported } from '../src/kernels/wasm/index.js';
import { CharRNN, type ModelState } from '../src/model/charrnn.js';
import type { ModelConfig } from '../src/model/config.js';
import { encodeModel, loadModel } from '../src/model/model-file.js';
import { loadNativeKernels } from '../src/node/native-kernels.js';
import { enableWasmFeatures } from '../src/node/wasm-flags.js';
import { StreamBatch } from '../src/generate/batch.js';
import { chooseNext, DEFAULT_RULE } from '../src/generate/decoding.js';
import { GenerateOptionsError } from '../src/generate/options.js';
import { generate, sample, sampleBatch } from '../src/sample/sampler.js';
import { Vocabulary } from '../src/text/vocabulary.js';
import { DEFAULT_OPTIMIZER } from '../src/train/optimizer.js';
import { Trainer } from '../src/train/trainer.js';
import { Random } from '../src/util/random.js';
import { maxRelativeError, randomFill } from './helpers.js';

const ref = referenceKernels('f64');
const CELLS: CellType[] = ['lstm', 'gru', 'rnn'];
const HIDDEN = [1, 3, 17, 129];
const STREAMS = [1, 5];

interface Backend { name: string; kernels: Kernels<Float32Array>; tol: number }

// Every float32 backend and every variant of one: the wasm builds, the native
// step kernels at each instruction set this CPU has, and the threaded step.
enableWasmFeatures();
const BACKENDS: Backend[] = [{ name: 'reference-f32', kernels: referenceKernels('f32'), tol: 1e-5 }];
BACKENDS.push({ name: 'wasm-simd', kernels: await loadWasmKernels({ relaxedSimd: false }), tol: 1e-4 });
if (relaxedSimdSupported()) BACKENDS.push({ name: 'wasm-relaxed', kernels: await loadWasmKernels(), tol: 1e-4 });
const nativeBest = loadNativeKernels();
if (nativeBest) {
  for (const stepSimd of ['avx512', 'avx2-fma', 'generic'] as const) {
    const k = loadNativeKernels({ stepSimd, threads: 1 })!;
    if (k.stepSimd === stepSimd) BACKENDS.push({ name: `native-${stepSimd}`, kernels: k, tol: 1e-4 });
  }
  // Every model step on all threads, however small, split between 2 and 3 of them.
  for (const threads of [2, 3]) {
    BACKENDS.push({ name: `native-${threads}-threads`, kernels: loadNativeKernels({ threads, stepParallelMin: 0, stepAutotune: false })!, tol: 1e-4 });
  }
}

/**
 * maxRelativeError with the floor at 1% of the largest expected magnitude: an
 * entry that cancels to nearly zero (a pre-activation at a zero crossing, a
 * logit) carries float32 rounding of the size of its terms, which the plain
 * relative error would magnify without bound.
 */
function relErr(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  let max = 0;
  for (let i = 0; i < expected.length; i++) max = Math.max(max, Math.abs(expected[i]));
  return maxRelativeError(actual, expected, Math.max(1e-4, 1e-2 * max));
}

function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number, what: string): void {
  const err = relErr(actual, expected);
  assert.ok(err < tol, `${what}: relative error ${err.toExponential(2)} (tolerance ${tol})`);
}

/** Random values rounded to float32, as a float64 array (the same numbers every backend gets). */
function randomF32(n: number, rng: Random, scale = 1): Float64Array {
  return Float64Array.from(Float32Array.from(randomFill(new Float64Array(n), rng, scale)));
}

function copyTo(k: Kernels<Float32Array>, src: Float64Array): Float32Array {
  const a = k.alloc(src.length);
  a.set(src);
  return a;
}

describe('cellStep', () => {
  for (const cell of CELLS) for (const H of HIDDEN) for (const B of STREAMS) {
    it(`${cell} H=${H} B=${B}: every backend, input x or table rows, matches the f64 reference forward (T = 1)`, () => {
      const rng = new Random(1000 + H * 10 + B + GATES[cell]);
      const I = 7, G = GATES[cell] * H, rows = 6;
      const scale = 1 / Math.sqrt(H);
      const w64: CellWeights<Float64Array> = {
        wih: randomF32(G * I, rng, scale), whh: randomF32(G * H, rng, scale), bih: randomF32(G, rng, scale), bhh: randomF32(G, rng, scale),
      };
      const x64 = randomF32(B * I, rng);
      const h64 = randomF32(B * H, rng, 0.5);
      const c64 = randomF32(B * H, rng, 0.5);
      // The table input: the rows are x W_ih^T + b_ih of some inputs, picked by ids.
      const table64 = randomF32(rows * G, rng);
      const ids = Array.from({ length: B }, (_, b) => (b * 4 + 1) % rows);

      // Expected: the reference forward with T = 1 from x; from the table, the same recurrence with gates preloaded.
      const shape: CellShape = { cell, T: 1, B, I, H };
      const expect = (fromTable: boolean): { h: Float64Array; c: Float64Array } => {
        const sizes = cellActivationSizes(shape);
        const act = { gates: new Float64Array(sizes.gates), aux: new Float64Array(sizes.aux), h: new Float64Array(sizes.h) };
        if (fromTable) {
          // An input whose projection is exactly the table row: W_ih = identity-free trick is not available,
          // so run forward on a layer whose W_ih is zero and whose b_ih is the row, stream by stream.
          const h = new Float64Array(B * H), c = new Float64Array(B * H);
          for (let b = 0; b < B; b++) {
            const one: CellShape = { cell, T: 1, B: 1, I, H };
            const s = cellActivationSizes(one);
            const a1 = { gates: new Float64Array(s.gates), aux: new Float64Array(s.aux), h: new Float64Array(s.h) };
            ref.cellForward({
              shape: one, weights: { ...w64, wih: new Float64Array(G * I), bih: table64.subarray(ids[b] * G, (ids[b] + 1) * G) },
              x: new Float64Array(I), h0: h64.subarray(b * H, (b + 1) * H), c0: cell === 'lstm' ? c64.subarray(b * H, (b + 1) * H) : null, act: a1,
            });
            h.set(a1.h, b * H);
            if (cell === 'lstm') c.set(a1.aux, b * H);
          }
          return { h, c };
        }
        ref.cellForward({ shape, weights: w64, x: x64, h0: h64, c0: cell === 'lstm' ? c64 : null, act });
        return { h: act.h, c: cell === 'lstm' ? act.aux : new Float64Array(0) };
      };
      const fromX = expect(false), fromTable = expect(true);

      for (const { name, kernels: k, tol } of [...BACKENDS, { name: 'reference-f64', kernels: ref as unknown as Kernels<Float32Array>, tol: 1e-12 }]) {
        for (const useTable of [false, true]) {
          const wk: CellWeights<Float32Array> = { wih: copyTo(k, w64.wih), whh: copyTo(k, w64.whh), bih: copyTo(k, w64.bih), bhh: copyTo(k, w64.bhh) };
          const h = copyTo(k, h64);
          const c = cell === 'lstm' ? copyTo(k, c64) : null;
          const idsK = k.allocInt(B);
          idsK.set(ids);
          k.cellStep({
            shape, weights: wk, input: useTable ? { table: copyTo(k, table64), ids: idsK } : { x: copyTo(k, x64) },
            h, c, scratch: k.alloc(cellStepScratchSize(shape)),
          });
          const want = useTable ? fromTable : fromX;
          const what = `${name} ${useTable ? 'table' : 'x'}`;
          assertClose(h, want.h, tol, `${what} h`);
          if (c) assertClose(c, want.c, tol, `${what} c`);
        }
      }
    });
  }

  it('rejects T other than 1 and ids outside the table on every backend', () => {
    for (const { name, kernels: k } of BACKENDS) {
      const shape: CellShape = { cell: 'gru', T: 1, B: 2, I: 3, H: 4 };
      const G = 12;
      const weights = { wih: k.alloc(G * 3), whh: k.alloc(G * 4), bih: k.alloc(G), bhh: k.alloc(G) };
      const ids = k.allocInt(2);
      ids.set([0, 2]); // the table has 2 rows
      const args = { shape, weights, input: { table: k.alloc(2 * G), ids }, h: k.alloc(8), c: null, scratch: k.alloc(cellStepScratchSize(shape)) };
      assert.throws(() => k.cellStep(args), RangeError, name);
      assert.throws(() => k.cellStep({ ...args, shape: { ...shape, T: 2 } }), RangeError, name);
    }
  });
});

/** The reference f64 model and, on backend k, a model with the same (float32-rounded) weights. */
function twin(config: ModelConfig, k: Kernels<Float32Array>, seed: number): { m64: CharRNN<Float64Array>; m: CharRNN<Float32Array> } {
  const m = new CharRNN(config, k, { seed });
  const m64 = new CharRNN(config, ref, { seed });
  m64.params.data.set(m.params.data);
  m64.params.changed();
  return { m64, m };
}

function assertStatesClose(s: ModelState<Float32Array>, s64: ModelState<Float64Array>, tol: number, what: string): void {
  s64.layers.forEach((l, i) => {
    assertClose(s.layers[i].h, l.h, tol, `${what} h of layer ${i}`);
    if (l.c) assertClose(s.layers[i].c!, l.c, tol, `${what} c of layer ${i}`);
  });
}

/**
 * B streams of a StreamBatch from zero states, stepped together with the given
 * ids: logits [B, V] (a copy) after each step, and the state [B, H] per layer.
 */
function stepper(m: CharRNN<Float32Array>, B: number) {
  const batch = new StreamBatch(m, { capacity: B });
  const streams = Array.from({ length: B }, () => batch.open());
  return {
    step(ids: ArrayLike<number>): Float32Array {
      if (ids.length < B) batch.step(); // a stream without input: the batch refuses to step
      streams.forEach((s, b) => s.input(ids[b]));
      batch.step();
      const out = new Float32Array(B * m.config.vocabSize);
      streams.forEach((s, b) => out.set(s.logits, b * m.config.vocabSize));
      return out;
    },
    state(): ModelState<Float32Array> {
      const parts = streams.map(s => s.getState());
      const rows = (i: number, which: 'h' | 'c'): Float32Array => Float32Array.from(parts.flatMap(p => Array.from(p.layers[i][which]!)));
      return { B, layers: parts[0].layers.map((l, i) => ({ h: rows(i, 'h'), c: l.c === null ? null : rows(i, 'c') })) };
    },
    dispose: () => batch.dispose(),
  };
}

describe('StreamBatch.step', () => {
  for (const cell of CELLS) for (const H of HIDDEN) for (const B of STREAMS) {
    it(`${cell} H=${H} B=${B}: four steps on every backend match the f64 reference forward (T = 1), logits and state`, () => {
      const config: ModelConfig = { cell, layers: 2, hidden: H, emb: 5, vocabSize: 11, dropout: 0 };
      for (const { name, kernels: k, tol } of BACKENDS) {
        const { m64, m } = twin(config, k, 7 + H);
        const s64 = m64.newState(B), s = stepper(m, B);
        for (let t = 0; t < 4; t++) {
          const ids = Array.from({ length: B }, (_, b) => (3 * b + 5 * t + 1) % 11);
          const want = m64.forward(ids, 1, B, s64);
          const got = s.step(ids);
          assert.equal(got.length, B * 11);
          assertClose(got, want, tol, `${name} step ${t} logits`);
          assertStatesClose(s.state(), s64, tol, `${name} step ${t}`);
        }
      }
    });
  }

  it('is bit-identical to forward (T = 1) on the reference backend, whatever B', () => {
    for (const cell of CELLS) {
      const config: ModelConfig = { cell, layers: 3, hidden: 9, emb: 4, vocabSize: 7, dropout: 0 };
      const a = new CharRNN(config, referenceKernels('f32'), { seed: 3 });
      const b = new CharRNN(config, referenceKernels('f32'), { seed: 3 });
      const sa = a.newState(3), sb = stepper(b, 3);
      for (let t = 0; t < 5; t++) {
        const ids = [t % 7, (2 * t + 1) % 7, (3 * t + 2) % 7];
        assert.deepEqual(Array.from(sb.step(ids)), Array.from(a.forward(ids, 1, 3, sa)), `${cell} step ${t}`);
      }
    }
  });

  it('gives every stream the same numbers whatever B and however the threads split the work (native and wasm)', () => {
    const config: ModelConfig = { cell: 'lstm', layers: 2, hidden: 40, emb: 6, vocabSize: 13, dropout: 0 };
    for (const { name, kernels: k } of BACKENDS) {
      const m = new CharRNN(config, k, { seed: 5 });
      const B = 7;
      const sBatch = stepper(m, B);
      const singles = Array.from({ length: B }, () => stepper(m, 1));
      for (let t = 0; t < 3; t++) {
        const ids = Array.from({ length: B }, (_, b) => (b * 5 + t * 3) % 13);
        const batch = sBatch.step(ids);
        for (let b = 0; b < B; b++) {
          const one = singles[b].step([ids[b]]);
          assert.deepEqual(Array.from(one), Array.from(batch.subarray(b * 13, (b + 1) * 13)), `${name} stream ${b} step ${t}`);
        }
      }
    }
    if (nativeBest) {
      // The threaded step against the single-threaded one, at the same instruction set.
      const logits = [1, 2, 3].map(threads => {
        const m = new CharRNN(config, loadNativeKernels({ threads, stepParallelMin: 0, stepAutotune: false })!, { seed: 5 });
        const s = stepper(m, 5);
        let l: Float32Array = new Float32Array(0);
        for (let t = 0; t < 3; t++) l = s.step([1, 2, 3, 4, t]);
        return Array.from(l);
      });
      assert.deepEqual(logits[1], logits[0]);
      assert.deepEqual(logits[2], logits[0]);
      // A plan that measures one thread against two switches between them (64 steps each way, then
      // its choice): every step stays what the single-threaded step gives.
      const tuned = new CharRNN(config, loadNativeKernels({ threads: 2, stepParallelMin: 0 })!, { seed: 5 });
      const alone = new CharRNN(config, loadNativeKernels({ threads: 1 })!, { seed: 5 });
      const st = stepper(tuned, 2), sa = stepper(alone, 2);
      for (let t = 0; t < 200; t++) {
        const ids = [t % 13, (7 * t + 3) % 13];
        assert.deepEqual(Array.from(st.step(ids)), Array.from(sa.step(ids)), `step ${t}`);
      }
    }
  });

  it('rejects ids that are not character ids, and a step with a stream that has no input', () => {
    const config: ModelConfig = { cell: 'gru', layers: 1, hidden: 4, emb: 3, vocabSize: 5, dropout: 0 };
    for (const { name, kernels: k } of BACKENDS) {
      const m = new CharRNN(config, k);
      const s = stepper(m, 2);
      for (const bad of [[0, 5], [-1, 0], [0, 1.5], [0, NaN]]) assert.throws(() => s.step(bad), RangeError, `${name} ${bad}`);
      assert.throws(() => s.step([0]), /has no input/, name);
    }
  });

  it('reflects new weights after an optimizer step, a load, or params.changed()', () => {
    const text = 'abcabcabd\n'.repeat(30);
    const vocab = Vocabulary.fromText(text);
    const ids = vocab.encode(text).ids;
    const config: ModelConfig = { cell: 'lstm', layers: 2, hidden: 12, emb: 6, vocabSize: vocab.size, dropout: 0 };
    for (const { name, kernels: k, tol } of BACKENDS) {
      const m = new CharRNN(config, k, { seed: 2 });
      const probe = (): void => {
        // A fresh state on both sides: step must agree with forward under the weights as they are now.
        const s = stepper(m, 2), sf = m.newState(2);
        for (let t = 0; t < 2; t++) {
          const x = [t + 1, t + 2];
          const want = Float32Array.from(m.forward(x, 1, 2, sf));
          assertClose(s.step(x), want, tol, `${name} after a change`);
        }
      };
      // A disposed batch leaves its buffers and bound plans to the next batch of the model: they must
      // read the weights as they are then.
      const first = stepper(m, 2);
      const before = first.step([1, 2]);
      first.dispose();
      // An optimizer step moves every weight, the embedding and layer 0's W_ih (the table's inputs) included.
      const trainer = new Trainer(m, ids, { batch: 2, seq: 8, clip: 5, lrDecay: 1, lrDecayEvery: 0, optimizer: { ...DEFAULT_OPTIMIZER, lr: 0.05 } });
      trainer.step();
      const after = stepper(m, 2).step([1, 2]);
      assert.ok(relErr(after, before) > 1e-3, `${name}: step() still gives the old logits after training`);
      probe();
      // Weights written by hand, announced with params.changed().
      const emb = m.params.get('emb.weight');
      for (let i = 0; i < emb.length; i++) emb[i] *= -1;
      m.params.changed();
      probe();
      // A model loaded from a file into a model that has stepped already.
      const other = new CharRNN(config, k, { seed: 9 });
      stepper(other, 2).step([0, 1]);
      const file = encodeModel(other, vocab);
      const { model: loaded } = loadModel(file, 'memory', k);
      const sl = stepper(loaded, 1), so = other.newState(1);
      assertClose(sl.step([3]), Float32Array.from(other.forward([3], 1, 1, so)), tol, `${name} loaded`);
    }
  });
});

/** Generation as it was before CharRNN.step: every character fed back through forward(T = 1). */
function generateWithForward(model: CharRNN<Float32Array>, vocab: Vocabulary, prime: string, length: number, seed: number,
  rule = DEFAULT_RULE): string {
  const rng = new Random(seed);
  const V = vocab.size;
  const state = model.newState(1);
  const probs = new Float64Array(V), order = new Uint32Array(V);
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
    const t = new Trainer(m, vocab.encode(text).ids, { batch: 4, seq: 16, clip: 5, lrDecay: 1, lrDecayEvery: 0, optimizer: { ...DEFAULT_OPTIMIZER, lr: 0.01 } });
    for (let i = 0; i < 15; i++) t.step();
    return m;
  };

  it('gives exactly the text of the forward-based path on the reference backend (greedy, and sampled by seed)', () => {
    for (const cell of CELLS) {
      const m = trained(referenceKernels('f32'), cell);
      const greedy = sample(m, vocab, { prime: 'the qu', length: 120, greedy: true });
      assert.equal(greedy, generateWithForward(m, vocab, 'the qu', 120, 1, { ...DEFAULT_RULE, greedy: true }), cell);
      for (const seed of [1, 2]) {
        const rule = { ...DEFAULT_RULE, temperature: 0.9, topK: 10 };
        assert.equal(sample(m, vocab, { prime: 'fox', length: 150, seed, ...rule }), generateWithForward(m, vocab, 'fox', 150, seed, rule), `${cell} seed ${seed}`);
      }
    }
  });

  it('yields characters one at a time, the requested number of them', () => {
    const m = trained(referenceKernels('f32'), 'gru');
    const it = generate(m, vocab, { prime: 'lazy', length: 30, seed: 5 });
    let n = 0;
    for (const c of it) {
      assert.equal(typeof c, 'string');
      assert.ok(vocab.id(c) !== undefined);
      n++;
    }
    assert.equal(n, 30);
    assert.throws(() => generate(m, vocab, { length: 3, count: 2 }).next(), RangeError);
  });

  it('sampleBatch: count texts of the requested length; stream i is the text of seed + i alone; deterministic', () => {
    for (const { name, kernels: k } of BACKENDS) {
      const m = trained(k, 'lstm');
      for (const prime of ['the ', '']) {
        const opts = { prime, length: 60, seed: 11, temperature: 1.2 };
        const texts = sampleBatch(m, vocab, { ...opts, count: 4 });
        assert.equal(texts.length, 4);
        for (const t of texts) {
          assert.equal(Array.from(vocab.encode(t).ids).length, 60, `${name}: ${JSON.stringify(t)}`);
          assert.equal([...t].length, 60);
        }
        assert.deepEqual(sampleBatch(m, vocab, { ...opts, count: 4 }), texts, `${name}: same seed, same texts`);
        texts.forEach((t, i) => assert.equal(t, sample(m, vocab, { ...opts, seed: 11 + i }), `${name} stream ${i} (prime ${JSON.stringify(prime)})`));
        // 4 streams of 60 draws at temperature 1.2: equal texts would be a coincidence.
        assert.equal(new Set(texts).size, 4, `${name}: the streams differ`);
      }
      assert.deepEqual(sampleBatch(m, vocab, { length: 0, count: 3 }), ['', '', '']);
      assert.throws(() => sampleBatch(m, vocab, { length: 3, count: 0 }), GenerateOptionsError);
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
        for (let r = 0; r < keep; r++) { c += p[ranked[r]]; if (c >= rule.topP) { keep = r + 1; break; } }
      }
      let u = rng.next() * (filtered ? ranked.slice(0, keep).reduce((a, j) => a + p[j], 0) : 1);
      for (let r = 0; r < keep; r++) { u -= p[ranked[r]]; if (u < 0) return ranked[r]; }
      return filtered ? ranked[keep - 1] : ranked.filter(j => p[j] > 0).pop()!;
    };
    for (let trial = 0; trial < 600; trial++) {
      const V = 1 + (trial % 70);
      const rng = new Random(trial);
      // Coarse logits on a third of the trials: many equal probabilities, so the tie order matters.
      const logits = Float64Array.from({ length: V }, () => Math.round(rng.uniform(-3, 3) * (trial % 3 ? 100 : 2)) / 10);
      for (const rule of [{ ...DEFAULT_RULE, topK: 5 }, { ...DEFAULT_RULE, temperature: 0.7, topP: 0.6 }, { ...DEFAULT_RULE, temperature: 1.3, topK: 3, topP: 0.9 }]) {
        const got = chooseNext(logits, V, rule, new Random(trial), new Float64Array(V), new Uint32Array(V));
        assert.equal(got, plain(logits, rule, new Random(trial)), `trial ${trial} ${JSON.stringify(rule)}`);
      }
    }
  });

  it('sampleBatch starts each stream at its own random character when the model knows no newline', () => {
    const v = Vocabulary.fromText('abcdefg');
    const m = new CharRNN({ cell: 'rnn', layers: 1, hidden: 8, emb: 4, vocabSize: v.size, dropout: 0 }, referenceKernels('f32'), { seed: 1 });
    const texts = sampleBatch(m, v, { length: 12, count: 5, seed: 3 });
    texts.forEach((t, i) => assert.equal(t, sample(m, v, { length: 12, seed: 3 + i })));
    assert.ok(new Set(texts.map(t => t[0])).size > 1, 'the first characters differ');
  });
});
