// Generation out of the model (src/generate): stream batches that streams join and
// leave between steps, generators that share a model or a batch without touching
// each other's text, and the state of a stream copied in and out. The reference
// for every generator is the same request run alone on a batch of its own.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CharrnnError } from '../src/errors.js';
import { GenerationBatch } from '../src/generate/generation-batch.js';
import { createGenerator } from '../src/generate/create-generator.js';
import type { TextGenerator } from '../src/generate/generator.js';
import { parseGenerateOptions, type GenerateOptions } from '../src/generate/options.js';
import type { Kernels } from '../src/kernels/kernels.js';
import { CharRNN } from '../src/model/charrnn.js';
import { Vocabulary } from '../src/text/vocabulary.js';
import { float32Engines } from './conformance/engines.js';
import { trainBriefly } from './helpers.js';

const BACKENDS = await float32Engines();
const TEXT = 'the quick brown fox jumps over the lazy dog.\nthe lazy dog sleeps.\n'.repeat(10);
const vocab = Vocabulary.fromText(TEXT);

function trained(k: Kernels<Float32Array>, cell: 'lstm' | 'gru' | 'rnn' = 'lstm'): CharRNN<Float32Array> {
  const m = new CharRNN({ cell, layers: 2, hidden: 24, emb: 8, vocabSize: vocab.size, dropout: 0 }, k, { seed: 4 });
  trainBriefly(m, vocab.encode(TEXT).ids, 10);
  return m;
}

/** A request run alone, on a batch of its own: the reference. */
function alone(m: CharRNN<Float32Array>, options: GenerateOptions): string[] {
  const gen = createGenerator(m, vocab, parseGenerateOptions(options));
  for (const _ of gen.pieces()) {
    /* to the end */
  }
  return gen.result().texts;
}

describe('generators', () => {
  it('two generators interleaved on one model give what each gives alone (every backend, sampled and greedy)', () => {
    for (const { name, kernels } of BACKENDS) {
      const m = trained(kernels);
      const a: GenerateOptions = { prime: 'the ', length: 80, seed: 3, temperature: 1.3 };
      const b: GenerateOptions = { prime: 'lazy dog', length: 70, greedy: true };
      const want = [alone(m, a)[0], alone(m, b)[0]];
      const its = [
        createGenerator(m, vocab, parseGenerateOptions(a)).pieces(),
        createGenerator(m, vocab, parseGenerateOptions(b)).pieces(),
      ];
      const got = ['', ''];
      // One piece of each in turn, so every step of one runs between two steps of the other.
      for (let live = 2; live > 0;) {
        live = 0;
        its.forEach((it, i) => {
          const r = it.next();
          if (!r.done) {
            got[i] += r.value[0];
            live++;
          }
        });
      }
      assert.deepEqual(got, want, name);
      assert.notEqual(want[0], want[1]);
    }
  });

  it('continuous batching: requests join and leave one shared batch between steps, each text as alone', () => {
    for (const { name, kernels } of BACKENDS) {
      const m = trained(kernels, name === 'reference-f32' ? 'gru' : 'lstm');
      // [step at which it joins, options]: different primes, lengths, counts, rules; one stops early.
      const requests: [number, GenerateOptions][] = [
        [0, { prime: 'the ', length: 40, seed: 1 }],
        [0, { prime: 'fox', length: 9, count: 3, seed: 7, temperature: 0.8 }],
        [3, { length: 25, greedy: true }],
        [5, { prime: 'dog', length: 30, topK: 4, seed: 2 }],
        [5, { prime: 'quick', length: 60, stop: 'e', seed: 5 }],
        [12, { prime: 'the lazy ', length: 20, count: 2, topP: 0.9, seed: 9 }],
      ];
      const want = requests.map(([, o]) => alone(m, o));
      const batch = new GenerationBatch(m);
      const running: { gen: TextGenerator; i: number }[] = [];
      const got: string[][] = requests.map(() => []);
      let maxSize = 0;
      for (let step = 0; running.length > 0 || step <= 12; step++) {
        requests.forEach(([at, o], i) => {
          if (at === step) running.push({ gen: createGenerator(m, vocab, parseGenerateOptions(o), batch), i });
        });
        for (const r of running) r.gen.advance();
        for (let j = running.length - 1; j >= 0; j--) {
          if (running[j].gen.done) {
            got[running[j].i] = running[j].gen.result().texts;
            running.splice(j, 1);
          }
        }
        maxSize = Math.max(maxSize, batch.size);
        batch.step();
      }
      assert.equal(batch.size, 0);
      assert.ok(maxSize >= 6, `the batch held ${maxSize} streams at most`);
      assert.deepEqual(got, want, name);
      batch.dispose();
    }
  });

  it('a generator that is disposed mid-way leaves the batch; the others go on unchanged', () => {
    const m = trained(BACKENDS[BACKENDS.length - 1].kernels);
    const batch = new GenerationBatch(m);
    const keep = createGenerator(m, vocab, parseGenerateOptions({ prime: 'the', length: 50, seed: 4 }), batch);
    const drop = createGenerator(m, vocab, parseGenerateOptions({ prime: 'dog', length: 50, count: 2 }), batch);
    for (let s = 0; !keep.done; s++) {
      keep.advance();
      if (!drop.done) drop.advance();
      if (s === 10) {
        drop.dispose();
        assert.equal(batch.size, 1);
      }
      if (!keep.done) batch.step();
    }
    assert.deepEqual(keep.result().texts, alone(m, { prime: 'the', length: 50, seed: 4 }));
    assert.deepEqual(keep.advance(), [''], 'a finished generator gains nothing');
    assert.equal(batch.size, 0);
  });

  it('refuses to advance twice without a step, and a step with a stream that has no input', () => {
    const m = trained(BACKENDS[0].kernels);
    const batch = new GenerationBatch(m);
    const gen = createGenerator(m, vocab, parseGenerateOptions({ prime: 'the', length: 5 }), batch);
    gen.advance();
    assert.throws(() => gen.advance(), /before the batch stepped/);
    batch.open();
    assert.throws(() => batch.step(), /has no input/);
    assert.throws(() => gen.pieces().next(), /batch of its own/);
  });

  it('a disposed batch hands its buffers and plans to the next batch of the model, which gives the same texts', () => {
    for (const { name, kernels } of BACKENDS) {
      const m = trained(kernels);
      const b1 = new GenerationBatch(m, { capacity: 3 });
      const cap = b1.capacity;
      b1.dispose();
      assert.throws(() => b1.open(), /disposed/);
      const b2 = new GenerationBatch(m, { capacity: 2 });
      assert.equal(b2.capacity, cap, 'the spare buffers are reused');
      const o: GenerateOptions = { prime: 'the ', length: 30, count: 3, seed: 8 };
      const gen = createGenerator(m, vocab, parseGenerateOptions(o), b2);
      while (!gen.done) {
        gen.advance();
        b2.step();
      }
      assert.deepEqual(gen.result().texts, alone(m, o), name);
    }
  });

  it('a stream grows the batch past its capacity without changing the others', () => {
    const m = trained(BACKENDS[0].kernels);
    const batch = new GenerationBatch(m, { capacity: 1 });
    const o = (seed: number): GenerateOptions => ({ prime: 'the', length: 12, seed });
    const gens = [createGenerator(m, vocab, parseGenerateOptions(o(1)), batch)];
    gens[0].advance();
    batch.step();
    gens.push(createGenerator(m, vocab, parseGenerateOptions({ ...o(2), count: 4 }), batch));
    assert.ok(batch.capacity >= 5);
    while (gens.some(g => !g.done)) {
      for (const g of gens) if (!g.done) g.advance();
      batch.step();
    }
    assert.deepEqual(gens[0].result().texts, alone(m, o(1)));
    assert.deepEqual(gens[1].result().texts, alone(m, { ...o(2), count: 4 }));
  });

  it('a batch whose size goes through more B than it keeps plans for (rebinding evicted ones) steps every stream as alone', () => {
    for (const { name, kernels } of BACKENDS) {
      const m = trained(kernels);
      const batch = new GenerationBatch(m);
      const solo = new GenerationBatch(m);
      const one = solo.open();
      const streams = [batch.open()];
      const input = (t: number): number => (t * 7) % vocab.size;
      // B climbs 1 .. 20 and falls back to 1: stream 0 must read exactly what a stream alone reads.
      for (let t = 0; t < 40; t++) {
        if (t < 19) streams.push(batch.open());
        else if (streams.length > 1) streams.pop()!.close();
        streams.forEach((s, i) => s.input(i === 0 ? input(t) : (t + i) % vocab.size));
        one.input(input(t));
        batch.step();
        solo.step();
        assert.deepEqual(Array.from(streams[0].logits), Array.from(one.logits), `${name} step ${t}, B = ${streams.length}`);
      }
    }
  });

  it("a prime with characters the model has never seen: named in one sentence, or dropped with unknown: 'skip'", () => {
    const m = trained(BACKENDS[0].kernels);
    assert.throws(
      () => createGenerator(m, vocab, parseGenerateOptions({ prime: 'the ZOO', length: 5 })),
      (e: Error) =>
        e instanceof CharrnnError &&
        /^The prime has 2 characters the model has never seen: .*Z.*, .*O.* \(unknown: 'skip' drops them\)\.$/.test(e.message),
    );
    assert.deepEqual(
      alone(m, { prime: 'the ZOO', length: 20, unknown: 'skip', seed: 2 }),
      alone(m, { prime: 'the ', length: 20, seed: 2 }),
    );
  });

  it('stream state: getState copies (no aliasing), setState copies in, and the stream continues from it', () => {
    for (const { name, kernels } of BACKENDS) {
      const m = trained(kernels);
      const batch = new GenerationBatch(m);
      const s = batch.open();
      s.feed(vocab.encode('the quick').ids);
      const saved = s.getState();
      const logitsThen = Float32Array.from(s.logits);
      s.input(vocab.id('x')!);
      batch.step();
      assert.notDeepEqual(Array.from(s.getState().layers[0].h), Array.from(saved.layers[0].h), 'the state moved');
      const copy = s.getState();
      copy.layers[0].h.fill(123);
      assert.notEqual(s.getState().layers[0].h[0], 123, 'getState returned a copy');
      s.setState(saved);
      saved.layers[0].h.fill(7);
      // From the saved state, the same input gives the same logits as a fresh stream fed the same text.
      const other = batch.open();
      other.feed(vocab.encode('the quick').ids);
      assert.deepEqual(Array.from(other.logits), Array.from(logitsThen));
      s.input(vocab.id(' ')!);
      other.input(vocab.id(' ')!);
      batch.step();
      assert.deepEqual(Array.from(s.logits), Array.from(other.logits), name);
      assert.throws(() => s.setState({ B: 1, layers: [] }), RangeError);
      batch.dispose();
      assert.equal(s.open, false);
      assert.throws(() => s.logits, /closed/);
    }
  });
});
