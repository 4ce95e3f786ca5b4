// Parity with PyTorch: every backend, every cell type, 1 and 2 layers, against
// fixtures that tools/make-fixtures.py writes from nn.Embedding + nn.LSTM/GRU/RNN
// + nn.Linear run in float64 on float32-representable weights and inputs.
//
// Two checks per fixture: the whole model through its public API (logits, loss,
// every parameter gradient, final state), and the cell kernels driven directly,
// which is the only way to reach the gradient at the initial state (the model
// truncates BPTT at the start of a chunk).
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  cellActivationSizes, cellScratchSizes, type CellActivations, type CellShape, type CellWeights,
  type FloatArray, type Kernels,
} from '../src/kernels/kernels.js';
import { referenceKernels } from '../src/kernels/reference/index.js';
import { CharRNN } from '../src/model/charrnn.js';
import type { ModelConfig } from '../src/model/config.js';
import { backendsUnderTest } from './backends.js';
import { maxRelativeError } from './helpers.js';

interface Tensor {
  shape: number[];
  data: number[];
}

interface Fixture {
  config: ModelConfig;
  B: number;
  T: number;
  weights: Record<string, Tensor>;
  x: Tensor; // [B, T]
  y: Tensor; // [B, T]
  h0: Tensor; // [layers, B, H]
  c0: Tensor | null;
  logits: Tensor; // [B, T, V]
  loss: number; // mean cross-entropy
  grads: Record<string, Tensor>;
  h_n: Tensor; // [layers, B, H]
  c_n: Tensor | null;
  dh0: Tensor; // [layers, B, H]
  dc0: Tensor | null;
  d_rnn_out: Tensor; // [B, T, H]: gradient at the top layer's outputs
  d_emb_out: Tensor; // [B, T, E]: gradient at the bottom layer's inputs
}

/**
 * The fixtures live in the source tree; the compiled test runs from dist/test,
 * so look upwards from wherever this file is for test/fixtures/torch.
 */
function fixtureDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'test', 'fixtures', 'torch');
    try {
      if (statSync(candidate).isDirectory()) return candidate;
    } catch { /* not here; keep climbing */ }
    const parent = dirname(dir);
    if (parent === dir) throw new Error('test/fixtures/torch not found above ' + fileURLToPath(import.meta.url));
    dir = parent;
  }
}

const dir = fixtureDir();
const fixtures: [string, Fixture][] = readdirSync(dir).filter(f => f.endsWith('.json')).sort()
  .map(f => [f.replace(/\.json$/, ''), JSON.parse(readFileSync(join(dir, f), 'utf8')) as Fixture]);

/** [A, C, rest] -> [C, A, rest]: batch-first <-> time-major. */
function swap01(src: ArrayLike<number>, A: number, C: number, rest: number): Float64Array {
  const out = new Float64Array(A * C * rest);
  for (let a = 0; a < A; a++) {
    for (let c = 0; c < C; c++) {
      for (let r = 0; r < rest; r++) out[(c * A + a) * rest + r] = src[(a * C + c) * rest + r];
    }
  }
  return out;
}

/** Slice l of a [layers, B, H] tensor. */
function layerSlice(t: Tensor, l: number): number[] {
  const n = t.shape[1] * t.shape[2];
  return t.data.slice(l * n, (l + 1) * n);
}

function filled<F extends FloatArray>(k: Kernels<F>, data: ArrayLike<number>): F {
  const a = k.alloc(data.length);
  a.set(data);
  return a;
}

/**
 * Relative error of each compared quantity, by name, two ways:
 * - scaled (asserted): maxRelativeError with its floor at a tenth of the
 *   tensor's largest expected magnitude. An entry that comes out of cancellation
 *   between terms of the tensor's size (a logit of 3e-4 from products of order
 *   0.5, a gradient of 1e-5 summed from terms of 1e-2) carries float32 rounding
 *   of those terms, not of itself; PyTorch's own float32 run of these fixtures
 *   misses its float64 run by up to 2.3e-5 elementwise for that reason.
 * - elementwise: the helper's default floor (1e-4), reported for the record.
 */
type Errors = Map<string, { scaled: number; elementwise: number }>;

function compare(errors: Errors, name: string, actual: ArrayLike<number>, expected: ArrayLike<number>): void {
  let scale = 0;
  for (let i = 0; i < expected.length; i++) scale = Math.max(scale, Math.abs(expected[i]));
  errors.set(name, {
    scaled: maxRelativeError(actual, expected, scale > 0 ? 0.1 * scale : undefined),
    elementwise: maxRelativeError(actual, expected),
  });
}

/** The whole model through its public API, as a trainer uses it. */
function modelErrors<F extends FloatArray>(k: Kernels<F>, fx: Fixture): Errors {
  const { config, B, T } = fx;
  const { layers, vocabSize: V } = config;
  const model = new CharRNN(config, k);
  for (const spec of model.params.specs) {
    const w = fx.weights[spec.name];
    assert.ok(w, `fixture has no weight ${spec.name}`);
    assert.deepEqual(w.shape, spec.shape, `shape of ${spec.name}`);
    model.params.get(spec.name).set(w.data);
  }
  assert.equal(Object.keys(fx.weights).length, model.params.specs.length, 'the fixture has weights the model lacks');
  model.params.zeroGrad();
  const state = model.newState(B);
  for (let l = 0; l < layers; l++) {
    state.layers[l].h.set(layerSlice(fx.h0, l));
    if (fx.c0) state.layers[l].c!.set(layerSlice(fx.c0, l));
  }
  const x = swap01(fx.x.data, B, T, 1);
  const y = swap01(fx.y.data, B, T, 1);

  const errors: Errors = new Map();
  const logits = model.forward(x, T, B, state, { train: true });
  compare(errors, 'logits', swap01(logits, T, B, V), fx.logits.data);
  compare(errors, 'loss (summed)', [model.loss(y) / (T * B)], [fx.loss]);
  compare(errors, 'loss', [model.backward(y)], [fx.loss]);
  for (const spec of model.params.specs) compare(errors, `d ${spec.name}`, model.params.gradOf(spec.name), fx.grads[spec.name].data);
  for (let l = 0; l < layers; l++) {
    compare(errors, `h_n[${l}]`, state.layers[l].h, layerSlice(fx.h_n, l));
    if (fx.c_n) compare(errors, `c_n[${l}]`, state.layers[l].c!, layerSlice(fx.c_n, l));
  }
  return errors;
}

/**
 * The cell kernels alone, layer by layer: forward from the fixture's initial
 * state, then backward from PyTorch's gradient at the top layer's outputs,
 * passing each layer's dx down as the gradient at the outputs of the one below.
 * Checks the gradient at every layer's initial state and at the embedding.
 */
function cellErrors<F extends FloatArray>(k: Kernels<F>, fx: Fixture): Errors {
  const { config, B, T } = fx;
  const { cell, layers, hidden: H, emb: E } = config;
  const lstm = cell === 'lstm';
  const errors: Errors = new Map();
  const table = fx.weights['emb.weight'].data;
  const embedded = k.alloc(T * B * E);
  for (let t = 0; t < T; t++) {
    for (let b = 0; b < B; b++) {
      const id = fx.x.data[b * T + t];
      for (let e = 0; e < E; e++) embedded[(t * B + b) * E + e] = table[id * E + e];
    }
  }
  const run: { shape: CellShape; weights: CellWeights<F>; x: F; h0: F; c0: F | null; act: CellActivations<F> }[] = [];
  let input = embedded;
  for (let l = 0; l < layers; l++) {
    const shape: CellShape = { cell, T, B, I: l === 0 ? E : H, H };
    const w = (n: string): F => filled(k, fx.weights[`rnn.${n}_l${l}`].data);
    const weights = { wih: w('weight_ih'), whh: w('weight_hh'), bih: w('bias_ih'), bhh: w('bias_hh') };
    const sizes = cellActivationSizes(shape);
    const act = { gates: k.alloc(sizes.gates), aux: k.alloc(sizes.aux), h: k.alloc(sizes.h) };
    const h0 = filled(k, layerSlice(fx.h0, l));
    const c0 = fx.c0 ? filled(k, layerSlice(fx.c0, l)) : null;
    k.cellForward({ shape, weights, x: input, h0, c0, act });
    run.push({ shape, weights, x: input, h0, c0, act });
    input = act.h;
  }
  let dh = filled(k, swap01(fx.d_rnn_out.data, B, T, H));
  for (let l = layers - 1; l >= 0; l--) {
    const r = run[l];
    const G = r.weights.bih.length;
    const grads = { wih: k.alloc(G * r.shape.I), whh: k.alloc(G * H), bih: k.alloc(G), bhh: k.alloc(G) };
    const ss = cellScratchSizes(r.shape);
    const dx = k.alloc(T * B * r.shape.I);
    const dh0 = k.alloc(B * H);
    const dc0 = lstm ? k.alloc(B * H) : null;
    k.cellBackward({
      ...r, dh, dhT: null, dcT: null, grads, dx, dh0, dc0,
      scratch: { dgates: k.alloc(ss.dgates), dgatesHidden: k.alloc(ss.dgatesHidden), dhNext: k.alloc(ss.dhNext), dcNext: k.alloc(ss.dcNext) },
    });
    compare(errors, `dh0[${l}]`, dh0, layerSlice(fx.dh0, l));
    if (dc0 && fx.dc0) compare(errors, `dc0[${l}]`, dc0, layerSlice(fx.dc0, l));
    compare(errors, `d weight_hh_l${l} (cell)`, grads.whh, fx.grads[`rnn.weight_hh_l${l}`].data);
    dh = dx;
  }
  compare(errors, 'd embedding output', swap01(dh, T, B, E), fx.d_emb_out.data);
  return errors;
}

interface Worst {
  scaled: number;
  scaledAt: string;
  elementwise: number;
  elementwiseAt: string;
}

function worst(errors: Errors, where = ''): Worst {
  const w: Worst = { scaled: 0, scaledAt: '', elementwise: 0, elementwiseAt: '' };
  for (const [name, e] of errors) {
    if (!(e.scaled <= w.scaled)) Object.assign(w, { scaled: e.scaled, scaledAt: where + name });
    if (!(e.elementwise <= w.elementwise)) Object.assign(w, { elementwise: e.elementwise, elementwiseAt: where + name });
  }
  return w;
}

function merge(a: Worst | undefined, b: Worst): Worst {
  if (!a) return b;
  return {
    ...(b.scaled > a.scaled ? { scaled: b.scaled, scaledAt: b.scaledAt } : { scaled: a.scaled, scaledAt: a.scaledAt }),
    ...(b.elementwise > a.elementwise
      ? { elementwise: b.elementwise, elementwiseAt: b.elementwiseAt }
      : { elementwise: a.elementwise, elementwiseAt: a.elementwiseAt }),
  };
}

const describeWorst = (w: Worst): string =>
  `worst relative error ${w.scaled.toExponential(2)} (${w.scaledAt}); elementwise ${w.elementwise.toExponential(2)} (${w.elementwiseAt})`;

function check(errors: Errors, tolerance: number, where: string): void {
  for (const [name, e] of errors) {
    assert.ok(e.scaled < tolerance, `${where}: ${name} relative error ${e.scaled.toExponential(2)} over ${tolerance.toExponential(0)}`);
  }
}

// Either precision: the checks are generic in the float type.
const backends: { kernels: Kernels<FloatArray>; tolerance: number }[] = [
  ...(await backendsUnderTest()),
  // Float64 through the reference kernels: the fixture's weights are exact in
  // float64 too, so this isolates the formulas from float32 rounding.
  { kernels: referenceKernels('f64'), tolerance: 1e-5 },
];

describe('parity with PyTorch', () => {
  it('has a fixture for every cell type with 1 and 2 layers', () => {
    const have = new Set(fixtures.map(([, fx]) => `${fx.config.cell}/${fx.config.layers}`));
    for (const cell of ['lstm', 'gru', 'rnn']) for (const l of [1, 2]) assert.ok(have.has(`${cell}/${l}`), `missing ${cell} ${l} layer(s)`);
  });

  for (const { kernels, tolerance } of backends) {
    describe(`${kernels.name} (tolerance ${tolerance.toExponential(0)})`, () => {
      // Worst error over each cell type's fixtures, reported once they have all run.
      const byCell = new Map<string, Worst>();
      const note = (cell: string, where: string, errors: Errors): Worst => {
        const w = worst(errors, where);
        byCell.set(cell, merge(byCell.get(cell), w));
        return w;
      };

      for (const [file, fx] of fixtures) {
        it(`${file}: model logits, loss, gradients, final state`, t => {
          const errors = modelErrors(kernels, fx);
          t.diagnostic(describeWorst(note(fx.config.cell, `${file} `, errors)));
          check(errors, tolerance, `${kernels.name} ${file}`);
        });

        it(`${file}: cell kernels, gradient at the initial state`, t => {
          const errors = cellErrors(kernels, fx);
          t.diagnostic(describeWorst(note(fx.config.cell, `${file} cells `, errors)));
          check(errors, tolerance, `${kernels.name} ${file} cells`);
        });
      }

      it('worst relative error per cell type', t => {
        for (const [cell, w] of byCell) t.diagnostic(`${kernels.name} ${cell}: ${describeWorst(w)}`);
        assert.equal(byCell.size, new Set(fixtures.map(([, fx]) => fx.config.cell)).size);
      });
    });
  }
});
