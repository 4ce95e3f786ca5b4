// Each run setting's range is the run layer's (src/run/setting-ranges.ts): a
// library caller building a TrainingRun and the CLI's train flags get the same
// sentence, written out here by hand, in their own words; the CLI says it
// before it reads any text, with exit code 2 as for any bad flag. An empty
// text is the run layer's rule too, and weight decay with another optimizer
// than adam is refused by the run layer alone.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { referenceKernels } from '../src/kernels/reference/index.js';
import { CharRNN } from '../src/model/charrnn.js';
import { planRun } from '../src/run/plan-run.js';
import { SettingError } from '../src/run/setting-error.js';
import { SETTING_RANGES } from '../src/run/setting-ranges.js';
import { DEFAULT_SETTINGS, type RunSettings, type StopLimits } from '../src/run/settings.js';
import { TrainingRun } from '../src/run/training-run.js';
import { trainingText } from '../src/run/training-text.js';
import { DEFAULT_OPTIMIZER, Optimizer } from '../src/train/optimizer.js';
import { cliRunner, TINY } from './cli-runner.js';
import { memoryStore } from './run-helpers.js';

const TEXT = 'the whale, the sea, the ship and the captain. '.repeat(20);

/** One bad value of a setting: as the library gives it, as a flag gives it, and the sentence (library words) it gets. */
interface RangeCase {
  setting: keyof RunSettings | keyof StopLimits;
  value: unknown;
  flag: string[];
  library: string;
  cli: string;
}

const CASES: RangeCase[] = [
  {
    setting: 'invalid',
    value: 'ignore',
    flag: ['--invalid', 'ignore'],
    library: 'invalid must be error or replace, not "ignore".',
    cli: '--invalid must be error or replace, not "ignore".',
  },
  {
    setting: 'normalize',
    value: 'nfkc',
    flag: ['--normalize', 'nfkc'],
    library: 'normalize must be nfc, nfd or none, not "nfkc".',
    cli: '--normalize must be nfc, nfd or none, not "nfkc".',
  },
  {
    setting: 'maxVocab',
    value: 1,
    flag: ['--max-vocab', '1'],
    library: 'maxVocab must be a whole number, 2 or more, not 1.',
    cli: '--max-vocab must be a whole number, 2 or more, not 1.',
  },
  {
    setting: 'cell',
    value: 'lru',
    flag: ['--cell', 'lru'],
    library: 'cell must be lstm, gru or rnn, not "lru".',
    cli: '--cell must be lstm, gru or rnn, not "lru".',
  },
  {
    setting: 'layers',
    value: 0,
    flag: ['--layers', '0'],
    library: 'layers must be a whole number, 1 or more, not 0.',
    cli: '--layers must be a whole number, 1 or more, not 0.',
  },
  {
    setting: 'hidden',
    value: 2.5,
    flag: ['--hidden', '2.5'],
    library: 'hidden must be a whole number, 1 or more, not 2.5.',
    cli: '--hidden must be a whole number, 1 or more, not 2.5.',
  },
  {
    setting: 'emb',
    value: -1,
    flag: ['--emb', '-1'],
    library: 'emb must be a whole number, 1 or more, not -1.',
    cli: '--emb must be a whole number, 1 or more, not -1.',
  },
  {
    setting: 'dropout',
    value: 1,
    flag: ['--dropout', '1'],
    library: 'dropout must be a number from 0 (none) up to (not including) 1, not 1.',
    cli: '--dropout must be a number from 0 (none) up to (not including) 1, not 1.',
  },
  {
    setting: 'batch',
    value: 0,
    flag: ['--batch', '0'],
    library: 'batch must be a whole number, 1 or more, not 0.',
    cli: '--batch must be a whole number, 1 or more, not 0.',
  },
  {
    setting: 'seq',
    value: 0,
    flag: ['--seq', '0'],
    library: 'seq must be a whole number, 1 or more, not 0.',
    cli: '--seq must be a whole number, 1 or more, not 0.',
  },
  {
    setting: 'optimizer',
    value: 'adamw',
    flag: ['--optimizer', 'adamw'],
    library: 'optimizer must be adam, rmsprop or sgd, not "adamw".',
    cli: '--optimizer must be adam, rmsprop or sgd, not "adamw".',
  },
  {
    setting: 'lr',
    value: 0,
    flag: ['--lr', '0'],
    library: 'lr must be a number greater than 0, not 0.',
    cli: '--lr must be a number greater than 0, not 0.',
  },
  {
    setting: 'clip',
    value: -1,
    flag: ['--clip', '-1'],
    library: 'clip must be a number, 0 (no clipping) or more, not -1.',
    cli: '--clip must be a number, 0 (no clipping) or more, not -1.',
  },
  {
    setting: 'lrDecay',
    value: 0,
    flag: ['--lr-decay', '0'],
    library: 'lrDecay must be a number greater than 0, not 0.',
    cli: '--lr-decay must be a number greater than 0, not 0.',
  },
  {
    setting: 'lrDecayEvery',
    value: 1.5,
    flag: ['--lr-decay-every', '1.5'],
    library: 'lrDecayEvery must be a whole number, 0 (never) or more, not 1.5.',
    cli: '--lr-decay-every must be a whole number, 0 (never) or more, not 1.5.',
  },
  {
    setting: 'lrSchedule',
    value: 'linear',
    flag: ['--lr-schedule', 'linear'],
    library: 'lrSchedule must be constant, step or cosine, not "linear".',
    cli: '--lr-schedule must be constant, step or cosine, not "linear".',
  },
  {
    setting: 'warmup',
    value: -1,
    flag: ['--warmup', '-1'],
    library: 'warmup must be a whole number, 0 (none) or more, not -1.',
    cli: '--warmup must be a whole number, 0 (none) or more, not -1.',
  },
  {
    setting: 'lrMin',
    value: -0.1,
    flag: ['--lr-min', '-0.1'],
    library: 'lrMin must be a number, 0 or more, not -0.1.',
    cli: '--lr-min must be a number, 0 or more, not -0.1.',
  },
  {
    setting: 'scheduleSteps',
    value: -1,
    flag: ['--schedule-steps', '-1'],
    library: "scheduleSteps must be a whole number, 0 (the run's step limit) or more, not -1.",
    cli: "--schedule-steps must be a whole number, 0 (the run's step limit) or more, not -1.",
  },
  {
    setting: 'scheduleEnd',
    value: 'never',
    flag: ['--schedule-end', 'never'],
    library: 'scheduleEnd must be steps or deadline, not "never".',
    cli: '--schedule-end must be steps or deadline, not "never".',
  },
  {
    setting: 'weightDecay',
    value: -1,
    flag: ['--weight-decay', '-1'],
    library: 'weightDecay must be a number, 0 (none) or more, not -1.',
    cli: '--weight-decay must be a number, 0 (none) or more, not -1.',
  },
  {
    setting: 'ema',
    value: 1,
    flag: ['--ema', '1'],
    library: 'ema must be a number from 0 (none) up to (not including) 1, not 1.',
    cli: '--ema must be a number from 0 (none) up to (not including) 1, not 1.',
  },
  {
    setting: 'embDropout',
    value: -0.1,
    flag: ['--emb-dropout', '-0.1'],
    library: 'embDropout must be a number from 0 (none) up to (not including) 1, not -0.1.',
    cli: '--emb-dropout must be a number from 0 (none) up to (not including) 1, not -0.1.',
  },
  {
    setting: 'valSplit',
    value: 'middle',
    flag: ['--val-split', 'middle'],
    library: 'valSplit must be tail or spread, not "middle".',
    cli: '--val-split must be tail or spread, not "middle".',
  },
  {
    setting: 'valFrac',
    value: 1,
    flag: ['--val-frac', '1'],
    library: 'valFrac must be a number from 0 (no validation) up to (not including) 1, not 1.',
    cli: '--val-frac must be a number from 0 (no validation) up to (not including) 1, not 1.',
  },
  {
    setting: 'valEvery',
    value: -1,
    flag: ['--val-every', '-1'],
    library: 'valEvery must be a whole number, 0 (only at the end) or more, not -1.',
    cli: '--val-every must be a whole number, 0 (only at the end) or more, not -1.',
  },
  {
    setting: 'valMaxChars',
    value: 0.5,
    flag: ['--val-max-chars', '0.5'],
    library: 'valMaxChars must be a whole number, 0 (all) or more, not 0.5.',
    cli: '--val-max-chars must be a whole number, 0 (all) or more, not 0.5.',
  },
  {
    setting: 'patience',
    value: -2,
    flag: ['--patience', '-2'],
    library: 'patience must be a whole number, 0 (never) or more, not -2.',
    cli: '--patience must be a whole number, 0 (never) or more, not -2.',
  },
  {
    setting: 'checkpointEvery',
    value: -1,
    flag: ['--checkpoint-every', '-1'],
    library: 'checkpointEvery must be a whole number, 0 (at validations and the end) or more, not -1.',
    cli: '--checkpoint-every must be a whole number, 0 (at validations and the end) or more, not -1.',
  },
  {
    setting: 'seed',
    value: 4294967296,
    flag: ['--seed', '4294967296'],
    library: 'seed must be a whole number from 0 to 4294967295, not 4294967296.',
    cli: '--seed must be a whole number from 0 to 4294967295, not 4294967296.',
  },
  {
    setting: 'sampleEvery',
    value: -1,
    flag: ['--sample-every', '-1'],
    library: 'sampleEvery must be a whole number, 0 (only at the end) or more, not -1.',
    cli: '--sample-every must be a whole number, 0 (only at the end) or more, not -1.',
  },
  {
    setting: 'sampleLength',
    value: -1,
    flag: ['--sample-length', '-1'],
    library: 'sampleLength must be a whole number, 0 (none) or more, not -1.',
    cli: '--sample-length must be a whole number, 0 (none) or more, not -1.',
  },
  {
    setting: 'sampleTemperature',
    value: 0,
    flag: ['--sample-temperature', '0'],
    library: 'sampleTemperature must be a number greater than 0, not 0.',
    cli: '--sample-temperature must be a number greater than 0, not 0.',
  },
  {
    setting: 'steps',
    value: 0,
    flag: ['--steps', '0'],
    library: 'steps must be a whole number, 1 or more, not 0.',
    cli: '--steps must be a whole number, 1 or more, not 0.',
  },
  {
    setting: 'epochs',
    value: 0,
    flag: ['--epochs', '0'],
    library: 'epochs must be a number greater than 0, not 0.',
    cli: '--epochs must be a number greater than 0, not 0.',
  },
  {
    setting: 'seconds',
    value: -5,
    flag: ['--seconds', '-5'],
    library: 'seconds must be a number greater than 0, not -5.',
    cli: '--seconds must be a number greater than 0, not -5.',
  },
];

const LIMITS = new Set(['steps', 'epochs', 'seconds']);

/** The SettingError building a run with one setting (or limit) at `value` throws. */
function runRefusal(setting: string, value: unknown): SettingError {
  const settings = { ...DEFAULT_SETTINGS, batch: 4, seq: 16, ...(LIMITS.has(setting) ? {} : { [setting]: value }) } as RunSettings;
  const limits = (LIMITS.has(setting) ? { [setting]: value } : { steps: 2 }) as StopLimits;
  try {
    new TrainingRun({ corpus: trainingText(TEXT, 'whale.txt'), settings, limits, kernels: referenceKernels(), store: memoryStore() });
  } catch (e) {
    // A SettingError is the run layer's (the trainer's own guards throw plain CharrnnErrors).
    assert.ok(e instanceof SettingError, `expected the run layer's SettingError, got ${String(e)}`);
    return e;
  }
  assert.fail(`${setting} ${String(value)} was not refused`);
}

describe("every setting's range is the run layer's, one sentence in each face's words", () => {
  test('the cases cover every ranged setting, so a new one without a range test fails here', () => {
    assert.deepEqual(CASES.map(c => c.setting).sort(), Object.keys(SETTING_RANGES).sort());
  });

  for (const c of CASES) {
    test(`${c.setting}: a TrainingRun refuses ${JSON.stringify(c.value)} in the library's words`, () => {
      const e = runRefusal(c.setting, c.value);
      assert.equal(e.setting, c.setting);
      assert.equal(e.message, c.library);
    });
  }

  test('values that are not numbers, or not finite, are refused by the same rule', () => {
    assert.equal(runRefusal('batch', '4').message, 'batch must be a whole number, 1 or more, not "4".');
    assert.equal(runRefusal('lr', Infinity).message, 'lr must be a number greater than 0, not Infinity.');
    assert.equal(runRefusal('clip', NaN).message, 'clip must be a number, 0 (no clipping) or more, not NaN.');
    assert.equal(runRefusal('hidden', undefined).message, 'hidden must be a whole number, 1 or more, not undefined.');
  });

  test('planRun refuses a setting out of range before the recipe or the memory estimate see it', async () => {
    await assert.rejects(
      planRun({
        text: trainingText(TEXT, 'whale.txt'),
        settings: { ...DEFAULT_SETTINGS, hidden: 0 },
        given: { hidden: 0 },
        limits: { seconds: 5 },
        recipe: 'on',
        resumed: false,
        kernels: referenceKernels(),
      }),
      (e: unknown) => e instanceof SettingError && e.message === 'hidden must be a whole number, 1 or more, not 0.',
    );
  });

  test('the edges a range allows pass', () => {
    const kernels = referenceKernels();
    const corpus = trainingText(TEXT, 'whale.txt');
    const edges: Partial<RunSettings> = {
      dropout: 0,
      clip: 0,
      lrDecayEvery: 0,
      warmup: 0,
      lrMin: 0,
      valFrac: 0,
      ema: 0.999,
      seed: 4294967295,
    };
    new TrainingRun({
      corpus,
      settings: { ...DEFAULT_SETTINGS, batch: 4, seq: 16, ...edges },
      limits: { steps: 1 },
      kernels,
      store: memoryStore(),
    });
  });
});

describe("the CLI's train flags: the run layer's sentence in flag words, exit 2, before the text is read", () => {
  let dir = '';
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'charrnn-ranges-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));
  const { cli } = cliRunner(() => dir);

  for (const c of CASES) {
    test(`${c.flag.join(' ')}`, async () => {
      // The text does not exist: the range is judged first, so its sentence comes, not the missing file's.
      const r = await cli(['train', 'no-such.txt', ...TINY, ...c.flag, '--out', 'run']);
      assert.equal(r.stderr, `charrnn: ${c.cli}\n`);
      assert.equal(r.status, 2);
    });
  }

  test('--minutes is judged by the seconds range under its own name; a word is refused as not a number', async () => {
    const minutes = await cli(['train', 'no-such.txt', ...TINY, '--minutes', '0', '--out', 'run']);
    assert.equal(minutes.stderr, 'charrnn: --minutes must be a number greater than 0, not 0.\n');
    assert.equal(minutes.status, 2);
    const word = await cli(['train', 'no-such.txt', ...TINY, '--hidden', 'many', '--out', 'run']);
    assert.equal(word.stderr, "charrnn: option '--hidden <n>' argument 'many' is invalid. It must be a whole number, 1 or more.\n");
    assert.equal(word.status, 2);
  });
});

describe("an empty text is the run layer's rule, named by its source", () => {
  let dir = '';
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'charrnn-blank-'));
    writeFileSync(join(dir, 'blank.txt'), ' \n\t\n');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test("trainingText refuses an empty string; a run, a text of only white space; in the library's words", () => {
    assert.throws(
      () => trainingText('', 'poems.txt'),
      (e: unknown) =>
        e instanceof SettingError && e.setting === 'text' && e.message === 'poems.txt is empty; a run needs some text to train on.',
    );
    const settings = { ...DEFAULT_SETTINGS, batch: 1, seq: 1 };
    assert.throws(
      () =>
        new TrainingRun({
          corpus: trainingText(' \n ', 'the pasted text'),
          settings,
          limits: { steps: 1 },
          kernels: referenceKernels(),
          store: memoryStore(),
        }),
      (e: unknown) =>
        e instanceof SettingError && e.message === 'The pasted text holds only white space; a run needs some text to train on.',
    );
  });

  test('the CLI says it of a file of white space, in its words', async () => {
    const r = await cliRunner(() => dir).cli(['train', 'blank.txt', ...TINY, '--out', 'run']);
    assert.equal(
      r.stderr,
      'charrnn: blank.txt holds only white space; a run needs some text (files, standard input or --corpus) to train on.\n',
    );
    assert.equal(r.status, 1);
  });
});

describe("weight decay needs adam: the run layer's rule only", () => {
  test("a run refuses it with sgd in the library's words", () => {
    const settings = { ...DEFAULT_SETTINGS, batch: 4, seq: 16, optimizer: 'sgd' as const, weightDecay: 0.1 };
    assert.throws(
      () =>
        new TrainingRun({
          corpus: trainingText(TEXT, 'whale.txt'),
          settings,
          limits: { steps: 1 },
          kernels: referenceKernels(),
          store: memoryStore(),
        }),
      (e: unknown) =>
        e instanceof SettingError && e.message === 'weightDecay is decoupled weight decay (AdamW) and needs optimizer adam, not sgd.',
    );
  });

  test("the engine's Optimizer reads weightDecay only for adam, like every optimizer's own hyperparameters", () => {
    const kernels = referenceKernels();
    const stepped = (weightDecay: number | undefined): Float32Array => {
      const model = new CharRNN({ cell: 'lstm', layers: 1, hidden: 4, emb: 2, dropout: 0, vocabSize: 3 }, kernels, { seed: 1 });
      model.params.grad.fill(0.5);
      const optimizer = new Optimizer(kernels, model.params, {
        ...DEFAULT_OPTIMIZER,
        name: 'sgd',
        ...(weightDecay === undefined ? {} : { weightDecay }),
      });
      optimizer.step(0.1);
      return Float32Array.from(model.params.data);
    };
    const plain = stepped(undefined);
    assert.deepEqual(stepped(0.1), plain);
    // The step did something: the weights moved from the seed's.
    const start = new CharRNN({ cell: 'lstm', layers: 1, hidden: 4, emb: 2, dropout: 0, vocabSize: 3 }, kernels, { seed: 1 }).params.data;
    assert.notDeepEqual(plain, Float32Array.from(start));
  });
});
