// Finite-difference gradient checks in float64 through the reference backend:
// every cell type, the embedding, the loss, and the whole model across two chunks
// with carried state (dropout included, its masks replayed).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cellActivationSizes, cellScratchSizes, GATES, type CellShape, type CellType } from '../src/kernels/kernels.js';
import { referenceKernels } from '../src/kernels/reference/index.js';
import { CharRNN } from '../src/model/charrnn.js';
import { Random } from '../src/util/random.js';
import { error } from './conformance/metric.js';
import { numericalGradient, randomFill } from './helpers.js';

const k = referenceKernels('f64');
const TOL = 1e-6;

function cellProblem(cell: CellType, seed: number) {
  const rng = new Random(seed);
  const shape: CellShape = { cell, T: 4, B: 3, I: 5, H: 4 };
  const { T, B, I, H } = shape;
  const G = GATES[cell] * H;
  const f = (n: number, s = 0.6) => randomFill(new Float64Array(n), rng, s);
  const weights = { wih: f(G * I), whh: f(G * H), bih: f(G), bhh: f(G) };
  const x = f(T * B * I, 1),
    h0 = f(B * H),
    c0 = f(B * H);
  // The loss is a fixed random linear function of every output and of the final state.
  const wOut = f(T * B * H, 1),
    wHT = f(B * H, 1),
    wCT = f(B * H, 1);
  const sizes = cellActivationSizes(shape);
  const act = { gates: new Float64Array(sizes.gates), aux: new Float64Array(sizes.aux), h: new Float64Array(sizes.h) };
  const loss = (): number => {
    k.cellForward({ shape, weights, x, h0, c0: cell === 'lstm' ? c0 : null, act });
    let s = 0;
    for (let i = 0; i < act.h.length; i++) s += wOut[i] * act.h[i];
    for (let i = 0; i < B * H; i++) {
      s += wHT[i] * act.h[(T - 1) * B * H + i];
      if (cell === 'lstm') s += wCT[i] * act.aux[(T - 1) * B * H + i];
    }
    return s;
  };
  return { shape, weights, x, h0, c0, act, loss, wOut, wHT, wCT };
}

describe('gradient check (finite differences, float64)', () => {
  for (const cell of ['lstm', 'gru', 'rnn'] as const) {
    it(`${cell} cell: weights, biases, inputs and initial state`, t => {
      const p = cellProblem(cell, 7);
      const { shape, weights, x, h0, c0, act } = p;
      const { T, B, I, H } = shape;
      const G = GATES[cell] * H;
      p.loss();
      const grads = { wih: new Float64Array(G * I), whh: new Float64Array(G * H), bih: new Float64Array(G), bhh: new Float64Array(G) };
      const dx = new Float64Array(T * B * I),
        dh0 = new Float64Array(B * H),
        dc0 = new Float64Array(B * H);
      const ss = cellScratchSizes(shape);
      k.cellBackward({
        shape,
        weights,
        x,
        h0,
        c0: cell === 'lstm' ? c0 : null,
        act,
        dh: p.wOut,
        dhT: p.wHT,
        dcT: cell === 'lstm' ? p.wCT : null,
        grads,
        dx,
        dh0,
        dc0: cell === 'lstm' ? dc0 : null,
        scratch: {
          dgates: new Float64Array(ss.dgates),
          dgatesHidden: new Float64Array(ss.dgatesHidden),
          dhNext: new Float64Array(ss.dhNext),
          dcNext: new Float64Array(ss.dcNext),
        },
      });
      const checks: [string, Float64Array, Float64Array][] = [
        ['weight_ih', weights.wih, grads.wih],
        ['weight_hh', weights.whh, grads.whh],
        ['bias_ih', weights.bih, grads.bih],
        ['bias_hh', weights.bhh, grads.bhh],
        ['x', x, dx],
        ['h0', h0, dh0],
      ];
      if (cell === 'lstm') checks.push(['c0', c0, dc0]);
      let worst = 0;
      for (const [name, value, analytic] of checks) {
        const err = error(analytic, numericalGradient(p.loss, value));
        assert.ok(err < TOL, `${cell} d${name}: relative error ${err.toExponential(2)}`);
        worst = Math.max(worst, err);
      }
      t.diagnostic(`${cell} cell: worst relative error ${worst.toExponential(2)}`);
    });
  }

  it('softmax cross-entropy: logits', () => {
    const rng = new Random(3);
    const rows = 5,
      V = 7;
    const logits = randomFill(new Float64Array(rows * V), rng, 3);
    const targets = Int32Array.from({ length: rows }, () => rng.int(V));
    const d = new Float64Array(rows * V);
    const loss = k.softmaxCrossEntropy(logits, targets, rows, V, d, 0.5);
    // Hand-computed value for row 0, against the kernel's total.
    let total = 0;
    for (let r = 0; r < rows; r++) {
      let z = 0;
      for (let j = 0; j < V; j++) z += Math.exp(logits[r * V + j]);
      total += Math.log(z) - logits[r * V + targets[r]];
    }
    assert.ok(Math.abs(loss - total) < 1e-12);
    const numeric = numericalGradient(() => 0.5 * k.softmaxCrossEntropy(logits, targets, rows, V, null, 1), logits);
    assert.ok(error(d, numeric) < TOL);
  });

  it('embedding: table', () => {
    const rng = new Random(4);
    const V = 6,
      E = 3,
      n = 9;
    const table = randomFill(new Float64Array(V * E), rng);
    const ids = Int32Array.from({ length: n }, () => rng.int(V));
    const w = randomFill(new Float64Array(n * E), rng);
    const out = new Float64Array(n * E);
    const loss = (): number => {
      k.embeddingForward(out, table, ids, n, E);
      return out.reduce((s, v, i) => s + v * w[i], 0);
    };
    const d = new Float64Array(V * E);
    k.embeddingBackward(d, w, ids, n, E);
    assert.ok(error(d, numericalGradient(loss, table)) < TOL);
  });

  const cases = [
    ...(['lstm', 'gru', 'rnn'] as const).map(cell => ({ cell, embDropout: 0 })),
    // Embedding dropout: its mask is drawn first from the model's generator, which the check replays (fixed masks).
    ...(['lstm', 'gru'] as const).map(cell => ({ cell, embDropout: 0.4 })),
  ];
  for (const { cell, embDropout } of cases) {
    it(`whole ${cell} model, second of two chunks with carried state and dropout${embDropout ? `, embedding dropout ${embDropout}` : ''}`, t => {
      const vocabSize = 6,
        T = 4,
        B = 2;
      // emb > hidden and hidden > emb both occur across the cell types: the backward buffers must fit either.
      const model = new CharRNN(
        { cell, layers: 2, hidden: 5, emb: cell === 'gru' ? 7 : 3, vocabSize, dropout: 0.25, ...(embDropout ? { embDropout } : {}) },
        k,
        { seed: 11 },
      );
      const rng = new Random(5);
      const ids = () => Array.from({ length: T * B }, () => rng.int(vocabSize));
      const x1 = ids(),
        x2 = ids(),
        y2 = ids();
      const state = model.newState(B);
      model.forward(x1, T, B, state, { train: true });
      // Snapshot the carried state and the dropout generator: each evaluation replays both.
      const saved = state.layers.map(l => ({ h: l.h.slice(), c: l.c?.slice() }));
      const rngState = model.dropoutRng.getState();
      const restore = () => {
        state.layers.forEach((l, i) => {
          l.h.set(saved[i].h);
          if (l.c) l.c.set(saved[i].c!);
        });
        model.dropoutRng.setState(rngState);
      };
      const loss = (): number => {
        restore();
        model.forward(x2, T, B, state, { train: true });
        return model.loss(y2) / (T * B);
      };
      restore();
      model.params.zeroGrad();
      model.forward(x2, T, B, state, { train: true });
      const mean = model.backward(y2);
      assert.ok(Math.abs(mean - loss()) < 1e-12, 'backward returns the mean loss of the chunk');
      const numeric = numericalGradient(loss, model.params.data, 1e-5);
      let worst = 0;
      for (const s of model.params.specs) {
        const a = model.params.grad.subarray(s.offset, s.offset + s.size);
        const n = numeric.subarray(s.offset, s.offset + s.size);
        const err = error(a, n);
        assert.ok(err < TOL, `${cell} ${s.name}: relative error ${err.toExponential(2)}`);
        worst = Math.max(worst, err);
      }
      t.diagnostic(`whole ${cell} model${embDropout ? ' with embedding dropout' : ''}: worst relative error ${worst.toExponential(2)}`);
      if (embDropout) {
        // The mask acted. The same weights, carried state and generator with another embedding
        // dropout: at 0 the embedding mask's T * B * emb draws (one 32-bit draw each) are skipped by
        // hand so that the layers' masks are the same; at 1e-9 the mask keeps everything (and scales
        // by 1 + 1e-9), so its loss must equal the skipped one's: that proves the alignment, and then
        // a different loss at the tested rate can only come from its embedding mask.
        const lossAt = (rate: number): number => {
          const other = new CharRNN({ ...model.config, embDropout: rate }, k, { seed: 11 });
          other.params.data.set(model.params.data);
          const otherState = other.newState(B);
          otherState.layers.forEach((l, i) => {
            l.h.set(saved[i].h);
            if (l.c) l.c.set(saved[i].c!);
          });
          other.dropoutRng.setState(rngState);
          if (rate === 0) for (let i = 0; i < T * B * model.config.emb; i++) other.dropoutRng.nextUint32();
          other.forward(x2, T, B, otherState, { train: true });
          return other.loss(y2) / (T * B);
        };
        const [plain, keepsAll, tested] = [lossAt(0), lossAt(1e-9), loss()];
        assert.ok(Math.abs(keepsAll - plain) < 1e-7, `the layers' masks line up: ${keepsAll} against ${plain}`);
        assert.ok(Math.abs(tested - plain) > 1e-4, `embedding dropout changed the loss: ${tested} against ${plain}`);
      }
      // The carried state matters: a different start gives a different loss.
      restore();
      state.layers[0].h.fill(0);
      model.forward(x2, T, B, state, { train: true });
      assert.notEqual(model.loss(y2) / (T * B), loss());
    });
  }
});
