// The recipe's pure choice function: its cost and size arithmetic against
// independent counts (the model's own parameter buffer, costs by hand), and its
// choices' shape: monotone in the budget, smaller and more regularised for a
// smaller text, the user's settings winning, the evidence's 15-minute model.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { referenceKernels } from '../src/kernels/reference/index.js';
import { CharRNN } from '../src/model/charrnn.js';
import { CANDIDATES, chooseRecipe, costPerChar, estimateSpeed, MAX_SPEEDUP, type MeasuredSpeed } from '../src/run/recipe.js';
import { parameterCount } from '../src/train/memory-estimate.js';
import { plannedSteps } from '../src/train/schedule.js';
import { budgetRecipe, probeModels, probeSeconds } from '../src/run/budget-recipe.js';
import { measureSpeeds } from '../src/run/probe.js';
import { Vocabulary } from '../src/text/vocabulary.js';

/** This machine's native medium-config speed (docs/engines.md, npm run bench). */
const PROBE: MeasuredSpeed = { cell: 'lstm', layers: 2, hidden: 256, emb: 64, charsPerSecond: 24_587 };
/** The first 90% of tinyshakespeare: the benchmark's training text. */
const SHAKESPEARE = { textChars: 1_003_854, vocabSize: 65 };
const recipe = (seconds: number, extra: Partial<Parameters<typeof chooseRecipe>[0]> = {}) =>
  chooseRecipe({ speeds: [PROBE], ...SHAKESPEARE, seconds, ...extra });

describe('recipe arithmetic', () => {
  it("parameterCount is the size of the model's parameter buffer, for every cell and candidate", () => {
    const k = referenceKernels('f32');
    for (const cell of ['lstm', 'gru', 'rnn'] as const) {
      for (const { layers, hidden } of CANDIDATES.slice(0, 6)) {
        const model = new CharRNN({ cell, layers, hidden, emb: 48, vocabSize: 70, dropout: 0 }, k);
        assert.equal(
          parameterCount({ cell, layers, hidden, emb: 48, vocabSize: 70, dropout: 0 }),
          model.params.size,
          `${cell} ${layers}x${hidden}`,
        );
      }
    }
  });

  it('costPerChar by hand: 2x256 LSTM, emb 64, 65 characters', () => {
    // layer 0: 4*256*(64+256) = 327,680; layer 1: 4*256*512 = 524,288; output: 65*256 = 16,640.
    assert.equal(costPerChar('lstm', 2, 256, 64, 65), 868_608);
  });

  it('estimateSpeed scales the nearest measured speed by the cost ratio, at most MAX_SPEEDUP times faster', () => {
    const large = estimateSpeed([PROBE], 'lstm', 2, 512, 64, 65);
    // 2x512: 4*512*576 + 4*512*1024 + 65*512 = 3,310,080 multiply-adds per character.
    assert.ok(Math.abs(large - (24_587 * 868_608) / 3_310_080) < 1e-9);
    assert.equal(estimateSpeed([PROBE], 'lstm', 1, 64, 64, 65), MAX_SPEEDUP * 24_587);
    // With two measurements, the nearer one is used as it is.
    const measuredLarge: MeasuredSpeed = { ...PROBE, hidden: 512, charsPerSecond: 7_000 };
    assert.equal(estimateSpeed([PROBE, measuredLarge], 'lstm', 2, 512, 64, 65), 7_000);
  });
});

describe('chooseRecipe', () => {
  it("15 minutes on tinyshakespeare at this machine's speed: a 2x512 LSTM at dropout 0.1, which beat 0.2 on the Xeon", () => {
    const r = recipe(900);
    // Overfitting pressure ~20: 0.12 log2(20 / 10) = 0.12, to the nearest 0.05. Without AdamW or embedding dropout below 0.2.
    assert.deepEqual([r.settings.layers, r.settings.hidden, r.settings.cell, r.settings.dropout], [2, 512, 'lstm', 0.1]);
    assert.deepEqual([r.settings.embDropout, r.settings.weightDecay], [0, 0]);
    assert.equal(r.settings.valSplit, 'spread');
    assert.equal(r.settings.lrSchedule, 'cosine');
    // The schedule spans the steps the budget allows at the estimated speed, less validation's share.
    assert.equal(r.settings.scheduleSteps, Math.floor((r.charsPerSecond * 900 * 0.97) / 2500));
    assert.equal(r.settings.scheduleSteps, plannedSteps(900 * 0.97, 2500 / r.charsPerSecond));
    assert.match(
      r.explanation,
      /^2x512 LSTM \(3\.3M parameters\), dropout 0\.1:.*~5\.8 epochs of 964k characters in 15 min at ~6\.5k chars\/s; cosine/,
    );
  });

  it('is monotone in the budget: never a smaller model, fewer steps or less dropout for more time', () => {
    let last = recipe(10);
    for (const seconds of [30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14_400, 28_800]) {
      const r = recipe(seconds);
      assert.ok(r.parameters >= last.parameters, `${seconds} s: ${r.parameters} parameters after ${last.parameters}`);
      assert.ok(r.settings.scheduleSteps >= last.settings.scheduleSteps || r.parameters > last.parameters, `${seconds} s: steps`);
      assert.ok(r.settings.dropout >= last.settings.dropout, `${seconds} s: dropout ${r.settings.dropout} after ${last.settings.dropout}`);
      last = r;
    }
    assert.ok(last.parameters > recipe(10).parameters, 'eight hours get a larger model than ten seconds');
  });

  it('a smaller text gets a model no larger and dropout no lower; a much larger one, no dropout', () => {
    for (const seconds of [60, 900, 3600]) {
      const full = recipe(seconds);
      const small = recipe(seconds, { textChars: 100_000 });
      assert.ok(small.parameters <= full.parameters, `${seconds} s`);
      assert.ok(small.settings.dropout >= full.settings.dropout, `${seconds} s`);
      assert.ok(small.parameters <= 6 * 100_000, 'not far larger than the text');
      assert.equal(recipe(seconds, { textChars: 100_000_000 }).settings.dropout, 0);
    }
    assert.ok(recipe(900, { textChars: 100_000 }).parameters < recipe(900).parameters, 'strictly smaller at 15 minutes');
  });

  it('flags the user gives win, and the rest is chosen around them', () => {
    const r = recipe(900, { given: { hidden: 300, dropout: 0, lrSchedule: 'step', ema: 0, valSplit: 'tail', batch: 32, seq: 64 } });
    assert.deepEqual(
      [r.settings.hidden, r.settings.dropout, r.settings.lrSchedule, r.settings.ema, r.settings.valSplit, r.settings.batch, r.settings.seq],
      [300, 0, 'step', 0, 'tail', 32, 64],
    );
    // The steps follow the user's batch and sequence length.
    assert.equal(r.settings.scheduleSteps, Math.floor((r.charsPerSecond * 900 * 0.97) / (32 * 64)));
    // A given size is used for the speed estimate too.
    assert.equal(recipe(900, { given: { layers: 1, hidden: 64 } }).charsPerSecond, MAX_SPEEDUP * 24_587);
  });

  it('validation takes about 3% of the budget and holds out at most 40,000 characters, spread', () => {
    for (const seconds of [60, 900, 3600]) {
      const r = recipe(seconds);
      const valChars = r.settings.valFrac * SHAKESPEARE.textChars;
      // The fraction is rounded to 2 significant digits; the split then holds out whole 1,000-character windows.
      assert.ok(valChars <= 40_000 * 1.02, `${valChars} held out`);
      // A validation pass is forward only: about a third of training on as many characters.
      const validations = r.settings.scheduleSteps / r.settings.valEvery;
      const share = (validations * valChars) / 3 / (r.charsPerSecond * seconds);
      assert.ok(share > 0.02 && share <= 0.031, `${seconds} s: validation takes ${(100 * share).toFixed(1)}%`);
    }
  });

  it('refuses what it cannot plan for', () => {
    assert.throws(() => recipe(0), /positive budget/);
    assert.throws(() => chooseRecipe({ speeds: [], ...SHAKESPEARE, seconds: 60 }), /measured speed/);
  });
});

describe('the speed probe and the budget recipe (a clock that advances a fixed time per reading)', () => {
  const text = 'the whale, the sea, the ship and the captain. '.repeat(200);
  const vocab = Vocabulary.fromText(text);
  const { ids } = vocab.encode(text);
  /** A clock that moves `ms` forward each time it is read. */
  const ticking = (ms: number): (() => number) => {
    let t = 0;
    return () => (t += ms);
  };

  it('measureSpeeds: one untimed step, then steps until the share is used; the speed by hand', async () => {
    // Readings 50 ms apart, share 0.2 s: t0 at the first; steps 1 and 2 (the minimum) unread;
    // then readings at +50, +100, +150 go on (steps 3, 4, 5), +200 stops; the end is read at +250 ms.
    const [speed] = await measureSpeeds(ids, vocab.size, referenceKernels('f32'), [{ cell: 'lstm', layers: 1, hidden: 8, emb: 4 }], {
      seconds: 0.2,
      batch: 4,
      seq: 8,
      now: ticking(50),
    });
    assert.equal(speed.charsPerSecond, (5 * 4 * 8) / 0.25);
    assert.deepEqual([speed.layers, speed.hidden, speed.emb, speed.cell], [1, 8, 4, 'lstm']);
  });

  it('budgetRecipe: the flags given win, the schedule length is planned and the probe counts in the budget', async () => {
    const now = ticking(20);
    const r = await budgetRecipe({
      ids,
      vocabSize: vocab.size,
      kernels: referenceKernels('f32'),
      seconds: 30,
      now,
      given: { batch: 4, seq: 8, emb: 8, dropout: 0.3, valSplit: 'tail' },
    });
    assert.deepEqual([r.settings.batch, r.settings.seq, r.settings.emb, r.settings.dropout, r.settings.valSplit], [4, 8, 8, 0.3, 'tail']);
    assert.equal(r.settings.lrSchedule, 'cosine');
    assert.ok(r.settings.scheduleSteps > r.settings.warmup);
    assert.equal(r.settings.scheduleEnd, 'deadline', 'the planned length is re-planned to the deadline as the run goes');
    // The line names the sizes measured and the probe's seconds on the given clock (0.5 s of a 30 s budget, plus its readings).
    const probed = /measured (.*) in ([\d.]+) s/.exec(r.explanation)!;
    assert.match(probed[1], /^2x128 at [\d,]+ chars\/s/);
    // The chosen size is measured with the run's dropout (given: 0.3).
    assert.match(probed[1], new RegExp(`${r.settings.layers}x${r.settings.hidden} with dropout at [\\d,]+ chars/s`));
    assert.ok(Number(probed[2]) >= probeSeconds(30) / 2 && Number(probed[2]) < 5, probed[2]);
    assert.match(r.explanation, new RegExp(`^${r.settings.layers}x${r.settings.hidden} LSTM`));
  });

  it('budgetRecipe: the chosen size is measured again with the dropout the run will use, in place of its figure without', async () => {
    const o = { ids, vocabSize: vocab.size, kernels: referenceKernels('f32'), seconds: 30, now: ticking(20) };
    const plain = await budgetRecipe({ ...o, given: { batch: 4, seq: 8, emb: 8, dropout: 0 } });
    assert.doesNotMatch(plain.explanation, /with dropout/, 'no dropout: the first figure stands');
    const dropped = await budgetRecipe({ ...o, now: ticking(20), given: { batch: 4, seq: 8, emb: 8, dropout: 0.3 } });
    const { layers, hidden } = dropped.settings;
    const measured = /measured (.*) in [\d.]+ s/.exec(dropped.explanation)![1].split(', ');
    const ofSize = measured.filter(m => m.startsWith(`${layers}x${hidden} `));
    assert.equal(ofSize.length, 1, measured.join(', '));
    assert.match(ofSize[0], /with dropout at [\d,]+ chars\/s$/);
  });

  it('measureSpeeds trains with the dropout it is given (its masks are applied) and says so', async () => {
    const model = { cell: 'lstm' as const, layers: 2, hidden: 8, emb: 4 };
    // Counts the mask multiplications: dropout's forward and backward, per dropout layer and step.
    let masked = 0;
    const base = referenceKernels('f32');
    const kernels = {
      ...base,
      multiply: (...a: Parameters<typeof base.multiply>) => {
        masked++;
        base.multiply(...a);
      },
    };
    const o = { seconds: 0.2, batch: 4, seq: 8, now: ticking(50) };
    const [dropped] = await measureSpeeds(ids, vocab.size, kernels, [{ ...model, dropout: 0.5, embDropout: 0.1 }], o);
    assert.deepEqual([dropped.dropout, dropped.embDropout], [0.5, 0.1]);
    // 6 steps (one untimed, 5 timed as above), each through 3 dropout layers (embedding, after each of 2 layers), forward and backward.
    assert.equal(masked, 6 * 3 * 2);
    masked = 0;
    const [plain] = await measureSpeeds(ids, vocab.size, kernels, [model], { ...o, now: ticking(50) });
    assert.deepEqual([plain.dropout, plain.embDropout, masked], [0, 0, 0]);
  });

  it('budgetRecipe: a schedule length or a schedule end given stays as given', async () => {
    const o = { ids, vocabSize: vocab.size, kernels: referenceKernels('f32'), seconds: 30 };
    const steps = await budgetRecipe({ ...o, now: ticking(20), given: { batch: 4, seq: 8, scheduleSteps: 500 } });
    assert.deepEqual([steps.settings.scheduleSteps, steps.settings.scheduleEnd], [500, 'steps']);
    const both = await budgetRecipe({ ...o, now: ticking(20), given: { batch: 4, seq: 8, scheduleSteps: 500, scheduleEnd: 'deadline' } });
    assert.deepEqual([both.settings.scheduleSteps, both.settings.scheduleEnd], [500, 'deadline']);
    const off = await budgetRecipe({ ...o, now: ticking(20), given: { batch: 4, seq: 8, scheduleEnd: 'steps' } });
    assert.equal(off.settings.scheduleEnd, 'steps');
    const step = await budgetRecipe({ ...o, now: ticking(20), given: { batch: 4, seq: 8, lrSchedule: 'step' } });
    assert.equal(step.settings.scheduleEnd, 'steps', 'only a cosine follows the deadline');
  });

  it("probe sizes by budget, and the probe's share of it", () => {
    assert.deepEqual(
      probeModels(60, {}).map(m => `${m.layers}x${m.hidden}`),
      ['2x128'],
    );
    assert.deepEqual(
      probeModels(900, { cell: 'gru' }).map(m => `${m.cell} ${m.layers}x${m.hidden}`),
      ['gru 2x256', 'gru 2x512'],
    );
    assert.deepEqual([probeSeconds(10), probeSeconds(60), probeSeconds(3600)], [0.5, 1.2, 6]);
  });
});
