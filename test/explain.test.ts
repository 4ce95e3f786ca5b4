// Finding what units track, against what can be worked out without the
// search: a model whose weights are set by hand so that one cell flips at
// every double quote (the search must name it first for "quote"), features
// counted by hand on small strings, Pearson's r and gate saturation computed
// directly from a trace's values, and the explanation's figures against
// `score` and brute force.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CharrnnError } from '../src/errors.js';
import { SIGMOID_GATES } from '../src/explain/gate-saturation.js';
import { patternFeature, textFeatures } from '../src/explain/text-features.js';
import { CharRnnModel } from '../src/generate/char-rnn-model.js';
import { referenceKernels } from '../src/kernels/reference/index.js';
import { CharRNN } from '../src/model/charrnn.js';
import { LineSet } from '../src/text/line-set.js';
import { Vocabulary } from '../src/text/vocabulary.js';

const SENTENCES = [
  'He said "hello there" and left the room.',
  'She looked up. "Yes," she said, "of course."',
  'Nobody spoke for a long while after that.',
  '"Go," he said. The door shut behind him.',
  'It rained on the roofs of the old town all night.',
];
const TEXT = Array.from({ length: 30 }, (_, i) => SENTENCES[(i * 3) % SENTENCES.length]).join(' ');
const QUOTE_UNIT = 2;

/**
 * One LSTM layer of 6 units whose unit 2 flips its cell at every double quote:
 * one-hot embeddings; at a quote its input gate opens and its forget gate
 * shuts, elsewhere the opposite, and its candidate is tanh(3 - 10 h), the
 * opposite sign of what it held. So c is near +1 inside quotes and -1 (or 0,
 * before the first quote) outside. The other units keep PyTorch-style random
 * weights.
 */
function quoteModel(): CharRnnModel {
  const vocab = Vocabulary.fromText(TEXT);
  const V = vocab.size;
  const H = 6;
  const model = new CharRNN({ cell: 'lstm', layers: 1, hidden: H, emb: V, vocabSize: V, dropout: 0 }, referenceKernels('f32'), { seed: 9 });
  const p = model.params;
  const emb = p.get('emb.weight'); // [V, E]
  emb.fill(0);
  for (let v = 0; v < V; v++) emb[v * V + v] = 1;
  const wih = p.get('rnn.weight_ih_l0'); // [4H, V], gates i f g o
  const whh = p.get('rnn.weight_hh_l0'); // [4H, H]
  const bih = p.get('rnn.bias_ih_l0');
  const bhh = p.get('rnn.bias_hh_l0');
  const quote = vocab.id('"')!;
  for (let g = 0; g < 4; g++) {
    const row = g * H + QUOTE_UNIT;
    wih.fill(0, row * V, (row + 1) * V);
    whh.fill(0, row * H, (row + 1) * H);
    bhh[row] = 0;
  }
  const [i, f, g, o] = [0, 1, 2, 3].map(gate => gate * H + QUOTE_UNIT);
  bih[i] = -10;
  wih[i * V + quote] = 20;
  bih[f] = 10;
  wih[f * V + quote] = -20;
  bih[g] = 3;
  whh[g * H + QUOTE_UNIT] = -10;
  bih[o] = 10;
  return new CharRnnModel(model, vocab);
}

const close = (a: number, b: number, tol: number, what: string): void => assert.ok(Math.abs(a - b) <= tol, `${what}: ${a} vs ${b}`);

function pearson(x: ArrayLike<number>, y: ArrayLike<number>): number {
  const n = x.length;
  let mx = 0,
    my = 0;
  for (let i = 0; i < n; i++) {
    mx += x[i] / n;
    my += y[i] / n;
  }
  let sxy = 0,
    sxx = 0,
    syy = 0;
  for (let i = 0; i < n; i++) {
    sxy += (x[i] - mx) * (y[i] - my);
    sxx += (x[i] - mx) ** 2;
    syy += (y[i] - my) ** 2;
  }
  return sxy / Math.sqrt(sxx * syy);
}

describe('explain', () => {
  it('names the hand-built quote cell first for "quote"', () => {
    const handle = quoteModel();
    const e = handle.explain(TEXT);
    const quote = e.features.find(f => f.name === 'quote')!;
    const [first, second] = quote.units;
    assert.equal(first.layer, 0);
    assert.equal(first.unit, QUOTE_UNIT, `strongest for quote: ${JSON.stringify(quote.units)}`);
    // Its output h = o tanh(c) with o near 1 follows the same: the two lead, the cell first on a tie.
    assert.deepEqual([second.layer, second.unit], [0, QUOTE_UNIT]);
    assert.ok(first.r > 0.9, `r = ${first.r}`);
    // And no other feature is led by it as strongly.
    for (const f of e.features.filter(x => x.name !== 'quote' && x.units.length > 0))
      assert.ok(!(f.units[0].unit === QUOTE_UNIT && Math.abs(f.units[0].r) > 0.9), f.name);
  });

  it('counts the features by hand: quotes, brackets, line position, newline, words, capitals, digits, line end', () => {
    const chars = [...'a"b(c[d]e)"f\nX“y”1\'s'];
    const starts = [0];
    const byName = Object.fromEntries(textFeatures(chars, starts, true).map(f => [f.name, Array.from(f.values)]));
    //                      a  "  b  (  c  [  d  ]  e  )  "  f  \n X  “  y  ”  1  '  s
    assert.deepEqual(byName.quote, [0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0]);
    assert.deepEqual(byName['bracket depth'], [0, 0, 0, 1, 1, 2, 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    assert.deepEqual(byName['line position'], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 0, 1, 2, 3, 4, 5, 6, 7]);
    assert.deepEqual(byName.newline, [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0]);
    assert.deepEqual(byName['in word'], [1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1]);
    assert.deepEqual(byName.capital, [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
    assert.deepEqual(byName.digit, [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0]);
    assert.deepEqual(byName['to line end'], [12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 7, 6, 5, 4, 3, 2, 1]);
    // A fresh state (a new sequence) starts every count again.
    const again = Object.fromEntries(textFeatures([...'"(a"(b'], [0, 3], false).map(f => [f.name, Array.from(f.values)]));
    assert.deepEqual(again.quote, [1, 1, 1, 1, 1, 1]);
    assert.deepEqual(again['bracket depth'], [0, 1, 1, 0, 1, 1]);
    assert.equal(
      textFeatures(chars, starts, false).find(f => f.name === 'to line end'),
      undefined,
    );
  });

  it('matches a pattern at code points, CJK and emoji included, and refuses a bad one in a sentence', () => {
    const chars = [...'猫が🐈好き、🐈好'];
    assert.deepEqual(Array.from(patternFeature(chars, { name: 'cat-like', pattern: '🐈好' }).values), [0, 0, 1, 1, 0, 0, 1, 1]);
    assert.deepEqual(Array.from(patternFeature(chars, { name: 'kana', pattern: /\p{Script=Hiragana}/u }).values), [0, 1, 0, 0, 1, 0, 0, 0]);
    assert.throws(
      () => patternFeature(chars, { name: 'broken', pattern: '(a' }),
      (e: unknown) => e instanceof CharrnnError && /^The pattern broken is not a regular expression \(.+\)\.$/.test(e.message),
    );
  });

  it("lists each feature's units with Pearson's r as computed directly from the trace", () => {
    const handle = quoteModel();
    const e = handle.explain(TEXT, { units: 4, patterns: [{ name: 'the', pattern: 'the' }] });
    const trace = handle.trace(TEXT, { layers: [0] });
    const chars = trace.chars;
    const H = 6;
    const features = [...textFeatures(chars, [0], false), patternFeature(chars, { name: 'the', pattern: 'the' })];
    assert.deepEqual(
      e.features.map(f => f.name),
      features.map(f => f.name),
    );
    for (const f of e.features) {
      const values = features.find(x => x.name === f.name)!.values;
      // The text has no brackets, digits or newlines: those features never vary, and nothing follows them.
      const constant = values.every(v => v === values[0]);
      assert.equal(f.units.length, constant ? 0 : 4, f.name);
      for (const u of f.units) {
        const series = Array.from({ length: chars.length }, (_, i) =>
          u.kind === 'cell' ? Math.tanh(trace.layers[0].cell![i * H + u.unit]) : trace.layers[0].hidden![i * H + u.unit],
        );
        close(u.r, pearson(series, values), 1e-6, `${f.name} ${u.kind} ${u.unit}`);
      }
      for (let j = 1; j < f.units.length; j++) assert.ok(Math.abs(f.units[j - 1].r) >= Math.abs(f.units[j].r) - 1e-12, `${f.name} order`);
    }
  });

  it('counts gate saturation as the trace gates give it, and the figures as score and brute force give them', () => {
    const handle = quoteModel();
    const e = handle.explain(TEXT, { show: 100, passages: 3, passageLength: 20 });
    const trace = handle.trace(TEXT, { layers: [0], values: ['hidden', 'cell', 'gates'] });
    const n = trace.chars.length;
    const H = 6;
    assert.equal(e.saturation.length, SIGMOID_GATES.lstm.length * H);
    for (const s of e.saturation) {
      const index = SIGMOID_GATES.lstm.find(g => g.name === s.gate)!.index;
      let left = 0,
        right = 0;
      for (let i = 0; i < n; i++) {
        const v = trace.layers[0].gates![i * 4 * H + index * H + s.unit];
        if (v < 0.1) left++;
        if (v > 0.9) right++;
      }
      close(s.left, left / n, 1e-12, `${s.gate} ${s.unit} left`);
      close(s.right, right / n, 1e-12, `${s.gate} ${s.unit} right`);
    }
    const score = handle.score(TEXT);
    close(e.natsPerChar, score.natsPerChar, 1e-6, 'nats per char');
    assert.equal(e.predicted, score.chars);
    assert.equal(e.chars, n);
    assert.equal(
      e.histogram.counts.reduce((a, b) => a + b, 0),
      score.chars,
    );
    assert.equal(
      e.byClass.reduce((a, c) => a + c.count, 0),
      score.chars,
    );
    // The hardest passage is the window of 20 with the highest mean surprise, found by brute force.
    let best = -Infinity;
    for (let s = 0; s + 20 <= n; s++) {
      const window = Array.from(trace.surprise.subarray(s, s + 20)).filter(Number.isFinite);
      if (window.length * 2 >= 20) best = Math.max(best, window.reduce((a, b) => a + b, 0) / window.length);
    }
    close(e.worst[0].mean, best, 1e-9, 'hardest passage');
    assert.equal(e.worst.length, 3);
    for (const a of e.worst)
      for (const b of e.worst) if (a !== b) assert.ok(a.start + 20 <= b.start || b.start + 20 <= a.start, 'passages overlap');
    // The shown characters: their guesses as the trace's, their unit values within int8 rounding.
    assert.equal(e.shown.length, 100);
    const bytes = Int8Array.from(Buffer.from(e.unitValues, 'base64'), b => (b > 127 ? b - 256 : b));
    assert.equal(bytes.length, 100 * e.units.length);
    for (let i = 1; i < 100; i++) {
      assert.equal(e.shown[i].c, trace.chars[i]);
      close(e.shown[i].s!, trace.surprise[i], 1e-12, `surprise ${i}`);
      assert.deepEqual(
        e.shown[i].top.map(([c]) => c),
        Array.from(trace.topIds.subarray(i * 5, i * 5 + 5), id => handle.chars[id]),
      );
      e.units.forEach((u, j) => {
        const want = u.kind === 'cell' ? Math.tanh(trace.layers[0].cell![i * H + u.unit]) : trace.layers[0].hidden![i * H + u.unit];
        close(bytes[i * e.units.length + j] / 127, want, 0.5 / 127 + 1e-6, `unit ${j} at ${i}`);
      });
    }
    assert.equal(e.shown[0].s, null);
    assert.deepEqual(e.shown[0].top, []);
  });

  it("explains a line model's lines: start markers hidden, each line's first character marked, unknown ones counted", () => {
    const names = 'anna\nbob\ncharlotte\ndave\n';
    const vocab = Vocabulary.fromText(names);
    const model = new CharRNN({ cell: 'gru', layers: 2, hidden: 8, emb: 4, vocabSize: vocab.size, dropout: 0 }, referenceKernels('f32'));
    const handle = new CharRnnModel(model, vocab, { eol: '\n', lineSet: LineSet.fromLines([]) });
    const e = handle.explain('anna\nzoe\n\nbob');
    assert.equal(e.shown.map(c => c.c).join(''), 'anna\nzoe\nbob\n');
    assert.deepEqual(
      e.shown.flatMap((c, i) => (c.lineStart ? [i] : [])),
      [0, 5, 9],
    );
    assert.equal(e.chars, 13);
    assert.equal(e.unknown, 1);
    assert.deepEqual(e.unknownChars, ['z']);
    assert.ok(e.shown[5].unknown && e.shown[5].s === null);
    assert.equal(e.predicted, handle.score('anna\nzoe\n\nbob').chars);
    assert.ok(e.features.some(f => f.name === 'to line end'));
    assert.deepEqual([...new Set(e.saturation.map(s => `${s.layer} ${s.gate}`))], ['0 reset', '0 update', '1 reset', '1 update']);
  });

  it('refuses bad options and non-text with one sentence', () => {
    const handle = quoteModel();
    const refuse = (f: () => unknown, message: RegExp): void => {
      assert.throws(f, (e: unknown) => e instanceof CharrnnError && message.test(e.message));
    };
    refuse(() => handle.explain(''), /^The text to trace is empty\.$/);
    refuse(() => handle.explain(42 as unknown as string), /^The text to explain must be a string\.$/);
    refuse(() => handle.explain('the', { show: -1 }), /^show must be a whole number from 0 to 1000000, not -1\.$/);
    refuse(() => handle.explain('the', { units: 0 }), /^units must be a whole number from 1 to 100, not 0\.$/);
    refuse(() => handle.explain('the', { patterns: [{ name: 'x', pattern: '[' }] }), /^The pattern x is not a regular expression/);
  });
});
