// model.trace against independent paths through the same model, on every
// engine this machine runs: the summed surprise against `score` (what `charrnn
// eval` prints), the guesses against a brute-force sort of predict()'s whole
// distribution after feeding each prefix (the step kernel, not the chunk
// forward), and each layer's hidden and cell values against the handle's state
// after the same prefix. PyTorch's float64 trace is checked in the
// conformance suite (test/conformance/suite.ts, fixtureTrace).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CharrnnError } from '../src/errors.js';
import { CharRnnModel } from '../src/generate/char-rnn-model.js';
import type { Kernels } from '../src/kernels/kernels.js';
import { referenceKernels } from '../src/kernels/reference/index.js';
import { loadWasmKernels } from '../src/kernels/wasm/index.js';
import { CharRNN } from '../src/model/charrnn.js';
import type { ModelConfig } from '../src/model/config.js';
import { loadNativeKernels } from '../src/node/native-kernels.js';
import { LineSet } from '../src/text/line-set.js';
import { Vocabulary } from '../src/text/vocabulary.js';
import { trainBriefly } from './helpers.js';

const TEXT = 'the cat sat on the mat. "the dog (sat) on the log."\n'.repeat(12);
const vocab = Vocabulary.fromText(TEXT);

/** A model trained a little, so its guesses are not uniform: the same weights on every engine. */
function trained(config: Partial<ModelConfig>, kernels: Kernels<Float32Array>, v = vocab, text = TEXT): CharRNN<Float32Array> {
  const model = new CharRNN(
    { cell: 'lstm', layers: 2, hidden: 20, emb: 8, vocabSize: v.size, dropout: 0, ...config },
    referenceKernels('f32'),
    {
      seed: 5,
    },
  );
  trainBriefly(model, v.encode(text).ids, 15);
  const on = new CharRNN(model.config, kernels);
  for (const spec of model.params.specs) on.params.get(spec.name).set(model.params.get(spec.name));
  return on;
}

async function engines(): Promise<[string, Kernels<Float32Array>][]> {
  const list: [string, Kernels<Float32Array>][] = [
    ['reference', referenceKernels('f32')],
    ['wasm', await loadWasmKernels()],
  ];
  const native = loadNativeKernels();
  if (native) list.push(['native', native]);
  return list;
}

const close = (a: number, b: number, tol: number, what: string): void => assert.ok(Math.abs(a - b) <= tol, `${what}: ${a} vs ${b}`);

describe('model.trace', async () => {
  for (const [name, kernels] of await engines()) {
    for (const cell of ['lstm', 'gru', 'rnn'] as const) {
      it(`${name}, ${cell}: surprise adds up to score, guesses and states match feed/predict at every character`, () => {
        const handle = new CharRnnModel(trained({ cell }, kernels), vocab);
        const text = TEXT.slice(0, 300);
        const trace = handle.trace(text, { layers: [0, 1], chunk: 64 });
        const score = handle.score(text);
        const n = [...text].length;
        assert.equal(trace.chars.length, n);
        const summed = trace.surprise.reduce((s, x) => (Number.isNaN(x) ? s : s + x), 0);
        close(summed / score.chars, score.natsPerChar, 1e-5, 'mean surprise against score');
        assert.ok(Number.isNaN(trace.surprise[0]) && trace.surprise.subarray(1).every(Number.isFinite));
        const H = handle.config.hidden;
        handle.reset();
        for (let i = 0; i < 120; i++) {
          if (i > 0) {
            // predict() is the whole distribution after the prefix, most likely first, ties by id: brute force.
            const all = handle.predict();
            const want = all.slice(0, 5);
            const got = Array.from(trace.topIds.subarray(i * 5, i * 5 + 5), id => vocab.chars[id]);
            const gotP = trace.topP.subarray(i * 5, i * 5 + 5);
            want.forEach((w, j) => {
              close(gotP[j], w.p, 1e-5, `p of guess ${j + 1} at ${i}`);
              if (j === 4 || w.p - want[j + 1].p > 1e-5) assert.equal(got[j], w.char, `guess ${j + 1} at ${i}`);
            });
            const p = all.find(x => x.char === trace.chars[i])!.p;
            close(trace.surprise[i], -Math.log(p), 1e-4, `surprise at ${i}`);
          }
          handle.feed(trace.chars[i]);
          const state = handle.state;
          for (const l of [0, 1]) {
            const h = trace.layers[l].hidden!.subarray(i * H, (i + 1) * H);
            state.layers[l].h.forEach((v, j) => close(h[j], v, 1e-5, `h[${l}][${j}] at ${i}`));
            if (cell === 'lstm') {
              const c = trace.layers[l].cell!.subarray(i * H, (i + 1) * H);
              state.layers[l].c!.forEach((v, j) => close(c[j], v, 1e-5, `c[${l}][${j}] at ${i}`));
            } else assert.equal(trace.layers[l].cell, undefined);
          }
        }
      });
    }
  }

  it('gives the same numbers whatever the chunk and batch, and traceChunks joined is trace', () => {
    const handle = new CharRnnModel(trained({}, referenceKernels('f32')), vocab);
    const texts = [TEXT.slice(0, 150), TEXT.slice(40, 100), 'the log.'];
    const whole = handle.trace(texts, { layers: [1], values: ['hidden', 'gates'], chunk: 256, batch: 3 });
    assert.deepEqual(whole.starts, [0, 150, 210]);
    for (const [chunk, batch] of [
      [1, 1],
      [7, 2],
      [50, 3],
    ]) {
      const other = handle.trace(texts, { layers: [1], values: ['hidden', 'gates'], chunk, batch });
      assert.deepEqual(other.chars, whole.chars);
      other.surprise.forEach((s, i) =>
        Number.isNaN(s) ? assert.ok(Number.isNaN(whole.surprise[i])) : close(s, whole.surprise[i], 1e-5, `${i}`),
      );
      other.layers[0].gates!.forEach((g, i) => close(g, whole.layers[0].gates![i], 1e-5, `gate ${i}`));
    }
    // One text at a time from a fresh state is what a batch of them gives.
    texts.forEach((text, s) => {
      const alone = handle.trace(text, { layers: [1] });
      alone.surprise.forEach((x, i) => {
        const y = whole.surprise[whole.starts[s] + i];
        if (Number.isNaN(x)) assert.ok(Number.isNaN(y));
        else close(x, y, 1e-5, `text ${s} at ${i}`);
      });
    });
    const chunks = [...handle.traceChunks(texts, { chunk: 32, batch: 3 })];
    assert.ok(chunks.every(c => c.chars.length <= 32));
    assert.deepEqual(
      chunks.flatMap(c => c.chars),
      whole.chars,
    );
    assert.deepEqual(
      chunks.map(c => c.start),
      chunks.map((_, i) => chunks.slice(0, i).reduce((s, c) => s + c.chars.length, 0)),
    );
    assert.deepEqual(
      chunks.flatMap(c => Array.from(c.topIds)),
      Array.from(handle.trace(texts, { chunk: 32, batch: 3 }).topIds),
    );
  });

  it('shows characters the model does not know, counts them, and leaves them out of the sum as score does', () => {
    const handle = new CharRnnModel(trained({}, referenceKernels('f32')), vocab);
    const text = 'the Zcat sat é on the mat.';
    const trace = handle.trace(text, { layers: [0] });
    assert.deepEqual(trace.chars, [...text]);
    assert.deepEqual(trace.unknownChars, ['Z', 'é']);
    const at = [...text].map((c, i) => (c === 'Z' || c === 'é' ? i : -1)).filter(i => i >= 0);
    for (const i of at) {
      assert.equal(trace.unknown[i], 1);
      assert.equal(trace.ids[i], -1);
      assert.ok(Number.isNaN(trace.surprise[i]));
      // Not read: the state is the one after the character before.
      assert.deepEqual(trace.layers[0].hidden!.subarray(i * 20, i * 20 + 20), trace.layers[0].hidden!.subarray((i - 1) * 20, i * 20));
    }
    const score = handle.score(text);
    assert.equal(score.unknown, 2);
    const summed = trace.surprise.reduce((s, x) => (Number.isNaN(x) ? s : s + x), 0);
    close(summed / score.chars, score.natsPerChar, 1e-5, 'with unknown characters');

    // A vocabulary with the unknown symbol reads them as it.
    const withUnknown = new Vocabulary([...vocab.chars, '\uFFFD']);
    const h2 = new CharRnnModel(trained({}, referenceKernels('f32'), withUnknown, TEXT + '\uFFFD'), withUnknown);
    const t2 = h2.trace(text);
    for (const i of at) {
      assert.equal(t2.unknown[i], 1);
      assert.equal(t2.ids[i], withUnknown.unknownId);
      assert.ok(Number.isFinite(t2.surprise[i]));
    }
    close(
      t2.surprise.reduce((s, x) => (Number.isNaN(x) ? s : s + x), 0) / h2.score(text).chars,
      h2.score(text).natsPerChar,
      1e-5,
      'mapped',
    );
  });

  it('traces a line model line by line from a fresh state, the end of line predicted, as score does', () => {
    const names = 'anna\nbob\n\ncharlotte\ndave\n';
    const v = Vocabulary.fromText(names);
    const handle = new CharRnnModel(trained({}, referenceKernels('f32'), v, names.repeat(10)), v, {
      eol: '\n',
      lineSet: LineSet.fromLines(['anna']),
    });
    const trace = handle.trace('anna\r\nbob\n\n\nzed');
    // Each line: its start marker (not predicted), its characters, its predicted end; 'zed' has z unknown.
    assert.deepEqual(trace.chars.join(''), '\nanna\n\nbob\n\nzed\n');
    assert.deepEqual(trace.starts, [0, 6, 11]);
    for (const s of trace.starts) assert.ok(Number.isNaN(trace.surprise[s]));
    const score = handle.score('anna\r\nbob\n\n\nzed');
    const summed = trace.surprise.reduce((s, x) => (Number.isNaN(x) ? s : s + x), 0);
    assert.equal(trace.surprise.filter(Number.isFinite).length, score.chars);
    close(summed / score.chars, score.natsPerChar, 1e-5, 'lines against score');
  });

  it('refuses a bad option or nothing to trace with one sentence', () => {
    const handle = new CharRnnModel(trained({ cell: 'gru' }, referenceKernels('f32')), vocab);
    const refuse = (f: () => unknown, message: RegExp): void => {
      assert.throws(f, (e: unknown) => e instanceof CharrnnError && message.test(e.message) && !e.message.includes('\n'));
    };
    refuse(() => handle.trace(''), /^The text to trace is empty\.$/);
    refuse(() => handle.trace([]), /^The text to trace is empty\.$/);
    refuse(
      () => handle.trace('the', { topK: vocab.size + 1 }),
      new RegExp(`^topK must be a whole number from 0 to ${vocab.size}, not ${vocab.size + 1}\\.$`),
    );
    refuse(() => handle.trace('the', { topK: 1.5 }), /^topK must be a whole number/);
    refuse(() => handle.trace('the', { layers: [2] }), /^Each of layers must be a whole number from 0 to 1, not 2\.$/);
    refuse(() => handle.trace('the', { layers: [0], values: ['cell'] }), /^A GRU has no cell state; trace its hidden or gates\.$/);
    refuse(() => handle.trace('the', { values: ['weights' as 'hidden'] }), /^values may hold hidden, cell and gates, not "weights"\.$/);
    refuse(() => handle.trace('the', { chunk: 0 }), /^chunk must be a whole number from 1/);
    refuse(() => handle.trace([3 as unknown as string]), /^The text to trace must be a string/);
    const lines = new CharRnnModel(trained({}, referenceKernels('f32')), vocab, { eol: '\n', lineSet: LineSet.fromLines([]) });
    refuse(() => lines.trace('\n\n\r\n'), /^The text has no line to trace: every line is empty\.$/);
  });
});
