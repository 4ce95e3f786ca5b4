// Stop strings and beam search. Stop strings against a plain search of the whole
// text; beam search against a brute-force enumeration of every continuation of a
// tiny model, scored by the model's forward pass.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createGenerator } from '../src/generate/create-generator.js';
import { parseGenerateOptions, type GenerateOptions } from '../src/generate/options.js';
import { END_OF_LINE, StopMatcher } from '../src/generate/stop.js';
import { referenceKernels } from '../src/kernels/reference/index.js';
import { CharRNN } from '../src/model/charrnn.js';
import { Vocabulary } from '../src/text/vocabulary.js';
import { Random } from '../src/util/random.js';
import { float32Engines } from './conformance/engines.js';

/** The text before the first occurrence of any stop string (the one that ends first, then starts first), or null. */
function plainStop(text: string, stops: string[]): string | null {
  for (let end = 1; end <= text.length; end++) {
    const starts = stops.filter(s => s.length <= end && text.slice(end - s.length, end) === s).map(s => end - s.length);
    if (starts.length > 0) return text.slice(0, Math.min(...starts));
  }
  return null;
}

function run(model: CharRNN<Float32Array>, vocab: Vocabulary, options: GenerateOptions) {
  const gen = createGenerator(model, vocab, parseGenerateOptions(options));
  const pieces: string[][] = [];
  for (const p of gen.pieces()) pieces.push(p);
  return { ...gen.result(), pieces };
}

describe('stop strings', () => {
  it('StopMatcher releases exactly the text before the first stop string, across any piece boundaries, never taking text back', () => {
    const rng = new Random(5);
    const alphabet = 'ab c\r\n';
    for (let trial = 0; trial < 2000; trial++) {
      const text = Array.from({ length: 1 + rng.int(30) }, () => alphabet[rng.int(alphabet.length)]).join('');
      const stops =
        trial % 4 === 0
          ? [...END_OF_LINE]
          : Array.from({ length: 1 + rng.int(3) }, () =>
              Array.from({ length: 1 + rng.int(4) }, () => alphabet[rng.int(alphabet.length)]).join(''),
            );
      const m = new StopMatcher(stops);
      let out = '';
      for (const c of text) {
        out += m.push(c);
        if (m.stopped) break;
      }
      const want = plainStop(text, stops);
      if (want === null) {
        assert.equal(m.stopped, false);
        out += m.flush();
        assert.equal(out, text, `${JSON.stringify(text)} ${JSON.stringify(stops)}`);
      } else {
        assert.equal(m.stopped, true);
        assert.equal(out, want, `${JSON.stringify(text)} ${JSON.stringify(stops)}`);
      }
    }
  });

  it('end of line: a line ends at \\n or \\r\\n, neither included', () => {
    for (const [text, want] of [
      ['abc\ndef', 'abc'],
      ['abc\r\ndef', 'abc'],
      ['a\rb\n', 'a\rb'],
      ['no end', null],
    ] as const) {
      assert.equal(plainStop(text, [...END_OF_LINE]), want);
      const m = new StopMatcher(END_OF_LINE);
      let out = '';
      for (const c of text) {
        out += m.push(c);
        if (m.stopped) break;
      }
      assert.equal(m.stopped ? out : null, want);
    }
  });

  it('a generator stops at the first stop string: the text is the unstopped text cut there, on every backend', async () => {
    const text = 'the quick brown fox jumps over the lazy dog.\nthe lazy dog sleeps.\n'.repeat(4);
    const vocab = Vocabulary.fromText(text);
    for (const { name, kernels } of await float32Engines()) {
      const m = new CharRNN({ cell: 'lstm', layers: 1, hidden: 16, emb: 6, vocabSize: vocab.size, dropout: 0 }, kernels, { seed: 2 });
      for (const seed of [1, 2, 3, 4]) {
        const base: GenerateOptions = { prime: 'the ', length: 200, seed, count: 2 };
        const free = run(m, vocab, base).texts;
        for (const stop of [['e'], ['th', 'o '], ['zz', 'dog']]) {
          const got = run(m, vocab, { ...base, stop });
          got.texts.forEach((t, i) => {
            const want = plainStop(free[i], stop);
            assert.equal(t, want ?? free[i], `${name} seed ${seed} stop ${stop}`);
            assert.equal(got.finishReasons[i], want === null ? 'length' : 'stop');
            // The streamed pieces make up the text.
            assert.equal(got.pieces.map(p => p[i]).join(''), t);
          });
        }
        const line = run(m, vocab, { ...base, endOfLine: true });
        line.texts.forEach((t, i) => assert.equal(t, plainStop(free[i], ['\n']) ?? free[i]));
        assert.equal(line.usage.promptChars, 4);
      }
    }
  });
});

describe('beam search', () => {
  // A tiny model over 3 characters (and a newline to start from), random weights: every
  // continuation can be enumerated.
  const vocab = new Vocabulary(['\n', 'a', 'b', 'c']);
  const model = new CharRNN({ cell: 'gru', layers: 2, hidden: 5, emb: 3, vocabSize: 4, dropout: 0 }, referenceKernels('f32'), { seed: 11 });
  const scale = model.params.data;
  for (let i = 0; i < scale.length; i++) scale[i] *= 3; // sharper distributions than the initialisation's
  model.params.changed();

  /** Log-probability of `text` after `prime`, from one forward pass of the whole sequence, in float64. */
  function logProb(prime: string, text: string): number {
    const ids: number[] = Array.from(vocab.encode(prime + text).ids);
    const logits = model.forward(ids, ids.length, 1, model.newState(1));
    const V = vocab.size;
    let total = 0;
    for (let t = prime.length; t < ids.length; t++) {
      const row = Array.from(logits.subarray((t - 1) * V, t * V));
      const max = Math.max(...row);
      const lse = max + Math.log(row.reduce((s, x) => s + Math.exp(x - max), 0));
      total += row[ids[t]] - lse;
    }
    return total;
  }

  /** Every complete continuation: of `length` characters, or cut at its first stop string. */
  function enumerate(prime: string, length: number, stops: string[]): { text: string; logp: number }[] {
    const out: { text: string; logp: number }[] = [];
    const grow = (s: string): void => {
      for (const c of 'abc\n') {
        const t = s + c;
        const cut = plainStop(t, stops);
        if (cut !== null) out.push({ text: cut, logp: logProb(prime, t) });
        else if (t.length === length) out.push({ text: t, logp: logProb(prime, t) });
        else grow(t);
      }
    };
    grow('');
    return out.sort((x, y) => y.logp - x.logp);
  }

  // K at least the number of prefixes one short of the length: then the search keeps every one, and must find exactly the best K.
  for (const [prime, length, stops, K] of [
    ['ab', 3, [], 16],
    ['a', 4, ['b'], 64],
    ['', 4, ['ca', '\n'], 64],
    ['cab', 3, ['c'], 16],
  ] as const) {
    it(`the ${K} most likely continuations of ${JSON.stringify(prime)}, length ${length}, stop ${JSON.stringify(stops)}, as enumerated`, () => {
      const want = enumerate(prime.length > 0 ? prime : '\n', length, [...stops]).slice(0, K);
      const got = run(model, vocab, { prime, length, stop: [...stops], beam: K });
      assert.deepEqual(
        got.texts,
        want.map(w => w.text),
      );
      // The pieces put together are the texts (all of them come with the last advance).
      assert.deepEqual(
        got.texts.map((_, i) => got.pieces.map(p => p[i]).join('')),
        got.texts,
      );
      got.logprobs!.forEach((lp, i) => assert.ok(Math.abs(lp - want[i].logp) < 1e-9, `${lp} vs ${want[i].logp}`));
      assert.ok(got.finishReasons.every((r, i) => r === (got.texts[i].length < length ? 'stop' : 'length')));
    });
  }

  it('width 1 is greedy decoding, with its log-probability', () => {
    for (const length of [1, 5, 12]) {
      const got = run(model, vocab, { prime: 'ab', length, beam: 1 });
      const greedy = run(model, vocab, { prime: 'ab', length, greedy: true }).texts[0];
      assert.deepEqual(got.texts, [greedy]);
      assert.ok(Math.abs(got.logprobs![0] - logProb('ab', greedy)) < 1e-9);
    }
  });

  it('beam search needs a start: a model with no newline and no prime is refused in a sentence', () => {
    const v = new Vocabulary(['a', 'b']);
    const m = new CharRNN({ cell: 'rnn', layers: 1, hidden: 3, emb: 2, vocabSize: 2, dropout: 0 }, referenceKernels('f32'));
    assert.throws(() => run(m, v, { beam: 2, length: 3 }), /needs a prime/);
    assert.deepEqual(run(m, v, { beam: 2, length: 0, prime: 'a' }).texts, ['']);
  });
});
