// The run layer in process: its events, stop limits, patience, budgets, stop
// requests and the promise that watching a run (samples) never changes it.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { CharrnnError } from '../src/errors.js';
import { decodeSafetensors } from '../src/model/safetensors.js';
import { referenceKernels } from '../src/kernels/reference/index.js';
import { RunLogWriter } from '../src/node/run-log.js';
import { ProgressTracker } from '../src/report/progress.js';
import type { RunEvent } from '../src/run/events.js';
import { TrainingRun } from '../src/run/training-run.js';
import { DEFAULT_SETTINGS, resumedSettings, TECHNIQUES, type RunSettings, type StopLimits } from '../src/run/settings.js';
import { corpusOf, memoryStore, TINY_RUN } from './run-helpers.js';

function makeRun(text: string, settings: Partial<RunSettings>, limits: StopLimits, store = memoryStore()) {
  const run = new TrainingRun({
    corpus: corpusOf(text),
    settings: { ...DEFAULT_SETTINGS, ...TINY_RUN, ...settings },
    limits,
    kernels: referenceKernels('f32'),
    store,
  });
  const events: RunEvent[] = [];
  run.on(e => events.push(e));
  return { run, events, store };
}

const TEXT = 'the quick brown fox jumps over the lazy dog.\n'.repeat(60);

describe('the run layer', () => {
  test('events come in order, every one with its position, and the result says why the run ended', async () => {
    const { run, events } = makeRun(TEXT, { valEvery: 5, checkpointEvery: 10 }, { steps: 12 });
    const result = await run.train();
    assert.equal(events[0].type, 'config');
    assert.deepEqual(
      events.filter(e => e.type === 'step').map(e => e.step),
      Array.from({ length: 12 }, (_, i) => i + 1),
    );
    assert.deepEqual(
      events.filter(e => e.type === 'validation').map(e => e.step),
      [5, 10, 12],
    );
    // Saves: the best model at each new best, the latest at steps 10 and 12 (the end).
    const saves = events.filter(e => e.type === 'saved').map(e => `${e.step}:${(e as { files: string[] }).files.join('+')}`);
    assert.ok(saves.includes('10:model+checkpoint') && saves.includes('12:model+checkpoint'), saves.join(' '));
    assert.equal(result.reason, 'limit');
    assert.equal(result.stepsThisRun, 12);
    for (let i = 1; i < events.length; i++) assert.ok(events[i].time >= events[i - 1].time, 'time never goes back');
    assert.equal(events[events.length - 1], result);
  });

  test('samples while training do not change the run: same bytes with and without them', async () => {
    const a = makeRun(TEXT, { valEvery: 4, sampleEvery: 3, sampleLength: 40, dropout: 0.2, layers: 2 }, { steps: 15 });
    const b = makeRun(TEXT, { valEvery: 4, sampleLength: 0, dropout: 0.2, layers: 2 }, { steps: 15 });
    await a.run.train();
    await b.run.train();
    assert.equal(a.events.filter(e => e.type === 'sample').length, 5);
    assert.deepEqual(a.store.files.get('model'), b.store.files.get('model'), 'the model differs');
    // The checkpoints differ only in the sample settings they record.
    const [ca, cb] = [a, b].map(r => decodeSafetensors(r.store.files.get('checkpoint')!, 'checkpoint'));
    assert.deepEqual([...ca.tensors.keys()], [...cb.tensors.keys()]);
    for (const [name, t] of ca.tensors) assert.deepEqual(t.data, cb.tensors.get(name)!.data, `${name} differs`);
    const training = (c: typeof ca): Record<string, unknown> => {
      const t = JSON.parse(c.metadata.training) as { run: { settings: Record<string, unknown> } };
      delete t.run.settings.sampleEvery;
      delete t.run.settings.sampleLength;
      return t;
    };
    assert.deepEqual(training(ca), training(cb));
  });

  test('patience stops after N validations without a new best, and says so', async () => {
    // Training text is all "ab", validation text all "b": learning the alternation makes "b after b" ever less likely.
    const text = 'ab'.repeat(900) + 'b'.repeat(200);
    const { run, events } = makeRun(text, { valEvery: 10, patience: 2, lr: 0.02, valFrac: 0.1 }, { steps: 500 });
    const result = await run.train();
    const vals = events.filter(e => e.type === 'validation') as Extract<RunEvent, { type: 'validation' }>[];
    assert.equal(result.reason, 'patience');
    assert.deepEqual(
      vals.map(v => v.sinceBest),
      [0, 1, 2],
    );
    assert.ok(vals[1].loss > vals[0].loss && vals[2].loss >= vals[0].loss);
    assert.equal(result.step, 30);
    const stopped = events.find(e => e.type === 'stopped');
    assert.match((stopped as { message: string }).message, /2 validations in a row without a new best \(patience 2\)/);
  });

  test('--patience without validation text is refused in one sentence', () => {
    assert.throws(
      () => makeRun(TEXT, { patience: 3, valFrac: 0 }, {}),
      (e: unknown) => e instanceof CharrnnError && /^patience counts validations/.test(e.message),
    );
  });

  test('a stop request during a long validation abandons it, saves and ends with reason signal', async () => {
    const text = 'a long validation text: the same words again and again. '.repeat(2500);
    const { run, events } = makeRun(text, { valEvery: 3, valFrac: 0.5, valMaxChars: 0, hidden: 48 }, { steps: 1000 });
    run.on(e => {
      if (e.type === 'step' && e.step === 3) setTimeout(() => run.requestStop('test'), 5);
    });
    const result = await run.train();
    assert.equal(result.reason, 'signal');
    assert.equal(result.step, 3);
    assert.equal(events.filter(e => e.type === 'validation').length, 0, 'the validation was abandoned');
    assert.ok(events.some(e => e.type === 'saved' && e.step === 3));
  });

  test('a resumed run keeps its settings and refuses a changed one by name', () => {
    const saved = { ...DEFAULT_SETTINGS, hidden: 64, sampleLength: 10 };
    const s = resumedSettings(saved, { sampleLength: 50 });
    assert.equal(s.hidden, 64);
    assert.equal(s.sampleLength, 50, 'sample settings may change');
    assert.throws(() => resumedSettings(saved, { hidden: 32 }), /has hidden 64; a resumed run keeps its settings, so leave hidden out/);
  });

  test('a checkpoint from before the training techniques resumes with their defaults, and refuses turning one on', () => {
    const old: Partial<RunSettings> = { ...DEFAULT_SETTINGS, hidden: 64 };
    for (const k of TECHNIQUES) delete old[k];
    const s = resumedSettings(old, {});
    assert.deepEqual(
      TECHNIQUES.map(k => s[k]),
      TECHNIQUES.map(k => DEFAULT_SETTINGS[k]),
    );
    assert.throws(() => resumedSettings(old, { ema: 0.99 }), /has ema 0; a resumed run keeps its settings, so leave ema out/);
  });

  test('spread validation: --val-max-chars keeps whole windows, evenly spaced; the config says how much', async () => {
    const text = 'abcdefghij klmnopqrst uvwxyz. '.repeat(400); // 12,000 characters: 0.25 holds out 3 windows of 1,000
    const { run, events } = makeRun(text, { valSplit: 'spread', valFrac: 0.25, valMaxChars: 2000 }, { steps: 2 });
    await run.train();
    const config = events[0] as Extract<RunEvent, { type: 'config' }>;
    assert.equal(config.corpus.valChars, 2000);
    assert.equal(config.corpus.trainChars, 9000);
    assert.ok(events.some(e => e.type === 'validation'));
  });
});

describe('progress', () => {
  test('ETA and fraction by the nearest limit, hand-computed', () => {
    const t = new ProgressTracker();
    const base = { epoch: 0, chars: 0 };
    t.update({ type: 'config', step: 0, time: 10, ...base, totalSteps: 100, budgetSeconds: 60 } as RunEvent);
    // 20 steps in 5 s: 80 more steps take 20 s, inside the 55 s left of the budget.
    let p = t.update({ type: 'step', step: 20, time: 15, ...base, loss: 2, smoothLoss: 2, lr: 1, gradNorm: 1, charsPerSecond: 1 });
    assert.equal(p.eta, 20);
    assert.equal(p.fraction, 0.2);
    // 30 steps in 50 s: 70 more would take ~117 s, but the budget has 10 s left.
    p = t.update({ type: 'step', step: 30, time: 60, ...base, loss: 2, smoothLoss: 2, lr: 1, gradNorm: 1, charsPerSecond: 1 });
    assert.equal(p.eta, 10);
    assert.ok(Math.abs(p.fraction - 50 / 60) < 1e-12);
  });
});

describe('log.jsonl', () => {
  test('a resumed run drops what was logged after its checkpoint and a line cut short, and continues the time', () => {
    const dir = mkdtempSync(join(tmpdir(), 'charrnn-log-'));
    try {
      const lines = [0, 10, 20, 30].map(step => JSON.stringify({ event: 'step', step, time: step / 10 }));
      writeFileSync(join(dir, 'log.jsonl'), lines.join('\n') + '\n{"event":"step","st');
      const log = new RunLogWriter(dir, 20);
      assert.equal(log.timeBefore, 2);
      assert.equal(readFileSync(join(dir, 'log.jsonl'), 'utf8').split('\n').length, 5, 'nothing is written before the first event');
      log.write({ type: 'note', step: 20, epoch: 0, chars: 0, time: 2.5, message: 'resumed' });
      assert.deepEqual(
        readFileSync(join(dir, 'log.jsonl'), 'utf8')
          .trimEnd()
          .split('\n')
          .map(l => (JSON.parse(l) as { step: number }).step),
        [0, 10, 20, 20],
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
