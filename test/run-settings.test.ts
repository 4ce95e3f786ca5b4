// One place per rule: every rule on a run's settings is the run layer's
// (checkSettings, planRun, resumedSettings), said once in the library's words
// and named by each face its own way (the CLI's flags, the page's words); the
// page, the library and the CLI refuse a text too short for one batch by the
// same rule; and stream and line mode are two implementations of one
// TrainingData interface.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createTrainingRun, TRAIN_PRESETS } from '../src/browser/index.js';
import { pageNames } from '../src/browser/training.js';
import { FLAG_NAMES, withFlagNames } from '../src/cli/flag-names.js';
import { trainCommand } from '../src/cli/train.js';
import { LineBatcher } from '../src/data/line-batcher.js';
import { lineCount } from '../src/data/line-examples.js';
import { holdOut, trainLength, type ValSplit } from '../src/data/split.js';
import { CharrnnError } from '../src/errors.js';
import { referenceKernels } from '../src/kernels/reference/index.js';
import { CharRNN } from '../src/model/charrnn.js';
import { LINES_KEY } from '../src/model/line-model.js';
import { checkSettings, shortestText } from '../src/run/check-settings.js';
import { withLines } from '../src/run/line-mode.js';
import { planRun, type PlanOptions } from '../src/run/plan-run.js';
import { TrainingRun } from '../src/run/training-run.js';
import { LIBRARY_NAMES, SettingError, type SettingName } from '../src/run/setting-error.js';
import { DEFAULT_SETTINGS, resumedSettings, type RunSettings, type StopLimits } from '../src/run/settings.js';
import { LineData, SAMPLE_LINES, StreamData, trainingData, type TrainingData } from '../src/run/training-data.js';
import { trainingText, type TrainingText } from '../src/run/training-text.js';
import { finishPass } from '../src/run/validate.js';
import { Vocabulary } from '../src/text/vocabulary.js';
import { cliRunner } from './cli-runner.js';
import { memoryStore, settingsFlags, TINY_SETTINGS } from './run-helpers.js';

const SHORT = 'just twenty chars!!\n';
const TEXT = 'the whale, the sea, the ship and the captain. '.repeat(20);
const LINES = Array.from({ length: 40 }, (_, i) => `${'abcdefg'.slice(0, 1 + (i % 7))} ${i}`);

const settingsOf = (s: Partial<RunSettings>): RunSettings => ({ ...DEFAULT_SETTINGS, ...s });

/** The SettingError `fn` throws (failing when it throws anything else, or nothing). */
function refusal(fn: () => unknown): SettingError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof SettingError, `expected a SettingError, got ${String(e)}`);
    return e;
  }
  assert.fail('expected a refusal');
}

async function refusalOf(p: Promise<unknown>): Promise<SettingError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof SettingError, `expected a SettingError, got ${String(e)}`);
    return e;
  }
  assert.fail('expected a refusal');
}

/** A refusal as the spec wants it: one sentence naming the setting, in the library's words (no flag), and the CLI's wording. */
function assertRule(e: SettingError, setting: SettingName, library: string, cli: string): void {
  assert.equal(e.setting, setting);
  assert.equal(e.message, library);
  assert.equal(e.in(LIBRARY_NAMES), library);
  assert.equal(e.in(FLAG_NAMES), cli);
  assert.ok(!/--[a-z]/.test(library), `the library's sentence names a flag: ${library}`);
  for (const m of [library, cli]) assert.ok(!m.includes('\n') && /[.]$/.test(m) && /^[A-Za-z-]/.test(m), `not one sentence: ${m}`);
}

describe("checkSettings: each rule, one setting, one sentence in the run layer's words", () => {
  const short = { ...trainingText(SHORT, 'short.txt') };
  const cases: {
    rule: string;
    settings: Partial<RunSettings>;
    limits?: StopLimits;
    text?: TrainingText;
    resumedAt?: number;
    setting: SettingName;
    library: string;
    cli: string;
  }[] = [
    {
      rule: 'patience needs held-out text',
      settings: { patience: 3, valFrac: 0 },
      setting: 'patience',
      library: 'patience counts validations, and valFrac 0 leaves no text to validate on; give a valFrac above 0 or leave patience out.',
      cli: '--patience counts validations, and --val-frac 0 leaves no text to validate on; give a --val-frac above 0 or leave --patience out.',
    },
    {
      rule: 'a sample JavaScript can hold',
      settings: { sampleLength: 2 ** 29 },
      setting: 'sampleLength',
      library:
        'sampleLength 536870912 is longer than the longest text JavaScript can hold (536,870,888 characters); use charrnn sample, which streams.',
      cli: '--sample-length 536870912 is longer than the longest text JavaScript can hold (536,870,888 characters); use charrnn sample, which streams.',
    },
    {
      rule: "a prime of the text's characters",
      settings: { samplePrime: 'thz' },
      text: trainingText(TEXT, 'whale.txt'),
      setting: 'samplePrime',
      library: 'The prime has a character the model has never seen: "z" (U+007A) (the samplePrime may use only characters of the text).',
      cli: 'The prime has a character the model has never seen: "z" (U+007A) (the --sample-prime may use only characters of the text).',
    },
    {
      rule: 'a deadline needs a time budget',
      settings: { lrSchedule: 'cosine', scheduleEnd: 'deadline', scheduleSteps: 40 },
      limits: { steps: 30 },
      setting: 'scheduleEnd',
      library: 'scheduleEnd deadline ends the schedule when the time budget does; give seconds, or leave scheduleEnd out.',
      cli: '--schedule-end deadline ends the schedule when the time budget does; give --seconds or --minutes, or leave --schedule-end out.',
    },
    {
      rule: 'a step decay belongs to the step schedule',
      settings: { lrSchedule: 'cosine', lrDecayEvery: 10, scheduleSteps: 40 },
      setting: 'lrDecayEvery',
      library: 'lrDecayEvery belongs to lrSchedule step, not cosine.',
      cli: '--lr-decay-every belongs to --lr-schedule step, not cosine.',
    },
    {
      rule: 'a deadline re-plans a cosine',
      settings: { scheduleEnd: 'deadline' },
      limits: { seconds: 5 },
      setting: 'scheduleEnd',
      library: 'scheduleEnd deadline re-plans a cosine schedule, not step; give lrSchedule cosine or leave scheduleEnd out.',
      cli: '--schedule-end deadline re-plans a cosine schedule, not step; give --lr-schedule cosine or leave --schedule-end out.',
    },
    {
      rule: "weight decay is AdamW's",
      settings: { weightDecay: 0.1, optimizer: 'sgd' },
      setting: 'weightDecay',
      library: 'weightDecay is decoupled weight decay (AdamW) and needs optimizer adam, not sgd.',
      cli: '--weight-decay is decoupled weight decay (AdamW) and needs --optimizer adam, not sgd.',
    },
    {
      rule: 'line mode holds out whole lines',
      settings: { lines: true, valSplit: 'spread' },
      setting: 'valSplit',
      library:
        'valSplit spread holds out windows of running text; line mode holds out whole lines chosen at random already, so leave valSplit out.',
      cli: '--val-split spread holds out windows of running text; line mode holds out whole lines chosen at random already, so leave --val-split out.',
    },
    // 4 x 16 + 1 = 65 characters to train on; floor(73 x 0.9) = 65, floor(72 x 0.9) = 64; the text has 20, floor(20 x 0.9) = 18 to train on.
    {
      rule: 'a text long enough for one batch',
      settings: { batch: 4, seq: 16 },
      text: short,
      setting: 'batch',
      library:
        'The text is too short for batch 4 and seq 16: training needs at least 65 characters, a text of at least 73 with valFrac 0.1 held out, ' +
        'and short.txt has 20, 18 of them left for training; make batch or seq smaller, or give a longer text.',
      cli:
        'The text is too short for --batch 4 and --seq 16: training needs at least 65 characters, a text of at least 73 with --val-frac 0.1 held out, ' +
        'and short.txt has 20, 18 of them left for training; make --batch or --seq smaller, or give a longer text.',
    },
    {
      rule: 'a text long enough for one batch, nothing held out',
      settings: { batch: 4, seq: 16, valFrac: 0 },
      text: short,
      setting: 'batch',
      library:
        'The text is too short for batch 4 and seq 16: training needs at least 65 characters, and short.txt has 20; make batch or seq smaller, or give a longer text.',
      cli: 'The text is too short for --batch 4 and --seq 16: training needs at least 65 characters, and short.txt has 20; make --batch or --seq smaller, or give a longer text.',
    },
    {
      rule: 'a cosine needs its length',
      settings: { lrSchedule: 'cosine' },
      limits: { seconds: 5 },
      setting: 'scheduleSteps',
      library: 'lrSchedule cosine with only seconds needs scheduleSteps: the steps the time allows.',
      cli: '--lr-schedule cosine with only --seconds needs --schedule-steps: the steps the time allows.',
    },
    {
      rule: 'a resumed run cannot stop before where it is',
      settings: {},
      limits: { steps: 3 },
      resumedAt: 12,
      setting: 'steps',
      library: 'The run is at step 12 already, past steps 3; give a steps of 12 or more.',
      cli: 'The run is at step 12 already, past --steps 3; give a --steps of 12 or more.',
    },
  ];
  for (const c of cases) {
    test(c.rule, () => {
      assertRule(
        refusal(() => checkSettings(settingsOf(c.settings), c.limits ?? {}, c.text, c.resumedAt)),
        c.setting,
        c.library,
        c.cli,
      );
    });
  }

  test('what the rules allow passes: the defaults, a deadline of a resumed run, a cosine whose length a limit gives', () => {
    checkSettings(DEFAULT_SETTINGS, {}, trainingText(TEXT.repeat(4), 'whale.txt'));
    checkSettings(settingsOf({ lrSchedule: 'cosine', scheduleEnd: 'deadline', scheduleSteps: 40 }), {}, undefined, 10);
    checkSettings(settingsOf({ lrSchedule: 'cosine' }), { seconds: 5, steps: 100 });
    checkSettings(settingsOf({ batch: 4, seq: 16 }), {}, trainingText('x'.repeat(73), 'long enough'));
    checkSettings(settingsOf({ lines: true, batch: 1000, seq: 1000 }), {}, trainingText(SHORT, 'lines'), undefined);
  });

  test('a resumed run keeps its settings: the setting given is named', () => {
    assertRule(
      refusal(() => resumedSettings(settingsOf({ hidden: 64 }), { hidden: 32 })),
      'hidden',
      'The run being resumed has hidden 64; a resumed run keeps its settings, so leave hidden out.',
      'The run being resumed has --hidden 64; a resumed run keeps its settings, so leave --hidden out.',
    );
  });
});

describe('planRun: the recipe and the memory check, for every face', () => {
  const vocab = Vocabulary.fromText(TEXT);
  const text: TrainingText = { ids: vocab.encode(TEXT).ids, vocab, source: 'whale.txt' };
  const ticking = (ms: number): (() => number) => {
    let t = 0;
    return () => (t += ms);
  };
  const plan = (o: Partial<PlanOptions>): ReturnType<typeof planRun> =>
    planRun({
      text,
      settings: DEFAULT_SETTINGS,
      given: {},
      limits: {},
      recipe: 'auto',
      resumed: false,
      kernels: referenceKernels('f32'),
      now: ticking(20),
      ...o,
    });

  test('recipe on where it cannot plan: one sentence each', async () => {
    assertRule(
      await refusalOf(plan({ recipe: 'on', resumed: true, limits: { seconds: 30 } })),
      'recipe',
      'recipe on plans a new run; a resumed run keeps the settings it started with (drop recipe on).',
      '--recipe on plans a new run; a resumed run keeps the settings it started with (drop --recipe on).',
    );
    assertRule(
      await refusalOf(plan({ recipe: 'on' })),
      'recipe',
      'recipe on plans a time budget: give seconds.',
      '--recipe on plans a time budget: give --seconds or --minutes.',
    );
    assertRule(
      await refusalOf(plan({ recipe: 'on', limits: { seconds: 30, steps: 10 } })),
      'recipe',
      'recipe on plans a time budget, not steps or epochs: drop them, or use recipe off.',
      '--recipe on plans a time budget, not --steps or --epochs: drop them, or use --recipe off.',
    );
    assertRule(
      await refusalOf(plan({ recipe: 'on', limits: { seconds: 30 }, settings: settingsOf({ lines: true }) })),
      'recipe',
      'recipe on is not calibrated for line mode (lines, or a list corpus such as names) yet: use recipe off (the defaults) or give the settings.',
      '--recipe on is not calibrated for line mode (--lines, or a list corpus such as names) yet: use --recipe off (the defaults) or give the settings.',
    );
  });

  test('a model that cannot fit the machine is refused before anything is allocated, naming the sizes to make smaller', async () => {
    const e = await refusalOf(
      plan({ recipe: 'off', settings: settingsOf({ hidden: 100_000 }), machine: { total: 16e9, available: 12e9 } }),
    );
    assert.equal(e.setting, 'hidden');
    const memory =
      / needs about [\d.]+ TB of memory \(mostly optimizer state [\d.]+ [GT]B, .*\), and this machine has 16\.0 GB \(12\.0 GB available\); /;
    assert.match(
      e.message,
      new RegExp(
        `^A 2x100000 LSTM with emb 64, batch 50 and seq 50 on ${vocab.size} distinct characters${memory.source}` +
          'use a smaller hidden, layers, emb, batch or seq\\.$',
      ),
    );
    assert.match(
      e.in(FLAG_NAMES),
      new RegExp(
        `^A 2x100000 LSTM with --emb 64, --batch 50 and --seq 50 on ${vocab.size} distinct characters${memory.source}` +
          'use a smaller --hidden, --layers, --emb, --batch or --seq\\.$',
      ),
    );
    await plan({ recipe: 'off', machine: { total: 16e9, available: 12e9 } });
  });

  test("without the recipe the plan is the settings as given, on the text in the run's shape", async () => {
    const off = await plan({ recipe: 'off', limits: { seconds: 30 } });
    assert.deepEqual(off.settings, DEFAULT_SETTINGS);
    assert.deepEqual(off.notes, []);
    assert.equal(off.corpus, text);
    assert.equal(off.startedAt, 20, "the budget starts at the planning step's first clock reading");
    const sized = await plan({ limits: { seconds: 30 }, given: { hidden: 64 } });
    assert.deepEqual(sized.notes, [], 'a size given turns recipe auto off');
    const lined = await plan({
      limits: { seconds: 30 },
      settings: settingsOf({ lines: true }),
      text: trainingText(LINES.join('\n'), 'list'),
    });
    assert.deepEqual(lined.notes, [], 'line mode keeps the defaults');
    assert.equal(lineCount(lined.corpus.lines!.train) + lineCount(lined.corpus.lines!.val), LINES.length);
  });

  test("a time budget alone: the recipe chooses, the given settings win, and its note names the way off in the face's words", async () => {
    const given = { batch: 4, seq: 8, emb: 8 };
    const library = await plan({ limits: { seconds: 30 }, given, settings: settingsOf(given) });
    assert.deepEqual([library.settings.batch, library.settings.seq, library.settings.emb], [4, 8, 8]);
    assert.equal(library.settings.lrSchedule, 'cosine');
    assert.equal(library.notes.length, 1);
    assert.match(library.notes[0], /^recipe: .* \(measured .*; recipe off for the plain defaults\)$/);
    const cli = await plan({ limits: { seconds: 30 }, given, settings: settingsOf(given), names: FLAG_NAMES });
    assert.match(cli.notes[0], /; --recipe off for the plain defaults\)$/);
  });
});

describe('the faces name the settings their own way', () => {
  test('the CLI: each setting by the flag that sets it, and every such flag is one the train command has', () => {
    assert.equal(FLAG_NAMES('valFrac'), '--val-frac');
    assert.equal(FLAG_NAMES('hidden'), '--hidden');
    assert.equal(FLAG_NAMES('lrDecayEvery'), '--lr-decay-every');
    assert.equal(FLAG_NAMES('timeBudget'), '--seconds or --minutes');
    const silent = { write: () => true };
    const flags = new Set(trainCommand({ stdout: silent, stderr: silent, env: {} }, { code: 0 }).options.map(o => o.long));
    const named: SettingName[] = [
      ...(Object.keys(DEFAULT_SETTINGS) as (keyof RunSettings)[]),
      'corpus',
      'encoding',
      'maxVocab',
      'sampleEvery',
      'steps',
      'epochs',
      'seconds',
      'recipe',
    ];
    for (const setting of named.filter(s => s !== 'scheduleReplans'))
      assert.ok(flags.has(FLAG_NAMES(setting)), `${setting}: ${FLAG_NAMES(setting)} is no flag`);
  });

  test('the CLI says a refusal in its flags; other errors pass as they are', async () => {
    const settings = settingsOf({ patience: 2, valFrac: 0 });
    const action = withFlagNames(async () => {
      checkSettings(settings, {});
    });
    await assert.rejects(
      action(),
      (e: unknown) =>
        e instanceof CharrnnError &&
        !(e instanceof SettingError) &&
        e.message ===
          '--patience counts validations, and --val-frac 0 leaves no text to validate on; give a --val-frac above 0 or leave --patience out.',
    );
    const other = new CharrnnError('Something else.');
    await assert.rejects(
      withFlagNames(async () => {
        throw other;
      })(),
      (e: unknown) => e === other,
    );
  });

  test("the page: its own words, no flag and no setting's code name", () => {
    const e = refusal(() => checkSettings(TRAIN_PRESETS.small, {}, trainingText('abc'.repeat(100), 'the pasted text')));
    const said = e.in(pageNames('small'));
    assert.equal(
      said,
      "The text is too short for the small size's batch 16 and the small size's chunk length 32: training needs at least 513 characters, " +
        'a text of at least 570 with the validation share 0.1 held out, and the pasted text has 300, 270 of them left for training; ' +
        "make the small size's batch or the small size's chunk length smaller, or give a longer text.",
    );
  });
});

describe('one too-short rule for the library, the page and the CLI', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'charrnn-settings-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  // The page's small size: 16 streams of 32 steps, 10% held out: 513 characters to train on, a text of 570.
  const small = TRAIN_PRESETS.small;
  const tooShort = 'abc'.repeat(189) + 'ab';
  const library = (text: string, source: string) => () =>
    new TrainingRun({
      corpus: trainingText(text, source),
      settings: small,
      limits: { seconds: 1 },
      kernels: referenceKernels('f32'),
      store: memoryStore(),
    });
  const page = (text: string) => () =>
    createTrainingRun({ text, source: 'the pasted text', size: 'small', seconds: 1 }, referenceKernels('f32'), memoryStore());

  test('the shortest text is worked out once: 570 characters for the small size', () => {
    assert.equal(shortestText(small), 570);
    assert.equal(tooShort.length, 569);
  });

  test('the library and the page refuse the same text by the same rule, and take one character more', () => {
    const e = refusal(library(tooShort, 'the pasted text'));
    assert.equal(e.setting, 'batch');
    assert.match(
      e.message,
      /^The text is too short for batch 16 and seq 32: training needs at least 513 characters, a text of at least 570 /,
    );
    assert.throws(page(tooShort), {
      message:
        "The text is too short for the small size's batch 16 and the small size's chunk length 32: training needs at least 513 characters, " +
        'a text of at least 570 with the validation share 0.1 held out, and the pasted text has 569, 512 of them left for training; ' +
        "make the small size's batch or the small size's chunk length smaller, or give a longer text.",
    });
    assert.doesNotThrow(library(tooShort + 'c', 'the pasted text'));
    assert.doesNotThrow(page(tooShort + 'c'));
  });

  test('the CLI refuses it with the same sentence in its flags', async () => {
    writeFileSync(join(dir, 'pasted.txt'), tooShort);
    // The small size's batch and seq, so that the same text is too short.
    const tiny = settingsFlags({ ...TINY_SETTINGS, batch: 16, seq: 32 });
    const r = await cliRunner(() => dir, { CHARRNN_BACKEND: 'reference' }).cli([
      'train',
      'pasted.txt',
      ...tiny,
      '--steps',
      '1',
      '--out',
      'run',
    ]);
    assert.equal(r.status, 1, r.stderr);
    assert.equal(r.stderr, `charrnn: ${refusal(library(tooShort, 'pasted.txt')).in(FLAG_NAMES)}\n`);
  });

  test('shortestText and trainLength agree with the split itself, tail and spread', () => {
    for (const valSplit of ['tail', 'spread'] as ValSplit[]) {
      for (const valFrac of [0, 0.1, 0.25, 0.5, 0.9]) {
        for (const n of [0, 1, 2, 7, 19, 100, 999, 2000, 2001, 2999, 4321]) {
          assert.equal(
            trainLength(n, valFrac, valSplit),
            holdOut(new Uint8Array(n), valFrac, valSplit, 3).train.length,
            `${valSplit} ${valFrac} n=${n}`,
          );
        }
        for (const [batch, seq] of [
          [1, 1],
          [3, 5],
          [16, 32],
          [50, 50],
        ]) {
          const s = { batch, seq, valFrac, valSplit };
          let least = 1;
          while (holdOut(new Uint8Array(least), valFrac, valSplit, 3).train.length < batch * seq + 1) least++;
          assert.equal(shortestText(s), least, JSON.stringify(s));
        }
      }
    }
  });
});

describe('stream and line mode: two implementations of one TrainingData', () => {
  const kernels = referenceKernels('f32');
  const streamSettings = settingsOf({ batch: 4, seq: 8, valFrac: 0.1, sampleLength: 30, samplePrime: 'the ' });
  const lineSettings = settingsOf({ lines: true, batch: 4, valFrac: 0.2, sampleLength: 12 });
  const streamText = trainingText(TEXT, 'whale.txt');
  const lineText = withLines(trainingText(LINES.join('\n') + '\n', 'list'), lineSettings);
  const modelFor = (text: TrainingText): CharRNN<Float32Array> =>
    new CharRNN({ cell: 'lstm', layers: 1, hidden: 8, emb: 4, dropout: 0, vocabSize: text.vocab.size }, kernels, { seed: 1 });

  /** What every TrainingData promises, checked the same way for both. */
  function assertTrainingData(data: TrainingData, text: TrainingText, s: RunSettings): void {
    assert.equal(data.lines, s.lines);
    assert.equal(data.batcher.B, s.batch);
    assert.equal(data.batcher.epoch, 0, 'a fresh batcher');
    assert.ok(data.trainChars > 0 && data.valChars > 0);
    assert.equal(data.charsPerStep, data.lines ? data.trainChars / data.batcher.stepsPerEpoch : s.batch * s.seq);
    assert.equal(data.validates, true);
    const model = modelFor(text);
    const sums = [...data.validationPass(model)].at(-1)!;
    assert.ok(sums.count > 0 && sums.count <= data.valChars && Number.isFinite(sums.total / sums.count));
    const sample = data.sample(model, text.vocab, s);
    assert.equal(typeof sample, 'string');
    assert.equal(data.sample(model, text.vocab, s), sample, 'a sample is drawn from its own seeded generator');
  }

  test('trainingData chooses once from the settings', () => {
    assert.ok(trainingData(streamText, streamSettings) instanceof StreamData);
    assert.ok(trainingData(lineText, lineSettings) instanceof LineData);
    assert.throws(() => trainingData(streamText, lineSettings), /needs its corpus from withLines/);
  });

  test("streams: the split's characters, B x T a step, a speed from a step's time, no metadata", async () => {
    const data = trainingData(streamText, streamSettings) as StreamData;
    assertTrainingData(data, streamText, streamSettings);
    const n = TEXT.length;
    assert.equal(data.trainChars, Math.floor(n * 0.9));
    assert.equal(data.valChars, n - Math.floor(n * 0.9));
    assert.equal(data.batcher.stepsPerEpoch, Math.floor(Math.floor((Math.floor(n * 0.9) - 1) / 4) / 8));
    assert.equal(data.charsPerSecond(0.5), 64);
    assert.deepEqual(data.modelMetadata, {});
    assert.deepEqual(data.lineCounts, {});
    assert.equal(data.sample(modelFor(streamText), streamText.vocab, streamSettings).length, 30);
    assert.equal(trainingData(streamText, { ...streamSettings, valFrac: 0 }).validates, false);
    const bounded = trainingData(streamText, { ...streamSettings, valMaxChars: 20 });
    assert.equal(bounded.valChars, 21, 'at most valMaxChars characters predicted, and the one they follow');
    const model = modelFor(streamText);
    const loss = await finishPass(data.validationPass(model), { now: () => 0, shouldStop: () => false });
    assert.ok(loss !== null && loss > 0);
  });

  test("lines: each line's characters and its end-of-line, counted as the batches score them; whole lines sampled; the model's line metadata", async () => {
    const data = trainingData(lineText, lineSettings) as LineData;
    assertTrainingData(data, lineText, lineSettings);
    // The characters a pass trains on, as an independent batcher hands them out.
    const batcher = new LineBatcher(lineText.lines!.train, 4, lineSettings.seed);
    const x = new Int32Array(4 * batcher.maxT),
      y = new Int32Array(4 * batcher.maxT);
    let targets = 0;
    for (let i = 0; i < batcher.stepsPerEpoch; i++) targets += batcher.next(x, y).targets;
    assert.equal(data.trainChars, targets);
    const val = [...data.validationPass(modelFor(lineText))].at(-1)!;
    assert.equal(data.valChars, val.count, 'a validation pass scores every held-out character and end-of-line');
    const counts = data.lineCounts;
    assert.equal(counts.trainLines + counts.valLines, LINES.length);
    assert.equal(counts.valLines, lineCount(lineText.lines!.val));
    assert.equal(data.charsPerSecond(), null);
    assert.ok(LINES_KEY in data.modelMetadata);
    const lines = data.sample(modelFor(lineText), lineText.vocab, lineSettings).split('\n');
    assert.ok(lines.length <= SAMPLE_LINES && lines.every(l => l.length <= 12), JSON.stringify(lines));
  });
});
