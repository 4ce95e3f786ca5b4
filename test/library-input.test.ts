// The library's entries judge what they are given as the CLI judges its flags:
// one sentence (a CharrnnError) for a bad value, never a raw TypeError and never
// a run with a value the CLI would refuse. The handle's state, the Trainer's
// config (and its optimizer's and schedule's), and sampleLines' request.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CharrnnError } from '../src/errors.js';
import { CharRnnModel } from '../src/generate/char-rnn-model.js';
import { sampleLines, type LineRequest } from '../src/generate/lines.js';
import { GenerateOptionsError } from '../src/generate/options.js';
import { referenceKernels } from '../src/kernels/reference/index.js';
import { CharRNN } from '../src/model/charrnn.js';
import { Vocabulary } from '../src/text/vocabulary.js';
import { DEFAULT_OPTIMIZER, Optimizer } from '../src/train/optimizer.js';
import { Trainer, type TrainingConfig } from '../src/train/trainer.js';

const TEXT = 'abc abd\nbca\n'.repeat(10);
const vocab = Vocabulary.fromText(TEXT);
const kernels = referenceKernels('f32');
const newModel = (cell: 'lstm' | 'gru' = 'lstm') =>
  new CharRNN({ cell, layers: 2, hidden: 6, emb: 3, vocabSize: vocab.size, dropout: 0 }, kernels, { seed: 1 });

/** The one sentence `f` throws, which must be a CharrnnError (not a TypeError, not a run). */
function sentence(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof CharrnnError, `not a CharrnnError: ${String(e)}`);
    assert.match(e.message, /^[^\n]+\.$/);
    return e.message;
  }
  assert.fail('accepted');
}

describe("the handle's state", () => {
  it("refuses anything but a state of the model's shape with one sentence", () => {
    const m = new CharRnnModel(newModel(), vocab);
    const shape = 'The state must be one like the state property gives ({ B: 1, layers: [{ h, c }, …] })';
    const cases: [unknown, string][] = [
      [null, 'null'],
      [undefined, 'undefined'],
      [5, '5'],
      ['state', 'a string'],
      [[], 'an array'],
      [{}, 'an object of another shape'],
      [{ B: 1, layers: 'x' }, 'an object of another shape'],
      [{ B: 1, layers: [null, null] }, 'an object of another shape'],
      [{ B: 1, layers: [{ h: 'abc', c: null }] }, 'an object of another shape'],
    ];
    for (const [value, said] of cases) {
      assert.equal(
        sentence(() => {
          m.state = value as never;
        }),
        `${shape}, not ${said}.`,
      );
    }
    // The right shape with the wrong sizes is the stream's sentence; a state from the handle (or plain arrays of its sizes) is taken.
    assert.match(
      sentence(() => {
        m.state = { B: 1, layers: [{ h: [1, 2] as never, c: null }] };
      }),
      /^That state does not fit this model: a state for this model is 2 layers/,
    );
    m.feed('abc');
    const saved = m.state;
    m.reset();
    m.state = { B: 1, layers: saved.layers.map(l => ({ h: Array.from(l.h) as never, c: Array.from(l.c!) as never })) };
    assert.deepEqual(m.state, saved);
  });
});

describe("the Trainer's config", () => {
  const good: TrainingConfig = { batch: 2, seq: 8, clip: 5, lrDecay: 1, lrDecayEvery: 0, optimizer: { ...DEFAULT_OPTIMIZER } };
  const ids = vocab.encode(TEXT).ids;

  it('refuses a negative learning rate before a step is taken, and every other value out of its range, one sentence each', () => {
    const model = newModel();
    const before = Float32Array.from(model.params.data);
    assert.equal(
      sentence(() => new Trainer(model, ids, { ...good, optimizer: { ...DEFAULT_OPTIMIZER, lr: -1 } })),
      'optimizer.lr must be a number greater than 0, not -1.',
    );
    assert.deepEqual(model.params.data, before, 'no step was taken');
    const bad: [Partial<TrainingConfig> | { optimizer: object }, string][] = [
      [{ batch: 0 }, 'batch must be a whole number, 1 or more, not 0.'],
      [{ seq: 2.5 }, 'seq must be a whole number, 1 or more, not 2.5.'],
      [{ clip: -1 }, 'clip must be a number, 0 (no clipping) or more, not -1.'],
      [{ clip: NaN }, 'clip must be a number, 0 (no clipping) or more, not NaN.'],
      [{ lrDecay: 0 }, 'lrDecay must be a number greater than 0, not 0.'],
      [{ lrDecayEvery: -3 }, 'lrDecayEvery must be a whole number, 0 (never) or more, not -3.'],
      [{ ema: 1 }, 'ema must be a number from 0 (none) up to (not including) 1, not 1.'],
      [{ batch: '4' as never }, 'batch must be a whole number, 1 or more, not "4".'],
      [{ optimizer: { ...DEFAULT_OPTIMIZER, lr: 0 } }, 'optimizer.lr must be a number greater than 0, not 0.'],
      [{ optimizer: { ...DEFAULT_OPTIMIZER, lr: Infinity } }, 'optimizer.lr must be a number greater than 0, not Infinity.'],
      [{ optimizer: { ...DEFAULT_OPTIMIZER, name: 'adamw' } }, "optimizer.name must be 'adam', 'rmsprop' or 'sgd', not \"adamw\"."],
      [{ optimizer: { ...DEFAULT_OPTIMIZER, beta1: 1 } }, 'optimizer.beta1 must be a number from 0 up to (not including) 1, not 1.'],
      [{ optimizer: { ...DEFAULT_OPTIMIZER, beta2: -0.5 } }, 'optimizer.beta2 must be a number from 0 up to (not including) 1, not -0.5.'],
      [
        { optimizer: { ...DEFAULT_OPTIMIZER, momentum: 1.5 } },
        'optimizer.momentum must be a number from 0 up to (not including) 1, not 1.5.',
      ],
      [{ optimizer: { ...DEFAULT_OPTIMIZER, eps: 0 } }, 'optimizer.eps must be a number greater than 0, not 0.'],
      [{ optimizer: { ...DEFAULT_OPTIMIZER, weightDecay: -1 } }, 'optimizer.weightDecay must be a number, 0 or more, not -1.'],
      [
        { schedule: { lr: -1, name: 'constant', warmup: 0, decay: 1, decayEvery: 0, lrMin: 0, totalSteps: 0 } },
        'The learning rate must be a number greater than 0, got -1.',
      ],
    ];
    for (const [change, message] of bad)
      assert.equal(
        sentence(() => new Trainer(newModel(), ids, { ...good, ...change } as TrainingConfig)),
        message,
        JSON.stringify(change),
      );
    // The Optimizer on its own judges the same way.
    assert.equal(
      sentence(() => new Optimizer(kernels, newModel().params, { ...DEFAULT_OPTIMIZER, alpha: 2 })),
      'optimizer.alpha must be a number from 0 up to (not including) 1, not 2.',
    );
  });

  it('takes every value at the edges of its range and trains', () => {
    const edges: Partial<TrainingConfig>[] = [
      { batch: 1, seq: 1, clip: 0, lrDecay: 0.5, lrDecayEvery: 3, ema: 0 },
      { ema: 0.999, optimizer: { ...DEFAULT_OPTIMIZER, name: 'sgd', momentum: 0, lr: 1e-9 } },
      { optimizer: { ...DEFAULT_OPTIMIZER, name: 'rmsprop', alpha: 0 } },
      { optimizer: { ...DEFAULT_OPTIMIZER, beta1: 0, beta2: 0, weightDecay: 0 } },
    ];
    for (const change of edges) assert.ok(Number.isFinite(new Trainer(newModel('gru'), ids, { ...good, ...change }).step().loss));
  });
});

describe("sampleLines' request", () => {
  const model = newModel();
  const request: LineRequest = { count: 2, eol: '\n', maxLength: 5 };

  it('refuses maxLength 0 (which drew a thousand empty lines) and every other bad value before drawing', () => {
    const bad: [Partial<LineRequest>, string][] = [
      [{ maxLength: 0 }, 'maxLength must be a whole number from 1 to 100000000, not 0.'],
      [{ maxLength: 2.5 }, 'maxLength must be a whole number from 1 to 100000000, not 2.5.'],
      [{ maxLength: undefined }, 'maxLength must be a whole number from 1 to 100000000, not undefined.'],
      [{ count: 0 }, 'count must be a whole number from 1 to 10000, not 0.'],
      [{ maxDraws: 0 }, 'maxDraws must be a whole number, 1 or more, not 0.'],
      [{ seed: -1 }, 'seed must be a whole number from 0 to 4294967295, not -1.'],
      [{ temperature: 0 }, 'temperature must be a number greater than 0 and at most 1000000, not 0.'],
      [{ greedy: true, temperature: 0.5 }, 'greedy always takes the most likely character, so it cannot go with temperature.'],
    ];
    for (const [change, message] of bad) {
      assert.throws(
        () => sampleLines(model, vocab, { ...request, ...change }),
        (e: unknown) => e instanceof GenerateOptionsError && e.message === message,
        JSON.stringify(change),
      );
    }
    // The CLI's spelling, where it passes its names.
    assert.throws(() => sampleLines(model, vocab, { ...request, maxLength: 0 }, { maxLength: '--max-length' }), {
      message: '--max-length must be a whole number from 1 to 100000000, not 0.',
    });
    const r = sampleLines(model, vocab, { ...request, maxLength: 1, prime: 'a' });
    assert.equal(r.lines.length, 2);
    assert.ok(r.lines.every(l => l.length <= 2 && l.startsWith('a')));
  });
});
