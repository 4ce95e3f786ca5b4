// Optimizer and training-step parity with PyTorch, for every backend, against
// fixtures that tools/make-optimizer-fixtures.py writes from torch.optim,
// torch.nn.utils.clip_grad_norm_, torch.optim.lr_scheduler.StepLR and
// shared/bench/torch_ref.py's training step, all run in float64 on
// float32-representable inputs:
//
// - the adam / rmsprop / sgd kernels, 5 steps each, and AdamW (scale, then adam);
// - learningRateAt against SequentialLR(LinearLR warm-up, StepLR / CosineAnnealingLR);
// - clipGradNorm on gradients above and below the limit;
// - whole 4-step training runs (LSTM + Adam, GRU + RMSprop, RNN + SGD with
//   momentum and step decay) through CharRNN + Optimizer + clipGradNorm +
//   decayedLearningRate, and once more through Trainer; an LSTM run with AdamW on
//   the weight matrices, warm-up + cosine and an EMA of the weights
//   (AveragedModel) through the same two paths;
// - a hand-computed property: Adam's first step from zero moments moves every
//   parameter by lr * sign(g), up to eps.
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { FloatArray, Kernels } from '../src/kernels/kernels.js';
import { referenceKernels } from '../src/kernels/reference/index.js';
import { CharRNN } from '../src/model/charrnn.js';
import type { ModelConfig } from '../src/model/config.js';
import { WeightAverage } from '../src/train/average.js';
import { clipGradNorm, decayedLearningRate, DEFAULT_OPTIMIZER, isDecayed, Optimizer, type OptimizerConfig } from '../src/train/optimizer.js';
import { checkSchedule, learningRateAt, plannedSteps, stepDecaySchedule, type LearningRateSchedule } from '../src/train/schedule.js';
import { Trainer } from '../src/train/trainer.js';
import { Random } from '../src/util/random.js';
import { backendsUnderTest } from './backends.js';
import { maxRelativeError } from './helpers.js';

interface Tensor {
  shape: number[];
  data: number[];
}

interface KernelCase {
  hyper: { lr: number; beta1?: number; beta2?: number; eps?: number; alpha?: number; momentum?: number; weightDecay?: number };
  param: Tensor;
  grads: Tensor[];
  /** Parameters after each step. */
  after: Tensor[];
}

interface KernelFixture {
  optimizers: Record<'adam' | 'rmsprop' | 'sgd-momentum' | 'sgd' | 'adamw', KernelCase>;
}

interface ClipFixture {
  cases: { label: string; maxNorm: number; grads: Tensor[]; norm: number; clipped: Tensor[] }[];
}

interface TrainFixture {
  config: ModelConfig;
  optimizer: OptimizerConfig;
  clip: number;
  lrDecay: number;
  lrDecayEvery: number;
  schedule?: LearningRateSchedule;
  ema?: number;
  B: number;
  T: number;
  data: Tensor;
  x: Tensor[]; // per step [B, T]
  y: Tensor[];
  initialWeights: Record<string, Tensor>;
  steps: { loss: number; gradNorm: number | null; clipped: boolean; lr: number; weights: Record<string, Tensor>; ema?: Record<string, Tensor> }[];
}

interface SchedulesFixture {
  cases: { schedule: LearningRateSchedule; rates: number[] }[];
}

/** test/fixtures/torch-optim, looked for upwards from wherever the compiled test runs. */
function fixtureDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'test', 'fixtures', 'torch-optim');
    try {
      if (statSync(candidate).isDirectory()) return candidate;
    } catch { /* not here; keep climbing */ }
    const parent = dirname(dir);
    if (parent === dir) throw new Error('test/fixtures/torch-optim not found above ' + fileURLToPath(import.meta.url));
    dir = parent;
  }
}

const dir = fixtureDir();
const load = <T>(name: string): T => JSON.parse(readFileSync(join(dir, name), 'utf8')) as T;
const kernelFixture = load<KernelFixture>('kernels.json');
const clipFixture = load<ClipFixture>('clip.json');
const schedulesFixture = load<SchedulesFixture>('schedules.json');
const trainFixtures: [string, TrainFixture][] = ['train-lstm-adam', 'train-gru-rmsprop', 'train-rnn-sgd', 'train-lstm-adamw']
  .map(n => [n, load<TrainFixture>(`${n}.json`)]);

/** [B, T] batch-first (PyTorch) -> [T, B] time-major (charrnn). */
function timeMajor(src: ArrayLike<number>, B: number, T: number): Int32Array {
  const out = new Int32Array(B * T);
  for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) out[t * B + b] = src[b * T + t];
  return out;
}

function filled<F extends FloatArray>(k: Kernels<F>, data: ArrayLike<number>): F {
  const a = k.alloc(data.length);
  a.set(data);
  return a;
}

/**
 * maxRelativeError with its floor at a tenth of the tensor's largest expected
 * magnitude, as test/parity.test.ts does: an entry near zero that came out of
 * terms of the tensor's scale (a weight that an update carried through zero, a
 * gradient from cancellation) carries the rounding of those terms, not of itself.
 */
function scaledError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  let scale = 0;
  for (let i = 0; i < expected.length; i++) scale = Math.max(scale, Math.abs(expected[i]));
  return maxRelativeError(actual, expected, scale > 0 ? 0.1 * scale : undefined);
}

/** Largest error over named comparisons, and where it was. */
class Worst {
  error = 0;
  at = '';
  add(at: string, error: number): number {
    if (!(error <= this.error)) {
      this.error = error;
      this.at = at;
    }
    return error;
  }
  toString(): string {
    return `worst relative error ${this.error.toExponential(2)} (${this.at})`;
  }
}

function loadWeights<F extends FloatArray>(model: CharRNN<F>, weights: Record<string, Tensor>): void {
  assert.equal(Object.keys(weights).length, model.params.specs.length, 'the fixture and the model have different tensors');
  for (const spec of model.params.specs) {
    const w = weights[spec.name];
    assert.ok(w, `fixture has no weight ${spec.name}`);
    assert.deepEqual(w.shape, spec.shape, `shape of ${spec.name}`);
    model.params.get(spec.name).set(w.data);
  }
}

/** Compares the model's weights to the fixture's, tensor by tensor. */
function compareWeights<F extends FloatArray>(worst: Worst, where: string, model: CharRNN<F>, weights: Record<string, Tensor>): void {
  for (const spec of model.params.specs) worst.add(`${where} ${spec.name}`, scaledError(model.params.get(spec.name), weights[spec.name].data));
}

interface Backend {
  kernels: Kernels<FloatArray>;
  /** Kernel-level and clipping tolerance. */
  tolerance: number;
  /** Whole training runs. */
  runTolerance: number;
}

const backends: Backend[] = [
  // Float32 backends. A training run is 4 forward/backward passes, each of which
  // already misses PyTorch's float64 answer by up to ~1e-5 (test/parity.test.ts),
  // and each update carries the weights' error into the next pass; RMSprop and
  // SGD add those gradient errors straight into the weights (the update is
  // g / sqrt(v) or lr * g), so over 4 steps the error can grow to a few times
  // one pass's. 5x the backend's single-pass tolerance covers that with room
  // (the float32 reference backend measured 1.0e-6 worst over the three runs,
  // kernels and clipping under 7e-8); a formula error (a missing bias
  // correction, an eps in the wrong place, an off-by-one lr decay or step
  // count) fails these runs, and the float64 ones catch even the clip's 1e-6.
  ...(await backendsUnderTest()).map(b => ({ kernels: b.kernels as Kernels<FloatArray>, tolerance: b.tolerance, runTolerance: 5 * b.tolerance })),
  // Float64 through the reference kernels: the fixtures' inputs are exact in
  // float64, so what is left is float64 rounding in a different order than
  // PyTorch's (1e-15 or so, amplified by at most a few orders over the run).
  { kernels: referenceKernels('f64') as Kernels<FloatArray>, tolerance: 1e-9, runTolerance: 1e-9 },
];

/** Runs one kernel-level fixture case through the backend's optimizer kernel, step by step. */
function kernelErrors<F extends FloatArray>(k: Kernels<F>, name: keyof KernelFixture['optimizers'], c: KernelCase, worst: Worst): void {
  const n = c.param.data.length;
  const param = filled(k, c.param.data);
  const grad = k.alloc(n);
  const first = k.alloc(n);
  const second = k.alloc(n);
  const h = c.hyper;
  c.grads.forEach((g, i) => {
    grad.set(g.data);
    const step = i + 1; // torch.optim counts steps from 1
    switch (name) {
      case 'adam':
        k.adam(param, grad, first, second, n, { lr: h.lr, beta1: h.beta1!, beta2: h.beta2!, eps: h.eps!, step });
        break;
      case 'adamw': // what Optimizer does for each decayed tensor
        k.scale(param, n, 1 - h.lr * h.weightDecay!);
        k.adam(param, grad, first, second, n, { lr: h.lr, beta1: h.beta1!, beta2: h.beta2!, eps: h.eps!, step });
        break;
      case 'rmsprop':
        k.rmsprop(param, grad, first, n, h.lr, h.alpha!, h.eps!);
        break;
      case 'sgd-momentum':
      case 'sgd':
        k.sgd(param, grad, first, n, h.lr, h.momentum!, step === 1);
        break;
    }
    worst.add(`${name} step ${step}`, scaledError(param, c.after[i].data));
  });
}

/**
 * One training run the way Trainer.step does it, but fed the fixture's chunks
 * directly: zeroGrad -> forward (state carried) -> backward -> clip -> decayed
 * lr -> optimizer step. Records every step's errors.
 */
function runErrors<F extends FloatArray>(k: Kernels<F>, fx: TrainFixture, worst: Worst): void {
  const { B, T } = fx;
  const model = new CharRNN(fx.config, k);
  loadWeights(model, fx.initialWeights);
  const optimizer = new Optimizer(k, model.params, fx.optimizer);
  const schedule = fx.schedule ?? stepDecaySchedule(fx.optimizer.lr, fx.lrDecay, fx.lrDecayEvery);
  const average = fx.ema ? new WeightAverage(model.params, fx.ema, n => k.alloc(n)) : null;
  // The state carried between chunks; backward truncates at the chunk's start,
  // which is what torch_ref.py's detach does.
  const state = model.newState(B);
  fx.steps.forEach((expected, i) => {
    const where = `step ${i + 1}`;
    model.params.zeroGrad();
    model.forward(timeMajor(fx.x[i].data, B, T), T, B, state, { train: true });
    const loss = model.backward(timeMajor(fx.y[i].data, B, T));
    worst.add(`${where} loss`, maxRelativeError([loss], [expected.loss]));
    const norm = clipGradNorm(k, model.params.grad, model.params.size, fx.clip);
    if (expected.gradNorm !== null) worst.add(`${where} grad norm`, maxRelativeError([norm], [expected.gradNorm]));
    const lr = fx.schedule ? learningRateAt(schedule, optimizer.steps) : decayedLearningRate(fx.optimizer.lr, fx.lrDecay, fx.lrDecayEvery, optimizer.steps);
    if (fx.schedule) worst.add(`${where} lr`, maxRelativeError([lr], [expected.lr]));
    // StepLR multiplies by gamma = 0.5 and decayedLearningRate by a power of
    // 0.5: both exact in binary, so the rates must be equal, not just close.
    else assert.equal(lr, expected.lr, `${where}: learning rate ${lr}, PyTorch's StepLR gives ${expected.lr}`);
    optimizer.step(lr);
    average?.update(optimizer.steps);
    compareWeights(worst, where, model, expected.weights);
    if (average) compareAverage(worst, where, model, average.values, expected.ema!);
  });
}

/** The same run through Trainer, which cuts the chunks from the token sequence itself. */
function trainerErrors<F extends FloatArray>(k: Kernels<F>, fx: TrainFixture, worst: Worst): void {
  const model = new CharRNN(fx.config, k);
  loadWeights(model, fx.initialWeights);
  const trainer = new Trainer(model, Uint16Array.from(fx.data.data), {
    batch: fx.B, seq: fx.T, clip: fx.clip, optimizer: fx.optimizer, lrDecay: fx.lrDecay, lrDecayEvery: fx.lrDecayEvery,
    ...(fx.schedule ? { schedule: fx.schedule } : {}), ...(fx.ema ? { ema: fx.ema } : {}),
  });
  fx.steps.forEach((expected, i) => {
    const where = `step ${i + 1}`;
    const r = trainer.step();
    assert.equal(r.step, i + 1);
    if (fx.schedule) worst.add(`${where} lr`, maxRelativeError([r.lr], [expected.lr]));
    else assert.equal(r.lr, expected.lr, `${where}: learning rate`);
    worst.add(`${where} loss`, maxRelativeError([r.loss], [expected.loss]));
    if (expected.gradNorm !== null) worst.add(`${where} grad norm`, maxRelativeError([r.gradNorm], [expected.gradNorm]));
    compareWeights(worst, where, model, expected.weights);
    if (trainer.average) compareAverage(worst, where, model, trainer.average.values, expected.ema!);
  });
}

/** Compares a moving average in the parameters' flat layout to the fixture's AveragedModel weights. */
function compareAverage<F extends FloatArray>(worst: Worst, where: string, model: CharRNN<F>, values: F, ema: Record<string, Tensor>): void {
  for (const spec of model.params.specs) {
    worst.add(`${where} ema ${spec.name}`, scaledError(values.subarray(spec.offset, spec.offset + spec.size), ema[spec.name].data));
  }
}

describe('learning-rate schedules match torch.optim.lr_scheduler', () => {
  for (const c of schedulesFixture.cases) {
    const s = c.schedule;
    it(`${s.name}, warm-up ${s.warmup}${s.name === 'cosine' ? `, ${s.totalSteps} steps to ${s.lrMin}` : ''}${s.name === 'step' ? `, x${s.decay} every ${s.decayEvery}` : ''}`, () => {
      checkSchedule(s);
      // PyTorch chains its factors step by step; the closed form differs by rounding only.
      const worst = new Worst();
      c.rates.forEach((rate, i) => worst.add(`step ${i}`, maxRelativeError([learningRateAt(s, i)], [rate])));
      assert.ok(worst.error < 1e-12, worst.toString());
    });
  }

  it('by hand: past its planned end a cosine schedule holds lrMin; without warm-up, step decay is decayedLearningRate exactly', () => {
    const cosine: LearningRateSchedule = { lr: 1e-3, name: 'cosine', warmup: 2, decay: 1, decayEvery: 0, lrMin: 1e-5, totalSteps: 10 };
    assert.equal(learningRateAt(cosine, 2), 1e-3); // the first step after warm-up is the peak
    assert.equal(learningRateAt(cosine, 10), 1e-5);
    assert.equal(learningRateAt(cosine, 1000), 1e-5);
    // Halfway through the cosine part (step 2 + 4 of 8): the mean of lr and lrMin.
    assert.ok(Math.abs(learningRateAt(cosine, 6) - (1e-3 + 1e-5) / 2) < 1e-18);
    for (let step = 0; step < 1000; step += 7) {
      assert.equal(learningRateAt(stepDecaySchedule(2e-3, 0.97, 200), step), decayedLearningRate(2e-3, 0.97, 200, step));
    }
    assert.throws(() => checkSchedule({ ...cosine, totalSteps: 2 }), /cosine schedule needs the run's length/);
    assert.throws(() => checkSchedule({ ...cosine, lrMin: 1 }), /--lr-min must be between 0 and the learning rate/);
  });

  it('plannedSteps: the steps a time budget allows at a measured speed, at least warm-up + 1', () => {
    assert.equal(plannedSteps(900, 0.12), 7500);
    assert.equal(plannedSteps(1, 10, 5), 6);
    assert.throws(() => plannedSteps(0, 0.1), /Cannot plan/);
  });
});

describe('weight decay and the moving average, by hand', () => {
  it('AdamW decays only the weight matrices; other optimizers refuse weight decay', () => {
    const k = referenceKernels('f64');
    const model = new CharRNN({ cell: 'lstm', layers: 2, hidden: 3, emb: 2, vocabSize: 4, dropout: 0 }, k);
    const before = Float64Array.from(model.params.data);
    const opt = new Optimizer(k, model.params, { ...DEFAULT_OPTIMIZER, lr: 0.1, weightDecay: 0.5 });
    opt.step(0.1); // zero gradient: Adam moves nothing (m = v = 0), so only the decay acts
    for (const spec of model.params.specs) {
      const factor = isDecayed(spec) ? 1 - 0.1 * 0.5 : 1;
      const got = model.params.get(spec.name);
      for (let i = 0; i < spec.size; i++) assert.ok(Math.abs(got[i] - before[spec.offset + i] * factor) < 1e-15, `${spec.name}[${i}]`);
    }
    assert.deepEqual(model.params.specs.filter(isDecayed).map(s => s.name),
      ['rnn.weight_ih_l0', 'rnn.weight_hh_l0', 'rnn.weight_ih_l1', 'rnn.weight_hh_l1', 'out.weight']);
    assert.throws(() => new Optimizer(k, model.params, { ...DEFAULT_OPTIMIZER, name: 'sgd', weightDecay: 0.1 }), /needs the adam optimizer/);
  });

  it('the average: a copy at step 1, then a <- a + (1 - d)(p - a); swap twice is the identity, bit for bit', () => {
    const k = referenceKernels('f32');
    const model = new CharRNN({ cell: 'gru', layers: 1, hidden: 3, emb: 2, vocabSize: 4, dropout: 0 }, k);
    const avg = new WeightAverage(model.params, 0.75, n => k.alloc(n));
    const p = model.params.data;
    avg.update(1);
    assert.deepEqual(avg.values, p);
    const a1 = Float64Array.from(avg.values);
    for (let i = 0; i < p.length; i++) p[i] += 1;
    avg.update(2);
    for (let i = 0; i < p.length; i++) assert.ok(Math.abs(avg.values[i] - (a1[i] + 0.25)) < 1e-6);
    const [pBefore, aBefore] = [p.slice(), avg.values.slice()];
    const version = model.params.version;
    avg.swap();
    assert.deepEqual(p, aBefore);
    assert.ok(avg.inUse && model.params.version > version, 'a swap marks the weights changed (the inference table is rebuilt)');
    avg.swap();
    assert.deepEqual(p, pBefore);
    assert.deepEqual(avg.values, aBefore);
  });
});

describe('optimizer parity with PyTorch', () => {
  it('the fixtures exercise clipping on some steps and not on others, and lr decay', () => {
    // Otherwise the runs would not test what they claim to.
    const clipped = trainFixtures.flatMap(([, fx]) => fx.steps.map(s => s.clipped));
    assert.ok(clipped.includes(true) && clipped.includes(false));
    assert.ok(trainFixtures.some(([, fx]) => new Set(fx.steps.map(s => s.lr)).size > 1));
    const labels = clipFixture.cases.map(c => c.norm > c.maxNorm);
    assert.ok(labels.includes(true) && labels.includes(false));
  });

  for (const { kernels: k, tolerance, runTolerance } of backends) {
    describe(`${k.name} (tolerance ${tolerance.toExponential(0)}, runs ${runTolerance.toExponential(0)})`, () => {
      for (const name of ['adam', 'rmsprop', 'sgd-momentum', 'sgd', 'adamw'] as const) {
        it(`${name} kernel: 5 steps match torch.optim`, t => {
          const worst = new Worst();
          kernelErrors(k, name, kernelFixture.optimizers[name], worst);
          t.diagnostic(worst.toString());
          assert.ok(worst.error < tolerance, `${k.name} ${name}: ${worst}`);
        });
      }

      it('clipGradNorm matches clip_grad_norm_ (norm returned, gradients scaled)', t => {
        const worst = new Worst();
        for (const c of clipFixture.cases) {
          // charrnn clips the one flat gradient buffer; PyTorch takes the norm
          // of the per-tensor norms, the same number.
          const grad = filled(k, c.grads.flatMap(g => g.data));
          const norm = clipGradNorm(k, grad, grad.length, c.maxNorm);
          worst.add(`${c.label} norm`, maxRelativeError([norm], [c.norm]));
          worst.add(`${c.label} gradients`, scaledError(grad, c.clipped.flatMap(g => g.data)));
        }
        t.diagnostic(worst.toString());
        assert.ok(worst.error < tolerance, `${k.name} clipping: ${worst}`);
      });

      for (const [file, fx] of trainFixtures) {
        it(`${file}: every step's loss, grad norm, lr and weights match PyTorch`, t => {
          const worst = new Worst();
          runErrors(k, fx, worst);
          t.diagnostic(worst.toString());
          assert.ok(worst.error < runTolerance, `${k.name} ${file}: ${worst}`);
        });

        it(`${file}: Trainer.step reproduces the run from the token sequence`, t => {
          const worst = new Worst();
          trainerErrors(k, fx, worst);
          t.diagnostic(worst.toString());
          assert.ok(worst.error < runTolerance, `${k.name} ${file} via Trainer: ${worst}`);
        });
      }

      it('Adam\'s first step from zero moments moves each parameter by lr * sign(g)', () => {
        // By hand: after one step m = (1 - b1) g and v = (1 - b2) g^2, so the
        // bias-corrected m^ = g and v^ = g^2 and the update is
        // lr * g / (|g| + eps) = lr * sign(g) * (1 - eps / (|g| + eps)).
        // Without bias correction it would be lr * 0.1 g / (sqrt(0.001) |g|) = 3.16 lr.
        const n = 64;
        const lr = 2e-3;
        const eps = 1e-8;
        const rng = new Random(7);
        const param = k.alloc(n);
        const grad = k.alloc(n);
        for (let i = 0; i < n; i++) {
          param[i] = rng.uniform(-1, 1);
          // Magnitudes from 1e-4 to 1e2, both signs: the move must not depend on |g|.
          grad[i] = (i % 2 === 0 ? 1 : -1) * Math.pow(10, -4 + 6 * rng.uniform(0, 1));
        }
        const before = Float64Array.from(param);
        k.adam(param, grad, k.alloc(n), k.alloc(n), n, { lr, beta1: 0.9, beta2: 0.999, eps, step: 1 });
        // The move, read back from parameters of size up to 1, carries the
        // parameters' own rounding: float32 spacing near 1 is 1.2e-7, 6e-5 of lr.
        const f32 = param instanceof Float32Array;
        for (let i = 0; i < n; i++) {
          const move = before[i] - param[i];
          const expected = lr * Math.sign(grad[i]);
          const slack = lr * eps / Math.abs(grad[i]) + (f32 ? 2.4e-7 : 1e-15);
          assert.ok(Math.abs(move - expected) <= slack,
            `param ${i}: moved ${move}, expected ${expected} (g ${grad[i]}, slack ${slack})`);
        }
      });
    });
  }
});
