// The backend-conformance suite: one set of checks, written once, run over every
// engine of ./engines.ts that belongs to this process. Each engine is held to
//   - the float64 reference backend on the same (float32-representable) inputs:
//     every kernel on random problems of awkward sizes;
//   - PyTorch run in float64 (tools/make-fixtures.py, make-optimizer-fixtures.py):
//     whole models and their cells, the optimizers, clipping, training runs;
//   - properties: exact products of dyadic values, buffers passed as null left
//     alone, bad ids refused, every stream's numbers independent of the batch,
//     the same bits run after run, and the same bits as its sameBitsAs engine.
// All errors go through ./metric.ts. Each measuring test reports its worst error
// as a diagnostic line that test/reporter.ts gathers into the table printed at
// the end of `npm test`.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { describe, it, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  cellActivationSizes,
  cellScratchSizes,
  cellStepScratchSize,
  GATES,
  type CellShape,
  type CellType,
  type CellWeights,
  modelStepScratchSize,
  type FloatArray,
  type Kernels,
} from '../../src/kernels/kernels.js';
import { referenceKernels } from '../../src/kernels/reference/index.js';
import { GenerationBatch } from '../../src/generate/generation-batch.js';
import { inputTable, packedStepWeights } from '../../src/generate/input-table.js';
import { CharRNN } from '../../src/model/charrnn.js';
import { encodeModel, loadModel } from '../../src/model/model-file.js';
import { Vocabulary } from '../../src/text/vocabulary.js';
import type { ModelConfig } from '../../src/model/config.js';
import { WeightAverage } from '../../src/train/average.js';
import { clipGradNorm, decayedLearningRate, DEFAULT_OPTIMIZER, Optimizer } from '../../src/train/optimizer.js';
import { learningRateAt } from '../../src/train/schedule.js';
import { Trainer } from '../../src/train/trainer.js';
import { Random } from '../../src/util/random.js';
import { ENGINES, engine as engineNamed, PROCESSES, Unavailable, type Engine, type ProcessName } from './engines.js';
import { traceText } from '../../src/explain/trace.js';
import {
  modelFixtures,
  optimizerFixtures,
  traceFixtures,
  type ModelFixture,
  type Tensor,
  type TraceFixture,
  type TrainFixture,
} from './fixtures.js';
import { error, precisionOf, RUN_FACTOR, TOLERANCE } from './metric.js';

type K = Kernels<FloatArray>;
const ref = referenceKernels('f64');
const CELLS: CellType[] = ['lstm', 'gru', 'rnn'];
/** The prefix test/reporter.ts looks for in diagnostics. */
export const REPORT_PREFIX = 'conformance: ';

// ---------------------------------------------------------------- measuring

type Against = 'PyTorch' | 'reference-f64';

/** The worst error of one test against one kind of reference, asserted under the tolerance and reported. */
class Measure {
  private worst = 0;
  private at = '';
  private readonly failures: string[] = [];

  constructor(
    readonly engine: string,
    readonly tolerance: number,
    readonly group: string,
    readonly against: Against,
  ) {}

  check(what: string, actual: ArrayLike<number>, expected: ArrayLike<number>, tolerance = this.tolerance): void {
    const e = error(actual, expected);
    if (!(e <= this.worst)) {
      this.worst = e;
      this.at = what;
    }
    if (!(e < tolerance)) this.failures.push(`${what}: error ${e.toExponential(2)} (tolerance ${tolerance.toExponential(0)})`);
  }

  /** Asserts every check passed, then reports the worst (the reference is not measured against itself). */
  done(t: TestContext): void {
    assert.deepEqual(this.failures, [], `${this.engine}: ${this.failures.join('; ')}`);
    if (this.engine === 'reference-f64' && this.against === 'reference-f64') return;
    t.diagnostic(`${REPORT_PREFIX}${[this.engine, this.group, this.against, this.worst.toExponential(2), this.at].join(' | ')}`);
  }
}

/** Float32-representable random values in [-scale, scale), as float64: every engine gets exactly these numbers. */
function rnd(n: number, rng: Random, scale = 1): Float64Array {
  const a = new Float64Array(n);
  for (let i = 0; i < n; i++) a[i] = Math.fround(rng.uniform(-scale, scale));
  return a;
}

/** A buffer of the engine holding these values. */
function put(k: K, values: ArrayLike<number>): FloatArray {
  const a = k.alloc(values.length);
  a.set(values);
  return a;
}

const memo = new Map<string, unknown>();
/** The float64 reference's answers are the same for every engine: computed once per process. */
function once<T>(key: string, f: () => T): T {
  if (!memo.has(key)) memo.set(key, f());
  return memo.get(key) as T;
}

const bytesOf = (a: FloatArray): Buffer => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

// ---------------------------------------------------------------- the suite

/** Registers the suite for every engine of this process. */
export async function runConformance(processName: ProcessName): Promise<void> {
  const env = PROCESSES[processName] as Record<string, string | undefined>;
  for (const [key, value] of Object.entries(env)) {
    if (process.env[key] !== value) throw new Error(`the ${processName} conformance process needs ${key}=${value ?? '(unset)'}`);
  }
  const fixtures = modelFixtures();
  const optim = optimizerFixtures();
  const traces = traceFixtures();
  if (processName === 'main') fixtureCoverage(fixtures, optim);
  for (const e of ENGINES.filter(x => x.process === processName)) {
    let loaded: K | Unavailable | Error;
    try {
      loaded = await e.load();
    } catch (err) {
      loaded = err instanceof Error ? err : new Error(String(err));
    }
    if (loaded instanceof Unavailable) {
      const reason = loaded.reason;
      describe(e.name, () =>
        it('runs on this machine', t => {
          t.skip(`${e.name}: ${reason}`);
        }),
      );
    } else if (loaded instanceof Error) {
      const failure = loaded;
      describe(e.name, () =>
        it('loads', () => {
          throw failure;
        }),
      );
    } else {
      engineSuite(e, loaded, fixtures, optim, traces);
    }
  }
}

/** The fixtures test what the suite says they test. */
function fixtureCoverage(fixtures: ModelFixture[], optim: ReturnType<typeof optimizerFixtures>): void {
  describe('PyTorch fixtures', () => {
    it('cover every cell type at hidden 17, 33 and 129, batch 1, 5 and 50, 1 and 7 steps, 1 and 2 layers', () => {
      for (const cell of CELLS) {
        const mine = fixtures.filter(f => f.config.cell === cell);
        const seen = (f: (x: ModelFixture) => number): number[] => [...new Set(mine.map(f))].sort((a, b) => a - b);
        assert.deepEqual(
          seen(f => f.config.hidden),
          [17, 33, 129],
          `${cell} hidden sizes`,
        );
        assert.deepEqual(
          seen(f => f.B),
          [1, 5, 50],
          `${cell} batch sizes`,
        );
        assert.deepEqual(
          seen(f => f.T),
          [1, 7],
          `${cell} steps`,
        );
        assert.deepEqual(
          seen(f => f.config.layers),
          [1, 2],
          `${cell} layers`,
        );
      }
    });
    it('clip on some training steps and not on others, and decay the learning rate', () => {
      const clipped = optim.runs.flatMap(([, fx]) => fx.steps.map(s => s.clipped));
      assert.ok(clipped.includes(true) && clipped.includes(false));
      assert.ok(optim.runs.some(([, fx]) => new Set(fx.steps.map(s => s.lr)).size > 1));
      const above = optim.clip.map(c => c.norm > c.maxNorm);
      assert.ok(above.includes(true) && above.includes(false));
    });
  });
}

function engineSuite(e: Engine, k: K, fixtures: ModelFixture[], optim: ReturnType<typeof optimizerFixtures>, traces: TraceFixture[]): void {
  const precision = precisionOf(k.alloc(1));
  const tol = TOLERANCE[precision];
  const measure = (group: string, against: Against, tolerance = tol): Measure => new Measure(e.name, tolerance, group, against);

  describe(`${e.name} (${precision}, tolerance ${tol.toExponential(0)})`, () => {
    describe('matmul', () => {
      for (const transA of [false, true])
        for (const transB of [false, true])
          for (const accumulate of [false, true]) {
            it(`transA=${transA} transB=${transB} accumulate=${accumulate}: random products, a view, dyadic values exactly`, t => {
              const m = measure('kernels', 'reference-f64');
              checkMatmul(k, m, transA, transB, accumulate);
              m.done(t);
            });
          }
      it('K = 0 gives zeros, or leaves C when accumulating', () => {
        const c = k.alloc(6).fill(3);
        k.matmul(c, k.alloc(0), k.alloc(0), 2, 3, 0, false, false, true);
        assert.deepEqual([...c], [3, 3, 3, 3, 3, 3]);
        k.matmul(c, k.alloc(0), k.alloc(0), 2, 3, 0, false, false, false);
        assert.deepEqual([...c], [0, 0, 0, 0, 0, 0]);
      });
    });

    it('addBias and sumRows', t => {
      const m = measure('kernels', 'reference-f64');
      const rng = new Random(3);
      for (const [rows, cols] of [
        [1, 1],
        [3, 17],
        [129, 3],
        [17, 129],
        [300, 129],
        [2500, 65],
      ]) {
        const y = rnd(rows * cols, rng),
          bias = rnd(cols, rng);
        const yk = put(k, y),
          bk = put(k, bias);
        k.addBias(yk, bk, rows, cols);
        ref.addBias(y, bias, rows, cols);
        m.check(`addBias ${rows}x${cols}`, yk, y);
        const y2 = Float64Array.from(yk);
        k.sumRows(bk, yk, rows, cols);
        ref.sumRows(bias, y2, rows, cols);
        m.check(`sumRows ${rows}x${cols}`, bk, bias);
      }
      m.done(t);
    });

    it('embedding forward (exact) and backward', t => {
      const m = measure('kernels', 'reference-f64');
      const rng = new Random(4);
      for (const [V, dim, n] of [
        [1, 1, 1],
        [3, 17, 129],
        [65, 64, 2500],
        [7, 129, 17],
      ]) {
        const table = rnd(V * dim, rng);
        const ids = k.allocInt(n);
        for (let i = 0; i < n; i++) ids[i] = rng.int(V);
        const out = k.alloc(n * dim),
          out64 = new Float64Array(n * dim);
        const tk = put(k, table);
        k.embeddingForward(out, tk, ids, n, dim);
        ref.embeddingForward(out64, table, ids, n, dim);
        assert.deepEqual(Float64Array.from(out), out64, `embeddingForward V=${V} dim=${dim} n=${n}`);
        const dOut = rnd(n * dim, rng);
        k.embeddingBackward(tk, put(k, dOut), ids, n, dim);
        ref.embeddingBackward(table, dOut, ids, n, dim);
        m.check(`embeddingBackward V=${V} dim=${dim} n=${n}`, tk, table);
      }
      m.done(t);
    });

    it('softmax cross-entropy: loss and gradient, and the same loss without the gradient', t => {
      const m = measure('kernels', 'reference-f64');
      const rng = new Random(5);
      for (const [rows, V] of [
        [1, 1],
        [3, 17],
        [50, 65],
        [129, 65],
        [2500, 65],
        [5, 129],
        [300, 1000],
      ]) {
        for (const spread of [1, 30]) {
          const logits = rnd(rows * V, rng, spread);
          const targets = k.allocInt(rows);
          for (let i = 0; i < rows; i++) targets[i] = rng.int(V);
          const lk = put(k, logits),
            d = k.alloc(rows * V),
            d64 = new Float64Array(rows * V);
          const loss = k.softmaxCrossEntropy(lk, targets, rows, V, d, 0.37);
          const loss64 = ref.softmaxCrossEntropy(logits, targets, rows, V, d64, 0.37);
          m.check(`loss ${rows}x${V} spread ${spread}`, [loss], [loss64]);
          m.check(`dLogits ${rows}x${V} spread ${spread}`, d, d64);
          assert.equal(k.softmaxCrossEntropy(lk, targets, rows, V, null, 1), loss, 'the loss does not depend on dLogits');
        }
      }
      m.done(t);
    });

    it('multiply, scale, and sumSquares (accumulated in double)', t => {
      const m = measure('kernels', 'reference-f64');
      const rng = new Random(6);
      for (const n of [1, 3, 17, 129, 100_003]) {
        const x = rnd(n, rng),
          mask = rnd(n, rng);
        const xk = put(k, x),
          out = k.alloc(n),
          out64 = new Float64Array(n);
        k.multiply(out, xk, put(k, mask), n);
        ref.multiply(out64, x, mask, n);
        m.check(`multiply ${n}`, out, out64);
        // The sum of squares decides clipping: every engine sums in double.
        m.check(`sumSquares ${n}`, [k.sumSquares(xk, n)], [ref.sumSquares(x, n)], 1e-12);
        const s = Math.fround(-0.7);
        k.scale(xk, n, s);
        ref.scale(x, n, s);
        m.check(`scale ${n}`, xk, x);
      }
      m.done(t);
    });

    it('adam, rmsprop and sgd (with and without momentum) over several steps', t => {
      const m = measure('kernels', 'reference-f64');
      checkOptimizerKernels(k, m);
      m.done(t);
    });

    for (const name of ['adam', 'rmsprop', 'sgd-momentum', 'sgd', 'adamw'] as const) {
      it(`${name} kernel: 5 steps match torch.optim`, t => {
        const m = measure('kernels', 'PyTorch');
        const c = optim.kernels[name];
        const n = c.param.data.length;
        const param = put(k, c.param.data),
          grad = k.alloc(n),
          first = k.alloc(n),
          second = k.alloc(n);
        const h = c.hyper;
        c.grads.forEach((g, i) => {
          grad.set(g.data);
          const step = i + 1; // torch.optim counts steps from 1
          if (name === 'adamw') k.scale(param, n, 1 - h.lr * h.weightDecay!); // what Optimizer does to each decayed tensor first
          if (name === 'adam' || name === 'adamw')
            k.adam(param, grad, first, second, n, { lr: h.lr, beta1: h.beta1!, beta2: h.beta2!, eps: h.eps!, step });
          else if (name === 'rmsprop') k.rmsprop(param, grad, first, n, h.lr, h.alpha!, h.eps!);
          else k.sgd(param, grad, first, n, h.lr, h.momentum!, step === 1);
          m.check(`${name} step ${step}`, param, c.after[i].data);
        });
        m.done(t);
      });
    }

    it('clipGradNorm matches clip_grad_norm_ (the norm returned, the gradients scaled)', t => {
      const m = measure('kernels', 'PyTorch');
      for (const c of optim.clip) {
        // One flat gradient buffer; PyTorch's norm of per-tensor norms is the same number.
        const grad = put(
          k,
          c.grads.flatMap(g => g.data),
        );
        const norm = clipGradNorm(k, grad, grad.length, c.maxNorm);
        m.check(`${c.label} norm`, [norm], [c.norm]);
        m.check(
          `${c.label} gradients`,
          grad,
          c.clipped.flatMap(g => g.data),
        );
      }
      m.done(t);
    });

    it("Adam's first step from zero moments moves each parameter by lr * sign(g)", () => {
      // By hand: after one step m^ = g and v^ = g^2, so the move is lr g / (|g| + eps).
      // Without bias correction it would be 3.16 lr.
      const n = 64,
        lr = 2e-3,
        eps = 1e-8;
      const rng = new Random(7);
      const param = put(k, rnd(n, rng));
      const grad = k.alloc(n);
      // Magnitudes from 1e-4 to 1e2, both signs: the move must not depend on |g|.
      for (let i = 0; i < n; i++) grad[i] = (i % 2 === 0 ? 1 : -1) * Math.pow(10, -4 + 6 * rng.uniform(0, 1));
      const before = Float64Array.from(param);
      k.adam(param, grad, k.alloc(n), k.alloc(n), n, { lr, beta1: 0.9, beta2: 0.999, eps, step: 1 });
      // Read back from parameters of size up to 1: float32 spacing near 1 is 1.2e-7.
      const slackOfType = precision === 'f32' ? 2.4e-7 : 1e-15;
      for (let i = 0; i < n; i++) {
        const move = before[i] - param[i],
          expected = lr * Math.sign(grad[i]);
        const slack = (lr * eps) / Math.abs(grad[i]) + slackOfType;
        assert.ok(Math.abs(move - expected) <= slack, `param ${i}: moved ${move}, expected ${expected}`);
      }
    });

    for (const cell of CELLS) {
      it(`${cell} cell forward and backward, with and without the optional buffers`, t => {
        const m = measure(cell, 'reference-f64');
        for (const shape of CELL_SHAPES) for (const optional of [true, false]) checkCell(k, m, { cell, ...shape }, optional);
        m.done(t);
      });
    }

    for (const fx of fixtures) {
      it(`${fx.file}: the model's logits, loss, gradients and final state match PyTorch`, t => {
        const m = measure(fx.config.cell, 'PyTorch');
        fixtureModel(k, m, fx);
        m.done(t);
      });
      it(`${fx.file}: the cell kernels layer by layer, to the gradient at the initial state`, t => {
        const m = measure(fx.config.cell, 'PyTorch');
        fixtureCells(k, m, fx);
        m.done(t);
      });
    }

    for (const fx of traces) {
      it(`${fx.file}: a trace's surprise, guesses, hidden and cell values and gates at every character match PyTorch`, t => {
        const m = measure(fx.config.cell, 'PyTorch');
        fixtureTrace(k, m, fx);
        m.done(t);
      });
    }

    for (const cell of CELLS) {
      it(`${cell} cellStep, input x or table rows, matches the reference forward with T = 1`, t => {
        const m = measure(cell, 'reference-f64');
        for (const H of [1, 17, 33, 129]) for (const B of [1, 5, 50]) checkCellStep(k, m, cell, H, B);
        m.done(t);
      });
      it(`${cell} model step (bindModelStep): logits and state of four steps match the reference forward`, t => {
        const m = measure(cell, 'reference-f64');
        for (const [H, B] of [
          [3, 1],
          [17, 5],
          [33, 50],
          [129, 1],
          [129, 5],
        ])
          checkModelStep(k, m, cell, H, B);
        m.done(t);
      });
    }

    it('cellStep and the model step refuse T other than 1 and ids out of range; a stream batch refuses what is not a character id', () => {
      const shape: CellShape = { cell: 'gru', T: 1, B: 2, I: 3, H: 4 };
      const G = 12;
      const weights = { wih: k.alloc(G * 3), whh: k.alloc(G * 4), bih: k.alloc(G), bhh: k.alloc(G) };
      const ids = k.allocInt(2);
      ids.set([0, 2]); // the table has 2 rows
      const args = {
        shape,
        weights,
        input: { table: k.alloc(2 * G), ids },
        h: k.alloc(8),
        c: null,
        scratch: k.alloc(cellStepScratchSize(shape)),
      };
      assert.throws(() => k.cellStep(args), RangeError);
      assert.throws(() => k.cellStep({ ...args, shape: { ...shape, T: 2 } }), RangeError);
      const model = new CharRNN({ cell: 'gru', layers: 1, hidden: 4, emb: 3, vocabSize: 5, dropout: 0 }, k);
      // The engine's own model step, bound by hand: its run reads the ids as they are then.
      const B = 2,
        H = 4,
        V = 5;
      const modelIds = k.allocInt(B);
      const run = k.bindModelStep({
        cell: 'gru',
        B,
        H,
        V,
        table: inputTable(model),
        packed: packedStepWeights(model),
        layers: model.layers.map(l => ({ weights: l.weights, inputSize: l.inputSize })),
        outWeight: model.params.get('out.weight'),
        outBias: model.params.get('out.bias'),
        state: [{ h: k.alloc(B * H), c: null }],
        ids: modelIds,
        logits: k.alloc(B * V),
        scratch: k.alloc(modelStepScratchSize('gru', B, H, 1)),
      });
      run();
      for (const bad of [
        [0, 5],
        [-1, 0],
        [7, 1],
      ]) {
        modelIds.set(bad);
        assert.throws(run, RangeError, `bound step, ids ${bad}`);
      }
      // Generation's face of it: a stream's input, and a step with a stream that has none.
      const batch = new GenerationBatch(model, { capacity: 2 });
      const [a, b] = [batch.open(), batch.open()];
      for (const bad of [5, -1, 1.5, NaN]) assert.throws(() => b.input(bad), RangeError, `input ${bad}`);
      a.input(0);
      assert.throws(() => batch.step(), /has no input/, 'a stream without input');
      batch.dispose();
    });

    it('the model step gives every stream the same numbers whatever B', () => {
      const config: ModelConfig = { cell: 'lstm', layers: 2, hidden: 40, emb: 6, vocabSize: 13, dropout: 0 };
      const model = new CharRNN(config, k, { seed: 5 });
      // Sizes that the engines cut into different blocks of streams (the native AVX-512 step: 1, up to 5, up to 12 at a time).
      const sizes = [2, 3, 7, 13, 50];
      const singles = Array.from({ length: Math.max(...sizes) }, () => streamsOf(model, 1));
      const batches = sizes.map(B => streamsOf(model, B));
      for (let t = 0; t < 3; t++) {
        const ids = Array.from({ length: singles.length }, (_, b) => (b * 5 + t * 3) % 13);
        const alone = singles.map((s, b) => Array.from(s.step([ids[b]])));
        batches.forEach((batch, i) => {
          const B = sizes[i];
          const logits = batch.step(ids.slice(0, B));
          for (let b = 0; b < B; b++)
            assert.deepEqual(Array.from(logits.subarray(b * 13, (b + 1) * 13)), alone[b], `B ${B} stream ${b} step ${t}`);
        });
      }
      for (const s of [...singles, ...batches]) s.dispose();
    });

    it('the model step follows the weights: after an optimizer step, params.changed(), and a load', () => {
      const text = 'abcabcabd\n'.repeat(30);
      const vocab = Vocabulary.fromText(text);
      const config: ModelConfig = { cell: 'lstm', layers: 2, hidden: 12, emb: 6, vocabSize: vocab.size, dropout: 0 };
      const model = new CharRNN(config, k, { seed: 2 });
      // Fresh streams and a fresh state: the step must agree with forward (T = 1) under the weights as they are now.
      const agrees = (mm: CharRNN<FloatArray>, what: string): void => {
        const s = streamsOf(mm, 2),
          sf = mm.newState(2);
        for (let t = 0; t < 2; t++) {
          const x = [t + 1, t + 2];
          const want = Float64Array.from(mm.forward(x, 1, 2, sf));
          const e = error(s.step(x), want);
          assert.ok(e < tol, `${what}: step against forward, error ${e.toExponential(2)}`);
        }
        s.dispose();
      };
      // A disposed batch leaves its buffers and bound plans to the model's next batches: they must read the weights as they are then.
      const first = streamsOf(model, 2);
      const before = first.step([1, 2]);
      first.dispose();
      // An optimizer step moves every weight, the embedding and layer 0's W_ih (the table's inputs) included.
      new Trainer(model, vocab.encode(text).ids, {
        batch: 2,
        seq: 8,
        clip: 5,
        lrDecay: 1,
        lrDecayEvery: 0,
        optimizer: { ...DEFAULT_OPTIMIZER, lr: 0.05 },
      }).step();
      assert.ok(error(streamsOf(model, 2).step([1, 2]), before) > 1e-3, 'the step still gives the old logits after training');
      agrees(model, 'after an optimizer step');
      const emb = model.params.get('emb.weight');
      for (let i = 0; i < emb.length; i++) emb[i] *= -1;
      model.params.changed();
      agrees(model, 'after params.changed()');
      // A model file loaded into this engine, and stepped from a fresh state.
      const file = encodeModel(new CharRNN(config, referenceKernels('f32'), { seed: 9 }), vocab);
      const loaded = loadModel(file, 'memory', k).model;
      streamsOf(loaded, 2).step([0, 1]);
      agrees(loaded, 'after a load');
    });

    for (const [file, fx] of optim.runs) {
      it(`${file}: every step's loss, gradient norm, learning rate and weights match PyTorch`, t => {
        const m = measure(fx.config.cell, 'PyTorch', RUN_FACTOR * tol);
        trainingRun(k, m, fx);
        m.done(t);
      });
      it(`${file}: Trainer.step reproduces the run from the token sequence`, t => {
        const m = measure(fx.config.cell, 'PyTorch', RUN_FACTOR * tol);
        trainerRun(k, m, fx);
        m.done(t);
      });
    }

    for (const cell of CELLS) {
      it(`${cell} model: logits, loss and gradients over two chunks with carried state and dropout`, t => {
        const m = measure(cell, 'reference-f64');
        checkModel(k, m, cell);
        m.done(t);
      });
    }

    it('is deterministic: the same training and generation twice give the same bits', () => {
      assert.deepEqual(digest(k), digest(k));
    });

    if (e.sameBitsAs) {
      const { engine: other, what } = e.sameBitsAs;
      it(`gives the same bits as ${other} (${what === 'all' ? 'kernels, training and generation' : 'training'})`, async t => {
        const theirs = await digestOf(other);
        if (theirs instanceof Unavailable) {
          t.skip(`${other} does not run here: ${theirs.reason}`);
          return;
        }
        const mine = digest(k);
        assert.equal(mine.training, theirs.training, 'training: parameters after Adam steps with dropout, and gradients');
        if (what === 'all') {
          assert.equal(mine.kernels, theirs.kernels, 'kernels: large matmuls, the loss, the optimizers');
          assert.equal(mine.generation, theirs.generation, 'generation: logits of model steps');
        }
      });
    }
  });
}

// ---------------------------------------------------------------- kernels

function checkMatmul(k: K, m: Measure, transA: boolean, transB: boolean, accumulate: boolean): void {
  const rng = new Random(17 + Number(transA) * 4 + Number(transB) * 2 + Number(accumulate));
  const what = (M: number, N: number, K: number): string => `${M}x${N}x${K}`;
  for (const [M, N, K] of [
    [1, 1, 1],
    [3, 17, 129],
    [129, 3, 17],
    [17, 129, 3],
    [1, 129, 17],
    [129, 1, 3],
    [50, 129, 33],
    [97, 33, 257],
    [200, 70, 600],
  ]) {
    const a = rnd(M * K, rng),
      b = rnd(K * N, rng),
      c = rnd(M * N, rng);
    // Every operand a view at an odd offset into a larger buffer, as the model passes its buffers.
    const at = (values: Float64Array, offset: number): FloatArray => {
      const v = k.alloc(values.length + offset).subarray(offset);
      v.set(values);
      return v;
    };
    const big = k.alloc(M * N + 5);
    const view = big.subarray(5);
    view.set(c);
    k.matmul(view, at(a, 3), at(b, 1), M, N, K, transA, transB, accumulate);
    const expected = once(`matmul ${M} ${N} ${K} ${transA} ${transB} ${accumulate} ${c[0]}`, () => {
      ref.matmul(c, a, b, M, N, K, transA, transB, accumulate);
      return c;
    });
    m.check(what(M, N, K), view, expected);
    assert.ok(
      big.subarray(0, 5).every(v => v === 0),
      `${what(M, N, K)}: nothing written before the view`,
    );
  }
  // Quarter-integers in [-2, 2]: every product and partial sum is exact in float32, so
  // any indexing mistake shows as a difference whatever the order of summation.
  const dyadic = (n: number): Float64Array => Float64Array.from({ length: n }, () => (rng.int(17) - 8) / 4);
  const SIZES = [1, 3, 17, 129];
  for (const M of SIZES)
    for (const N of SIZES)
      for (const K of SIZES) {
        const p = once(`dyadic ${M} ${N} ${K} ${transA} ${transB} ${accumulate}`, () => {
          const a = dyadic(M * K),
            b = dyadic(K * N),
            c = dyadic(M * N);
          const product = Float64Array.from(c);
          ref.matmul(product, a, b, M, N, K, transA, transB, accumulate);
          return { a, b, c, product };
        });
        const ck = put(k, p.c);
        k.matmul(ck, put(k, p.a), put(k, p.b), M, N, K, transA, transB, accumulate);
        for (let i = 0; i < ck.length; i++) {
          if (ck[i] !== p.product[i]) assert.fail(`dyadic ${what(M, N, K)}: entry ${i} is ${ck[i]}, exactly ${p.product[i]}`);
        }
      }
}

function checkOptimizerKernels(k: K, m: Measure): void {
  const rng = new Random(8);
  for (const n of [1, 17, 1029, 50_003]) {
    const p = rnd(n, rng),
      mo = new Float64Array(n),
      v = new Float64Array(n);
    const pk = put(k, p),
      mk = k.alloc(n),
      vk = k.alloc(n);
    for (let step = 1; step <= 4; step++) {
      const g = rnd(n, rng);
      const args = { lr: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8, step };
      k.adam(pk, put(k, g), mk, vk, n, args);
      ref.adam(p, g, mo, v, n, args);
    }
    m.check(`adam param n=${n}`, pk, p);
    m.check(`adam m n=${n}`, mk, mo);
    m.check(`adam v n=${n}`, vk, v);

    const q = rnd(n, rng),
      r = new Float64Array(n),
      qk = put(k, q),
      rk = k.alloc(n);
    for (let step = 0; step < 4; step++) {
      const g = rnd(n, rng);
      k.rmsprop(qk, put(k, g), rk, n, 0.002, 0.95, 1e-8);
      ref.rmsprop(q, g, r, n, 0.002, 0.95, 1e-8);
    }
    m.check(`rmsprop param n=${n}`, qk, q);
    m.check(`rmsprop v n=${n}`, rk, r);

    for (const momentum of [0, 0.9]) {
      const w = rnd(n, rng),
        buf = new Float64Array(n),
        wk = put(k, w),
        bk = k.alloc(n);
      for (let step = 0; step < 4; step++) {
        const g = rnd(n, rng);
        k.sgd(wk, put(k, g), bk, n, 0.1, momentum, step === 0);
        ref.sgd(w, g, buf, n, 0.1, momentum, step === 0);
      }
      m.check(`sgd momentum ${momentum} param n=${n}`, wk, w);
      m.check(`sgd momentum ${momentum} buffer n=${n}`, bk, buf);
    }
  }
}

// ---------------------------------------------------------------- cells

/**
 * Shapes that reach the vector code and its tails: hidden 1 (scalar), 17, 33,
 * 129, 200 (one past 16, 32, 128 lanes; a partial last panel), batches from 1 to
 * 37 (partial row tiles; several threads split by rows from 8 rows each, else by
 * hidden units), inputs of 1 to 129 features.
 */
const CELL_SHAPES: Omit<CellShape, 'cell'>[] = [
  { T: 1, B: 1, I: 1, H: 1 },
  { T: 3, B: 17, I: 3, H: 17 },
  { T: 5, B: 3, I: 129, H: 33 },
  { T: 4, B: 7, I: 17, H: 129 },
  { T: 3, B: 37, I: 5, H: 129 },
  { T: 4, B: 15, I: 9, H: 200 },
  { T: 2, B: 9, I: 33, H: 5 },
  { T: 6, B: 16, I: 12, H: 12 },
];

interface CellProblem {
  weights: CellWeights<Float64Array>;
  x: Float64Array;
  h0: Float64Array;
  c0: Float64Array;
  dh: Float64Array;
  dhT: Float64Array;
  dcT: Float64Array;
  /** Accumulated into: the starting values. */
  grads: CellWeights<Float64Array>;
  /** Written, or left alone when passed as null: the starting values. */
  dx: Float64Array;
  dh0: Float64Array;
  dc0: Float64Array;
}

function cellProblem(shape: CellShape): CellProblem {
  const { cell, T, B, I, H } = shape;
  const G = GATES[cell] * H;
  const rng = new Random(T * 1000 + B * 100 + H + I * 7 + GATES[cell]);
  // PyTorch's initialisation bound: larger weights make the recurrence chaotic and amplify any rounding.
  const ws = Math.min(0.6, 1 / Math.sqrt(H));
  return {
    weights: { wih: rnd(G * I, rng, ws), whh: rnd(G * H, rng, ws), bih: rnd(G, rng, ws), bhh: rnd(G, rng, ws) },
    x: rnd(T * B * I, rng),
    h0: rnd(B * H, rng, 0.6),
    c0: rnd(B * H, rng, 0.6),
    dh: rnd(T * B * H, rng),
    dhT: rnd(B * H, rng),
    dcT: rnd(B * H, rng),
    grads: { wih: rnd(G * I, rng, 0.1), whh: rnd(G * H, rng, 0.1), bih: rnd(G, rng, 0.1), bhh: rnd(G, rng, 0.1) },
    dx: rnd(T * B * I, rng),
    dh0: rnd(B * H, rng),
    dc0: rnd(B * H, rng),
  };
}

type CellOutputs = Record<'gates' | 'aux' | 'h' | 'gwih' | 'gwhh' | 'gbih' | 'gbhh' | 'dx' | 'dh0' | 'dc0', FloatArray>;

/** Forward, then backward from the problem's gradients; the optional inputs and outputs present or null. */
function runCell(k: K, shape: CellShape, p: CellProblem, optional: boolean): CellOutputs {
  const lstm = shape.cell === 'lstm';
  const w = (c: CellWeights<Float64Array>): CellWeights<FloatArray> => ({
    wih: put(k, c.wih),
    whh: put(k, c.whh),
    bih: put(k, c.bih),
    bhh: put(k, c.bhh),
  });
  const weights = w(p.weights),
    grads = w(p.grads);
  const x = put(k, p.x),
    h0 = put(k, p.h0),
    c0 = lstm ? put(k, p.c0) : null;
  const sizes = cellActivationSizes(shape),
    ss = cellScratchSizes(shape);
  const act = { gates: k.alloc(sizes.gates), aux: k.alloc(sizes.aux), h: k.alloc(sizes.h) };
  k.cellForward({ shape, weights, x, h0, c0, act });
  const dx = put(k, p.dx),
    dh0 = put(k, p.dh0),
    dc0 = put(k, p.dc0);
  const opt = <A>(a: A): A | null => (optional ? a : null);
  k.cellBackward({
    shape,
    weights,
    x,
    h0,
    c0,
    act,
    dh: put(k, p.dh),
    dhT: opt(put(k, p.dhT)),
    dcT: lstm ? opt(put(k, p.dcT)) : null,
    grads,
    dx: opt(dx),
    dh0: opt(dh0),
    dc0: lstm ? opt(dc0) : null,
    scratch: { dgates: k.alloc(ss.dgates), dgatesHidden: k.alloc(ss.dgatesHidden), dhNext: k.alloc(ss.dhNext), dcNext: k.alloc(ss.dcNext) },
  });
  return { ...act, gwih: grads.wih, gwhh: grads.whh, gbih: grads.bih, gbhh: grads.bhh, dx, dh0, dc0 };
}

function checkCell(k: K, m: Measure, shape: CellShape, optional: boolean): void {
  const key = `cell ${JSON.stringify(shape)} ${optional}`;
  const p = once(`${key} problem`, () => cellProblem(shape));
  const expected = once(`${key} expected`, () => runCell(ref, shape, p, optional));
  const got = runCell(k, shape, p, optional);
  const { T, B, I, H } = shape;
  const name = `T${T} B${B} I${I} H${H}${optional ? '' : ' (null dhT, dcT, dx, dh0, dc0)'}`;
  for (const key of ['gates', 'aux', 'h', 'gwih', 'gwhh', 'gbih', 'gbhh'] as const) m.check(`${name} ${key}`, got[key], expected[key]);
  for (const key of ['dx', 'dh0', 'dc0'] as const) {
    if (optional && (key !== 'dc0' || shape.cell === 'lstm')) m.check(`${name} ${key}`, got[key], expected[key]);
    else assert.deepEqual(Array.from(got[key]), Array.from(p[key]), `${name}: ${key} passed as null, yet written`);
  }
}

// ---------------------------------------------------------------- PyTorch fixtures

/** [A, C, rest] -> [C, A, rest]: batch-first <-> time-major. */
function swap01(src: ArrayLike<number>, A: number, C: number, rest: number): Float64Array {
  const out = new Float64Array(A * C * rest);
  for (let a = 0; a < A; a++)
    for (let c = 0; c < C; c++) for (let r = 0; r < rest; r++) out[(c * A + a) * rest + r] = src[(a * C + c) * rest + r];
  return out;
}

/** Slice l of a [layers, B, H] tensor. */
function layerSlice(t: Tensor, l: number): ArrayLike<number> {
  const n = t.shape[1] * t.shape[2];
  return t.data.subarray(l * n, (l + 1) * n);
}

/** The whole model through its public API, as a trainer uses it. */
function fixtureModel(k: K, m: Measure, fx: ModelFixture): void {
  const { config, B, T } = fx;
  const model = new CharRNN(config, k);
  assert.equal(fx.weights.size, model.params.specs.length, 'the fixture and the model have different tensors');
  for (const spec of model.params.specs) {
    const w = fx.weights.get(spec.name);
    assert.ok(w, `fixture has no weight ${spec.name}`);
    assert.deepEqual(w.shape, spec.shape, `shape of ${spec.name}`);
    model.params.get(spec.name).set(w.data);
  }
  model.params.zeroGrad();
  const state = model.newState(B);
  for (let l = 0; l < config.layers; l++) {
    state.layers[l].h.set(layerSlice(fx.h0, l));
    if (fx.c0) state.layers[l].c!.set(layerSlice(fx.c0, l));
  }
  const x = swap01(fx.x.data, B, T, 1),
    y = swap01(fx.y.data, B, T, 1);
  const logits = model.forward(x, T, B, state, { train: true });
  m.check(`${fx.file} logits`, swap01(logits, T, B, config.vocabSize), fx.logits.data);
  m.check(`${fx.file} loss`, [model.backward(y)], [fx.loss]);
  for (const spec of model.params.specs)
    m.check(`${fx.file} d ${spec.name}`, model.params.gradOf(spec.name), fx.grads.get(spec.name)!.data);
  for (let l = 0; l < config.layers; l++) {
    m.check(`${fx.file} h_n[${l}]`, state.layers[l].h, layerSlice(fx.h_n, l));
    if (fx.c_n) m.check(`${fx.file} c_n[${l}]`, state.layers[l].c!, layerSlice(fx.c_n, l));
  }
}

/**
 * A trace of the fixture's two texts, in chunks of 7 steps (so the state and
 * the last logits are carried between chunks), as one batch of two streams of
 * different lengths and one text at a time: every value at every character
 * against PyTorch's.
 */
function fixtureTrace(k: K, m: Measure, fx: TraceFixture): void {
  const model = new CharRNN(fx.config, k);
  for (const spec of model.params.specs) model.params.get(spec.name).set(fx.weights.get(spec.name)!.data);
  const vocab = new Vocabulary(fx.vocab);
  const layers = Array.from({ length: fx.config.layers }, (_, l) => l);
  const values = fx.config.cell === 'lstm' ? (['hidden', 'cell', 'gates'] as const) : (['hidden', 'gates'] as const);
  for (const batch of [2, 1]) {
    const trace = traceText(model, vocab, fx.texts, false, { topK: fx.k, layers, values, chunk: 7, batch });
    assert.deepEqual(trace.starts, [0, [...fx.texts[0]].length]);
    fx.texts.forEach((text, s) => {
      const want = fx.text[s];
      const n = [...text].length;
      const at = trace.starts[s];
      const label = `${fx.file} batch ${batch} text ${s}`;
      assert.ok(Number.isNaN(trace.surprise[at]), `${label}: the first character has no prediction`);
      m.check(`${label} surprise`, trace.surprise.subarray(at + 1, at + n), want.get('surprise')!.data.subarray(1));
      const K = fx.k;
      const topP = trace.topP.subarray((at + 1) * K, (at + n) * K);
      const wantP = want.get('top_p')!.data;
      m.check(`${label} top-${K} probabilities`, topP, wantP);
      const ids = trace.topIds.subarray((at + 1) * K, (at + n) * K);
      const wantIds = want.get('top_ids')!.data;
      for (let i = 0; i < wantIds.length; i++) {
        // Guesses whose probabilities are within rounding of a neighbour's may swap places.
        const j = i % K;
        const tied = (j > 0 && wantP[i - 1] - wantP[i] < 1e-5) || (j < K - 1 && wantP[i] - wantP[i + 1] < 1e-5);
        if (!tied) assert.equal(ids[i], wantIds[i], `${label}: guess ${j + 1} at character ${Math.floor(i / K) + 1}`);
      }
      for (const l of layers) {
        const traced = trace.layers[l];
        for (const v of values) {
          const width = traced[v]!.length / trace.chars.length;
          m.check(`${label} ${v}[${l}]`, traced[v]!.subarray(at * width, (at + n) * width), want.get(`${v}${l}`)!.data);
        }
      }
    });
  }
}

/**
 * The engine's kernels alone: embedding, each layer's cellForward from the
 * fixture's initial state, the output layer and the loss's gradient, then
 * cellBackward layer by layer down to the gradient at each layer's initial
 * state and at the embedding's output, which the model API does not expose.
 */
function fixtureCells(k: K, m: Measure, fx: ModelFixture): void {
  const { config, B, T } = fx;
  const { cell, layers, hidden: H, emb: E, vocabSize: V } = config;
  const rows = T * B;
  const w = (name: string): FloatArray => put(k, fx.weights.get(name)!.data);
  const ids = k.allocInt(rows),
    targets = k.allocInt(rows);
  ids.set(swap01(fx.x.data, B, T, 1));
  targets.set(swap01(fx.y.data, B, T, 1));
  let input = k.alloc(rows * E);
  k.embeddingForward(input, w('emb.weight'), ids, rows, E);
  const run = [];
  for (let l = 0; l < layers; l++) {
    const shape: CellShape = { cell, T, B, I: l === 0 ? E : H, H };
    const weights = {
      wih: w(`rnn.weight_ih_l${l}`),
      whh: w(`rnn.weight_hh_l${l}`),
      bih: w(`rnn.bias_ih_l${l}`),
      bhh: w(`rnn.bias_hh_l${l}`),
    };
    const sizes = cellActivationSizes(shape);
    const act = { gates: k.alloc(sizes.gates), aux: k.alloc(sizes.aux), h: k.alloc(sizes.h) };
    const h0 = put(k, layerSlice(fx.h0, l)),
      c0 = fx.c0 ? put(k, layerSlice(fx.c0, l)) : null;
    k.cellForward({ shape, weights, x: input, h0, c0, act });
    run.push({ shape, weights, x: input, h0, c0, act });
    input = act.h;
  }
  // dh at the top layer's outputs: (softmax - onehot) / (T B) through the output layer.
  const outW = w('out.weight');
  const logits = k.alloc(rows * V),
    dLogits = k.alloc(rows * V);
  k.matmul(logits, input, outW, rows, V, H, false, true, false);
  k.addBias(logits, w('out.bias'), rows, V);
  k.softmaxCrossEntropy(logits, targets, rows, V, dLogits, 1 / rows);
  let dh = k.alloc(rows * H);
  k.matmul(dh, dLogits, outW, rows, H, V, false, false, false);
  for (let l = layers - 1; l >= 0; l--) {
    const r = run[l];
    const G = GATES[cell] * H;
    const grads = { wih: k.alloc(G * r.shape.I), whh: k.alloc(G * H), bih: k.alloc(G), bhh: k.alloc(G) };
    const ss = cellScratchSizes(r.shape);
    const dx = k.alloc(rows * r.shape.I),
      dh0 = k.alloc(B * H),
      dc0 = cell === 'lstm' ? k.alloc(B * H) : null;
    k.cellBackward({
      ...r,
      dh,
      dhT: null,
      dcT: null,
      grads,
      dx,
      dh0,
      dc0,
      scratch: {
        dgates: k.alloc(ss.dgates),
        dgatesHidden: k.alloc(ss.dgatesHidden),
        dhNext: k.alloc(ss.dhNext),
        dcNext: k.alloc(ss.dcNext),
      },
    });
    m.check(`${fx.file} cells dh0[${l}]`, dh0, layerSlice(fx.dh0, l));
    if (dc0 && fx.dc0) m.check(`${fx.file} cells dc0[${l}]`, dc0, layerSlice(fx.dc0, l));
    m.check(`${fx.file} cells d weight_hh_l${l}`, grads.whh, fx.grads.get(`rnn.weight_hh_l${l}`)!.data);
    m.check(`${fx.file} cells d bias_ih_l${l}`, grads.bih, fx.grads.get(`rnn.bias_ih_l${l}`)!.data);
    dh = dx;
  }
  m.check(`${fx.file} cells d embedding output`, swap01(dh, T, B, E), fx.d_emb_out.data);
}

/** One training run as Trainer.step does it, fed the fixture's chunks: zeroGrad, forward, backward, clip, decayed lr, step. */
function trainingRun(k: K, m: Measure, fx: TrainFixture): void {
  const { B, T } = fx;
  const model = new CharRNN(fx.config, k);
  loadWeights(model, fx.initialWeights);
  const optimizer = new Optimizer(k, model.params, fx.optimizer);
  const average = fx.ema ? new WeightAverage(model.params, fx.ema, n => k.alloc(n)) : null;
  const timeMajor = (src: ArrayLike<number>): Float64Array => swap01(src, B, T, 1);
  const state = model.newState(B); // carried; backward truncates at the chunk's start, as torch_ref.py's detach does
  fx.steps.forEach((expected, i) => {
    const where = `step ${i + 1}`;
    model.params.zeroGrad();
    model.forward(timeMajor(fx.x[i].data), T, B, state, { train: true });
    m.check(`${where} loss`, [model.backward(timeMajor(fx.y[i].data))], [expected.loss]);
    const norm = clipGradNorm(k, model.params.grad, model.params.size, fx.clip);
    if (expected.gradNorm !== null) m.check(`${where} grad norm`, [norm], [expected.gradNorm]);
    if (fx.schedule) {
      // PyTorch chains the schedule's factors step by step; the closed form differs by rounding only.
      const lr = learningRateAt(fx.schedule, optimizer.steps);
      m.check(`${where} lr`, [lr], [expected.lr]);
      optimizer.step(lr);
    } else {
      const lr = decayedLearningRate(fx.optimizer.lr, fx.lrDecay, fx.lrDecayEvery, optimizer.steps);
      // StepLR's gamma 0.5 and decayedLearningRate's power of 0.5 are exact in binary: equal, not close.
      assert.equal(lr, expected.lr, `${where}: learning rate ${lr}, PyTorch's StepLR gives ${expected.lr}`);
      optimizer.step(lr);
    }
    average?.update(optimizer.steps);
    for (const spec of model.params.specs) m.check(`${where} ${spec.name}`, model.params.get(spec.name), expected.weights[spec.name].data);
    if (average) checkAverage(m, where, model, average.values, expected.ema!);
  });
}

/** The same run through Trainer, which cuts the chunks from the token sequence itself. */
function trainerRun(k: K, m: Measure, fx: TrainFixture): void {
  const model = new CharRNN(fx.config, k);
  loadWeights(model, fx.initialWeights);
  const trainer = new Trainer(model, Uint16Array.from(fx.data.data), {
    batch: fx.B,
    seq: fx.T,
    clip: fx.clip,
    optimizer: fx.optimizer,
    lrDecay: fx.lrDecay,
    lrDecayEvery: fx.lrDecayEvery,
    ...(fx.schedule ? { schedule: fx.schedule } : {}),
    ...(fx.ema ? { ema: fx.ema } : {}),
  });
  fx.steps.forEach((expected, i) => {
    const where = `step ${i + 1}`;
    const r = trainer.step();
    assert.equal(r.step, i + 1);
    if (fx.schedule) m.check(`${where} lr`, [r.lr], [expected.lr]);
    else assert.equal(r.lr, expected.lr, `${where}: learning rate`);
    m.check(`${where} loss`, [r.loss], [expected.loss]);
    if (expected.gradNorm !== null) m.check(`${where} grad norm`, [r.gradNorm], [expected.gradNorm]);
    for (const spec of model.params.specs) m.check(`${where} ${spec.name}`, model.params.get(spec.name), expected.weights[spec.name].data);
    if (trainer.average) checkAverage(m, where, model, trainer.average.values, expected.ema!);
  });
}

/** A moving average in the parameters' flat layout against the fixture's AveragedModel weights. */
function checkAverage(
  m: Measure,
  where: string,
  model: CharRNN<FloatArray>,
  values: FloatArray,
  ema: Record<string, { data: number[] }>,
): void {
  for (const spec of model.params.specs)
    m.check(`${where} ema ${spec.name}`, values.subarray(spec.offset, spec.offset + spec.size), ema[spec.name].data);
}

function loadWeights(model: CharRNN<FloatArray>, weights: Record<string, { shape: number[]; data: number[] }>): void {
  assert.equal(Object.keys(weights).length, model.params.specs.length, 'the fixture and the model have different tensors');
  for (const spec of model.params.specs) {
    assert.deepEqual(weights[spec.name]?.shape, spec.shape, `shape of ${spec.name}`);
    model.params.get(spec.name).set(weights[spec.name].data);
  }
}

// ---------------------------------------------------------------- inference steps

function checkCellStep(k: K, m: Measure, cell: CellType, H: number, B: number): void {
  const I = 7,
    G = GATES[cell] * H,
    rows = 6;
  const lstm = cell === 'lstm';
  const shape: CellShape = { cell, T: 1, B, I, H };
  const p = once(`step ${cell} ${H} ${B}`, () => {
    const rng = new Random(1000 + H * 10 + B + GATES[cell]);
    const s = 1 / Math.sqrt(H);
    const weights = { wih: rnd(G * I, rng, s), whh: rnd(G * H, rng, s), bih: rnd(G, rng, s), bhh: rnd(G, rng, s) };
    const x = rnd(B * I, rng),
      h = rnd(B * H, rng, 0.5),
      c = rnd(B * H, rng, 0.5);
    // Table rows stand for x W_ih^T + b_ih of some characters, picked by ids.
    const table = rnd(rows * G, rng);
    const ids = Array.from({ length: B }, (_, b) => (b * 4 + 1) % rows);
    const forward = (wih: Float64Array, bihOf: (b: number) => Float64Array, xs: Float64Array): { h: Float64Array; c: Float64Array } => {
      // Stream by stream, so each stream may have its own input bias (a table row, on a zero W_ih).
      const hOut = new Float64Array(B * H),
        cOut = new Float64Array(B * H);
      for (let b = 0; b < B; b++) {
        const one: CellShape = { cell, T: 1, B: 1, I, H };
        const sz = cellActivationSizes(one);
        const act = { gates: new Float64Array(sz.gates), aux: new Float64Array(sz.aux), h: new Float64Array(sz.h) };
        ref.cellForward({
          shape: one,
          weights: { ...weights, wih, bih: bihOf(b) },
          x: xs.subarray(b * I, (b + 1) * I),
          h0: h.subarray(b * H, (b + 1) * H),
          c0: lstm ? c.subarray(b * H, (b + 1) * H) : null,
          act,
        });
        hOut.set(act.h, b * H);
        if (lstm) cOut.set(act.aux, b * H);
      }
      return { h: hOut, c: cOut };
    };
    return {
      weights,
      x,
      h,
      c,
      table,
      ids,
      fromX: forward(weights.wih, () => weights.bih, x),
      fromTable: forward(new Float64Array(G * I), b => table.subarray(ids[b] * G, (ids[b] + 1) * G), new Float64Array(B * I)),
    };
  });
  for (const useTable of [false, true]) {
    const weights = { wih: put(k, p.weights.wih), whh: put(k, p.weights.whh), bih: put(k, p.weights.bih), bhh: put(k, p.weights.bhh) };
    const h = put(k, p.h),
      c = lstm ? put(k, p.c) : null;
    const ids = k.allocInt(B);
    ids.set(p.ids);
    k.cellStep({
      shape,
      weights,
      input: useTable ? { table: put(k, p.table), ids } : { x: put(k, p.x) },
      h,
      c,
      scratch: k.alloc(cellStepScratchSize(shape)),
    });
    const want = useTable ? p.fromTable : p.fromX;
    const what = `H${H} B${B} from ${useTable ? 'table' : 'x'}`;
    m.check(`${what} h`, h, want.h);
    if (c) m.check(`${what} c`, c, want.c);
  }
}

function checkModelStep(k: K, m: Measure, cell: CellType, H: number, B: number): void {
  const config: ModelConfig = { cell, layers: 2, hidden: H, emb: 5, vocabSize: 11, dropout: 0 };
  const model = roundedModel(config, k, 7 + H);
  const expected = once(`model step ${cell} ${H} ${B}`, () => {
    const m64 = new CharRNN(config, ref, { seed: 7 + H });
    m64.params.data.set(model.params.data); // the same float32-rounded weights
    m64.params.changed();
    const s = m64.newState(B);
    return [0, 1, 2, 3].map(t => {
      const logits = Float64Array.from(m64.forward(stepIds(B, t), 1, B, s));
      return { logits, state: s.layers.map(l => ({ h: l.h.slice(), c: l.c?.slice() ?? null })) };
    });
  });
  const s = streamsOf(model, B);
  expected.forEach((want, t) => {
    const logits = s.step(stepIds(B, t));
    const state = s.state();
    m.check(`H${H} B${B} step ${t} logits`, logits, want.logits);
    want.state.forEach((l, i) => {
      m.check(`H${H} B${B} step ${t} h of layer ${i}`, state[i].h, l.h);
      if (l.c) m.check(`H${H} B${B} step ${t} c of layer ${i}`, state[i].c!, l.c);
    });
  });
  s.dispose();
}

/**
 * B streams of one GenerationBatch from zero states, stepped together: the engine's
 * model step (Kernels.bindModelStep) as generation runs it.
 */
function streamsOf(model: CharRNN<FloatArray>, B: number) {
  const V = model.config.vocabSize;
  const batch = new GenerationBatch(model, { capacity: B });
  const streams = Array.from({ length: B }, () => batch.open());
  return {
    streams,
    /** One step of every stream; a copy of the logits [B, V]. */
    step(ids: ArrayLike<number>): Float64Array {
      streams.forEach((s, b) => s.input(ids[b]));
      batch.step();
      const out = new Float64Array(B * V);
      streams.forEach((s, b) => out.set(s.logits, b * V));
      return out;
    },
    /** Per layer, h [B, H] and c [B, H] (LSTM) gathered from the streams. */
    state(): { h: Float64Array; c: Float64Array | null }[] {
      const parts = streams.map(s => s.getState());
      const rows = (l: number, which: 'h' | 'c'): Float64Array => Float64Array.from(parts.flatMap(p => Array.from(p.layers[l][which]!)));
      return parts[0].layers.map((l, i) => ({ h: rows(i, 'h'), c: l.c === null ? null : rows(i, 'c') }));
    },
    dispose: () => batch.dispose(),
  };
}

/** A model whose weights are float32 values whatever the engine's precision, so the reference can start from the same ones. */
function roundedModel(config: ModelConfig, k: K, seed: number): CharRNN<FloatArray> {
  const model = new CharRNN(config, k, { seed });
  model.params.data.set(Float32Array.from(model.params.data));
  model.params.changed();
  return model;
}

const stepIds = (B: number, t: number): number[] => Array.from({ length: B }, (_, b) => (3 * b + 5 * t + 1) % 11);

// ---------------------------------------------------------------- whole models

/** A 2-layer model with dropout over two chunks with carried state, against the reference from the same float32 weights. */
function checkModel(k: K, m: Measure, cell: CellType): void {
  const config: ModelConfig = { cell, layers: 2, hidden: 33, emb: 17, vocabSize: 11, dropout: 0.2 };
  const T = 7,
    B = 9;
  const model = roundedModel(config, k, 21);
  const chunks = (): number[][][] => {
    const rng = new Random(22);
    const ids = (): number[] => Array.from({ length: T * B }, () => rng.int(config.vocabSize));
    return [
      [ids(), ids()],
      [ids(), ids()],
    ];
  };
  const run = <F extends FloatArray>(mm: CharRNN<F>) => {
    const state = mm.newState(B);
    return chunks().map(([x, y]) => {
      mm.params.zeroGrad();
      const logits = Float64Array.from(mm.forward(x, T, B, state, { train: true }));
      const loss = mm.backward(y);
      return { logits, loss, grads: Float64Array.from(mm.params.grad), h: state.layers.map(l => Float64Array.from(l.h)) };
    });
  };
  const expected = once(`model ${cell}`, () => {
    const m64 = new CharRNN(config, ref, { seed: 21 });
    m64.params.data.set(model.params.data);
    return run(m64);
  });
  run(model).forEach((got, chunk) => {
    const want = expected[chunk];
    m.check(`chunk ${chunk} logits`, got.logits, want.logits);
    m.check(`chunk ${chunk} loss`, [got.loss], [want.loss]);
    for (const s of model.params.specs) {
      m.check(
        `chunk ${chunk} d ${s.name}`,
        got.grads.subarray(s.offset, s.offset + s.size),
        want.grads.subarray(s.offset, s.offset + s.size),
      );
    }
    got.h.forEach((h, l) => m.check(`chunk ${chunk} carried h of layer ${l}`, h, want.h[l]));
  });
}

// ---------------------------------------------------------------- bits

export interface Digest {
  /** Large kernel calls, big enough to run on several threads: every matmul variant, the loss, the optimizers, elementwise ops. */
  kernels: string;
  /** Parameters after Adam steps with dropout (B = 24: native and wasm split the recurrence by streams), and gradients at B = 12 (native splits by hidden units). */
  training: string;
  /** Logits of model steps of 7 streams. */
  generation: string;
}

/** Hashes of what an engine computes in training and in generation: equal hashes, equal bits. */
export function digest(k: K): Digest {
  const kernels = createHash('sha256'),
    training = createHash('sha256'),
    generation = createHash('sha256');
  const rng = new Random(40);
  for (const [M, N, K] of [
    [600, 3, 1200],
    [130, 1001, 17],
    [9, 700, 700],
  ]) {
    for (const transA of [false, true])
      for (const transB of [false, true])
        for (const accumulate of [false, true]) {
          const c = put(k, rnd(M * N, rng));
          k.matmul(c, put(k, rnd(M * K, rng)), put(k, rnd(K * N, rng)), M, N, K, transA, transB, accumulate);
          kernels.update(bytesOf(c));
        }
  }
  const [rows, V, n] = [300, 1000, 50_003];
  const logits = put(k, rnd(rows * V, rng, 4)),
    targets = k.allocInt(rows),
    dLogits = k.alloc(rows * V);
  for (let i = 0; i < rows; i++) targets[i] = rng.int(V);
  k.addBias(logits, put(k, rnd(V, rng)), rows, V);
  const bias = k.alloc(V);
  k.sumRows(bias, logits, rows, V);
  kernels
    .update(`${k.softmaxCrossEntropy(logits, targets, rows, V, dLogits, 0.02)}`)
    .update(bytesOf(dLogits))
    .update(bytesOf(bias));
  const p = put(k, rnd(n, rng)),
    m = k.alloc(n),
    v = k.alloc(n),
    out = k.alloc(n);
  for (let step = 1; step <= 3; step++) {
    const g = put(k, rnd(n, rng));
    k.adam(p, g, m, v, n, { lr: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8, step });
    k.rmsprop(p, g, v, n, 0.01, 0.99, 1e-8);
    k.sgd(p, g, m, n, 0.1, 0.9, step === 1);
    k.multiply(out, p, g, n);
    k.scale(out, n, 0.3);
  }
  kernels
    .update(bytesOf(p))
    .update(bytesOf(m))
    .update(bytesOf(v))
    .update(bytesOf(out))
    .update(`${k.sumSquares(out, n)}`);

  const text = Uint16Array.from({ length: 6000 }, (_, i) => (i * 7919 + (i >> 3)) % 31);
  for (const cell of CELLS) {
    const model = new CharRNN({ cell, layers: 2, hidden: 40, emb: 16, vocabSize: 31, dropout: 0.1 }, k, { seed: 5 });
    const trainer = new Trainer(model, text, {
      batch: 24,
      seq: 20,
      clip: 5,
      lrDecay: 1,
      lrDecayEvery: 0,
      optimizer: { ...DEFAULT_OPTIMIZER, name: 'adam', lr: 2e-3 },
    });
    for (let i = 0; i < 3; i++) trainer.step();
    training.update(bytesOf(model.params.data));

    const wide = new CharRNN({ cell, layers: 2, hidden: 72, emb: 17, vocabSize: 11, dropout: 0 }, k, { seed: 5 });
    const ids = new Random(6);
    const T = 9,
      B = 12;
    const state = wide.newState(B);
    for (let chunk = 0; chunk < 2; chunk++) {
      const x = Array.from({ length: T * B }, () => ids.int(11)),
        y = Array.from({ length: T * B }, () => ids.int(11));
      wide.forward(x, T, B, state, { train: true });
      wide.backward(y);
    }
    training.update(bytesOf(wide.params.grad));

    const { streams, step, dispose } = streamsOf(model, 7);
    for (let t = 0; t < 4; t++) {
      step(Array.from({ length: 7 }, (_, b) => (b * 5 + t * 3) % 31));
      for (const s of streams) generation.update(bytesOf(s.logits));
    }
    dispose();
  }
  return { kernels: kernels.digest('hex'), training: training.digest('hex'), generation: generation.digest('hex') };
}

/**
 * The digest of the named engine: computed here when it belongs to this
 * process, else by test/conformance/digest-child.ts in a process of its own.
 */
async function digestOf(name: string): Promise<Digest | Unavailable> {
  const e = engineNamed(name);
  const here = Object.entries(PROCESSES[e.process] as Record<string, string | undefined>).every(([key, v]) => process.env[key] === v);
  if (here) {
    const k = await e.load();
    return k instanceof Unavailable ? k : digest(k);
  }
  const env: Record<string, string | undefined> = { ...process.env, ...PROCESSES[e.process] };
  for (const key of Object.keys(env)) if (env[key] === undefined) delete env[key];
  const child = fileURLToPath(new URL('./digest-child.js', import.meta.url));
  const r = spawnSync(process.execPath, [child, name], { encoding: 'utf8', env, maxBuffer: 1 << 20 });
  assert.equal(r.status, 0, `digest of ${name} in a child process: ${r.stderr}`);
  const out = JSON.parse(r.stdout) as Digest | { unavailable: string };
  return 'unavailable' in out ? new Unavailable(out.unavailable) : out;
}
