// Line mode in the run layer: what a line run counts, validates, samples and
// saves, checked against figures computed by hand from the lines.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { referenceKernels } from '../src/kernels/reference/index.js';
import { lineModelInfo } from '../src/model/line-model.js';
import { decodeModel } from '../src/model/model-file.js';
import { withLines } from '../src/run/line-mode.js';
import type { ConfigEvent, RunEvent } from '../src/run/events.js';
import { TrainingRun } from '../src/run/training-run.js';
import { DEFAULT_SETTINGS, resumedSettings, type RunSettings, type StopLimits } from '../src/run/settings.js';
import { decodeCheckpoint } from '../src/train/checkpoint.js';
import { lineValidationLoss } from '../src/train/line-loss.js';
import { Vocabulary } from '../src/text/vocabulary.js';
import { memoryStore, TINY_RUN } from './run-helpers.js';

/** Line mode, with seq 50: longer than every line here, so no line is cut. */
const TINY: Partial<RunSettings> = { ...TINY_RUN, lines: true, seq: 50 };

/** 40 distinct lines of 1 to 7 characters (plus a space and a number). */
const LINES = Array.from({ length: 40 }, (_, i) => `${'abcdefg'.slice(0, 1 + (i % 7))} ${i}`);
const TEXT = LINES.join('\n') + '\n';

function makeRun(settings: Partial<RunSettings>, limits: StopLimits, text = TEXT) {
  const s = { ...DEFAULT_SETTINGS, ...TINY, ...settings };
  const vocab = Vocabulary.fromText(text);
  const corpus = withLines({ ids: vocab.encode(text).ids, vocab, source: 'list' }, s);
  const store = memoryStore();
  const run = new TrainingRun({ corpus, settings: s, limits, kernels: referenceKernels('f32'), store });
  const events: RunEvent[] = [];
  run.on(e => events.push(e));
  return { run, events, store, corpus };
}

describe('a line run', () => {
  test("one epoch counts every training line's characters and end-of-line once; the config says how the lines were split", async () => {
    const { run, events, corpus } = makeRun({ valFrac: 0.2 }, { epochs: 1 });
    await run.train();
    const config = events[0] as ConfigEvent;
    const train = corpus.lines!.train;
    const trainLines = train.starts.length - 1;
    const valLines = corpus.lines!.val.starts.length - 1;
    assert.equal(trainLines + valLines, 40);
    assert.equal(valLines, 8, 'floor(40 x 0.2) distinct lines held out');
    // By hand: each line is its characters plus its end-of-line.
    const trainText = new Set<string>();
    for (let i = 0; i < trainLines; i++) trainText.add(corpus.vocab.decode(train.ids.subarray(train.starts[i], train.starts[i + 1])));
    const expected = LINES.filter(l => trainText.has(l)).reduce((n, l) => n + l.length + 1, 0);
    assert.equal(config.corpus.lines, true);
    assert.deepEqual({ train: config.corpus.trainLines, val: config.corpus.valLines }, { train: trainLines, val: valLines });
    assert.equal(config.corpus.trainChars, expected);
    const result = events.at(-1)!;
    assert.equal(result.step, Math.ceil(trainLines / 4), 'one epoch: a batch of 4 lines a step');
    assert.equal(result.chars, expected, 'one pass trains on each line once');
  });

  test('validation scores the held-out lines; model and best carry the line-model metadata', async () => {
    const { run, events, store, corpus } = makeRun({ valFrac: 0.25, valEvery: 5 }, { steps: 12 });
    await run.train();
    const validations = events.filter(e => e.type === 'validation');
    assert.deepEqual(
      validations.map(e => e.step),
      [5, 10, 12],
    );
    // The closing validation is the final model's loss on the held-out lines.
    assert.equal((validations.at(-1) as { loss: number }).loss, lineValidationLoss(run.model, corpus.lines!.val, 4));
    for (const file of ['model', 'best'] as const) {
      const { metadata } = decodeModel(store.files.get(file)!, file);
      const info = lineModelInfo(metadata, file);
      assert.ok(info, `${file} is a line model`);
      for (const l of LINES) assert.ok(info.lineSet.has(l), `${file} knows ${l}`);
    }
    const checkpoint = decodeCheckpoint(store.files.get('checkpoint')!, 'checkpoint');
    assert.equal(checkpoint.run.settings.lines, true);
    assert.equal(checkpoint.run.chars, events.at(-1)!.chars);
  });

  test('a stop request during a long line validation abandons it between batches', async () => {
    const many = Array.from({ length: 6000 }, (_, i) => `line number ${i} of a long list`).join('\n') + '\n';
    const { run, events } = makeRun({ valFrac: 0.5, valEvery: 3, batch: 2, hidden: 48 }, { steps: 1000 }, many);
    run.on(e => {
      if (e.type === 'step' && e.step === 3) setTimeout(() => run.requestStop('test'), 5);
    });
    const result = await run.train();
    assert.equal(result.reason, 'signal');
    assert.equal(result.step, 3);
    assert.equal(events.filter(e => e.type === 'validation').length, 0, 'the validation was abandoned');
    assert.ok(events.some(e => e.type === 'saved' && e.step === 3));
  });

  test('samples are 5 whole lines of at most --sample-length characters, and leave training unchanged', async () => {
    const sampled = makeRun({ sampleLength: 9, samplePrime: 'ab', valFrac: 0.2, valEvery: 4 }, { steps: 8 });
    await sampled.run.train();
    const plain = makeRun({ valFrac: 0.2, valEvery: 4 }, { steps: 8 });
    await plain.run.train();
    assert.deepEqual(sampled.run.model.params.data, plain.run.model.params.data, 'the same weights with and without samples');
    const samples = sampled.events.filter(e => e.type === 'sample');
    assert.deepEqual(
      samples.map(e => e.step),
      [4, 8],
      'one at each validation',
    );
    const texts = [...samples.map(e => e.text), (sampled.events.at(-1) as { sample: string }).sample];
    for (const text of texts) {
      const lines = text.split('\n');
      assert.equal(lines.length, 5);
      for (const l of lines) assert.ok(l.startsWith('ab') && [...l].length <= 2 + 9, JSON.stringify(l));
    }
  });

  test('lines is kept on resume', () => {
    assert.throws(
      () => resumedSettings({ ...DEFAULT_SETTINGS, lines: true }, { lines: false }),
      /has lines true; a resumed run keeps its settings, so leave lines out/,
    );
    assert.equal(resumedSettings({ ...DEFAULT_SETTINGS, lines: true }, {}).lines, true);
  });
});
