// The training techniques' math outside the engines: learning-rate schedules
// against torch.optim.lr_scheduler (test/fixtures/torch-optim/schedules.json,
// tools/make-optimizer-fixtures.py), and by hand: which tensors AdamW decays, the
// moving average's update and its swap. Their runs through every engine
// (AdamW, warm-up + cosine, the average against AveragedModel) are in the
// conformance suite (train-lstm-adamw).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { referenceKernels } from '../src/kernels/reference/index.js';
import { CharRNN } from '../src/model/charrnn.js';
import { WeightAverage } from '../src/train/average.js';
import { decayedLearningRate, DEFAULT_OPTIMIZER, isDecayed, Optimizer } from '../src/train/optimizer.js';
import { checkSchedule, learningRateAt, plannedSteps, stepDecaySchedule, type LearningRateSchedule } from '../src/train/schedule.js';
import { fixtureDir } from './conformance/fixtures.js';
import { error } from './conformance/metric.js';

interface SchedulesFixture {
  cases: { schedule: LearningRateSchedule; rates: number[] }[];
}

const schedulesFixture = JSON.parse(readFileSync(join(fixtureDir('torch-optim'), 'schedules.json'), 'utf8')) as SchedulesFixture;

describe('learning-rate schedules match torch.optim.lr_scheduler', () => {
  for (const c of schedulesFixture.cases) {
    const s = c.schedule;
    it(`${s.name}, warm-up ${s.warmup}${s.name === 'cosine' ? `, ${s.totalSteps} steps to ${s.lrMin}` : ''}${s.name === 'step' ? `, x${s.decay} every ${s.decayEvery}` : ''}`, () => {
      checkSchedule(s);
      // PyTorch chains its factors step by step; the closed form differs by rounding only.
      c.rates.forEach((rate, i) => {
        const e = error([learningRateAt(s, i)], [rate]);
        assert.ok(e < 1e-12, `step ${i}: ${learningRateAt(s, i)} against ${rate} (error ${e.toExponential(2)})`);
      });
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
    assert.throws(() => checkSchedule({ ...cosine, lrMin: 1 }), /lrMin must be between 0 and the learning rate/);
  });

  it('plannedSteps: the steps a time budget allows at a measured speed, at least warm-up + 1', () => {
    assert.equal(plannedSteps(900, 0.12), 7500);
    assert.equal(plannedSteps(1, 10, 5), 6);
    assert.throws(() => plannedSteps(0, 0.1), /Cannot plan/);
  });
});

describe('weight decay and the moving average, by hand', () => {
  it('AdamW decays only the weight matrices; the other optimizers do not read weight decay', () => {
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
    assert.deepEqual(
      model.params.specs.filter(isDecayed).map(s => s.name),
      ['rnn.weight_ih_l0', 'rnn.weight_hh_l0', 'rnn.weight_ih_l1', 'rnn.weight_hh_l1', 'out.weight'],
    );
    // The other optimizers do not read it, like Adam's betas; a run refuses the pair (the run layer's rule,
    // test/setting-ranges.test.ts), so the engine has no second copy of it.
    const plain = new CharRNN({ cell: 'lstm', layers: 2, hidden: 3, emb: 2, vocabSize: 4, dropout: 0 }, k);
    const decayed = new CharRNN({ cell: 'lstm', layers: 2, hidden: 3, emb: 2, vocabSize: 4, dropout: 0 }, k);
    new Optimizer(k, plain.params, { ...DEFAULT_OPTIMIZER, name: 'sgd' }).step(0.1);
    new Optimizer(k, decayed.params, { ...DEFAULT_OPTIMIZER, name: 'sgd', weightDecay: 0.5 }).step(0.1);
    assert.deepEqual(decayed.params.data, plain.params.data);
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
