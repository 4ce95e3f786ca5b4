// The report layer without rendering: reading log.jsonl back, the loss plot's
// data and spec from synthetic events encoded by the real eventToJson, and the
// corpus report's figures against values counted by hand.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { RunEvent, StepEvent } from '../src/run/events.js';
import { corpusReport, countChars, readableChar, lengthHistogram, allLines, TINY_CHARS } from '../src/report/corpus-report.js';
import { jsonToEvent, parseRunLog, runHistory } from '../src/report/log.js';
import { lossPlotData, lossPlotSpec, SERIES } from '../src/report/loss-plot.js';
import { CONFIG, stepEvent, syntheticRun, toLog, trainingLoss, validationEvent } from './report-fixtures.js';

/** What eventToJson's 6 significant digits leave of a number. */
const six = (x: number): number => Number(x.toPrecision(6));

describe('log.jsonl', () => {
  test('reads back every event eventToJson wrote, keys in camelCase again', () => {
    const events = syntheticRun(120);
    const { events: read, skipped } = parseRunLog(toLog(events));
    assert.equal(skipped, 0);
    assert.deepEqual(
      read.map(e => e.type),
      events.map(e => e.type),
    );
    const step = read[7] as StepEvent;
    assert.equal(step.type, 'step');
    assert.equal(step.step, 7);
    assert.equal(step.loss, six(trainingLoss(7)));
    assert.equal(step.gradNorm, 1.5);
    const config = read[0];
    assert.ok(config.type === 'config');
    assert.deepEqual(config.model, CONFIG.model);
    assert.deepEqual(config.corpus, CONFIG.corpus);
    assert.equal(config.totalSteps, 500);
  });

  test('a last line cut short (kill -9 mid-write) is skipped and counted, the lines before it kept', () => {
    const log = toLog(syntheticRun(50));
    const cut = log.slice(0, log.length - 25); // inside the result event's line
    const { events, skipped } = parseRunLog(cut);
    assert.equal(skipped, 1);
    assert.equal(events.length, 1 + 50); // config and the 50 steps
    assert.equal(events[events.length - 1].type, 'step');
  });

  test("a cut line continued by a resumed run keeps the resumed run's event", () => {
    const first = toLog([CONFIG, stepEvent(1, 4, 4), stepEvent(2, 3.9, 3.99)]);
    const resumed = toLog([{ ...CONFIG, resumed: true, step: 1 }, stepEvent(2, 3.8, 3.98)]);
    const { events, skipped } = parseRunLog(first.slice(0, first.length - 10) + resumed);
    assert.equal(skipped, 0);
    assert.deepEqual(
      events.map(e => [e.type, e.step]),
      [
        ['config', 0],
        ['step', 1],
        ['config', 1],
        ['step', 2],
      ],
    );
  });

  test('garbage, non-events and blank lines are skipped; an unknown event type is passed over without complaint', () => {
    const text = [
      'not json',
      '[1,2,3]',
      '{"x":1}',
      '{"event":"step","step":"3","epoch":0,"chars":0,"time":0,"loss":1}',
      '',
      '   ',
      '{"event":"hologram","step":1,"epoch":0,"chars":0,"time":0}',
      '{"event":"step","step":4,"epoch":0.5,"chars":100,"time":1.5,"loss":null,"smooth_loss":null}',
    ].join('\n');
    const { events, skipped } = parseRunLog(text);
    assert.equal(skipped, 4);
    assert.equal(events.length, 1);
    assert.equal((events[0] as StepEvent).loss, null); // a NaN loss is written as null
    assert.equal(jsonToEvent({ event: 'hologram', step: 1, epoch: 0, chars: 0, time: 0 }), null);
    assert.equal(jsonToEvent({ event: 'validation', step: 1, epoch: 0, chars: 0, time: 0, loss: 1 }), undefined); // no `best`
  });

  test('a resumed run replaces the steps the killed run logged past its checkpoint', () => {
    const killed = [CONFIG, ...[1, 2, 3, 4, 5].map(s => stepEvent(s, 5 - s * 0.1, 5))];
    const resumed = [{ ...CONFIG, resumed: true, step: 3 }, stepEvent(4, 1, 1), stepEvent(5, 1, 1), stepEvent(6, 1, 1)];
    const history = runHistory([...killed, ...resumed]);
    assert.deepEqual(
      history.map(e => [e.type, e.step]),
      [
        ['config', 0],
        ['step', 1],
        ['step', 2],
        ['step', 3],
        ['config', 3],
        ['step', 4],
        ['step', 5],
        ['step', 6],
      ],
    );
    assert.equal((history[5] as StepEvent).loss, 1);
  });
});

describe('loss plot', () => {
  const events = parseRunLog(toLog(syntheticRun())).events;

  test('training points, validation points and the best one from the events', () => {
    const data = lossPlotData(events);
    assert.equal(data.training.length, 500);
    assert.deepEqual(data.training[99], {
      step: 100,
      loss: six(trainingLoss(100)),
      smoothLoss: (events.find(e => e.type === 'step' && e.step === 100) as StepEvent).smoothLoss,
    });
    assert.deepEqual(
      data.validation,
      [
        [100, 2.5],
        [200, 1.9],
        [300, 1.5],
        [400, 1.6],
        [500, 1.7],
      ].map(([step, loss]) => ({ step, loss })),
    );
    assert.deepEqual(data.best, { step: 300, loss: 1.5 });
    assert.equal(data.title, 'LSTM 2×128 on tiny.txt');
    assert.match(data.subtitle, /^best validation 1\.5000 nats\/char at step 300 · 500 steps, 13\.89 epochs, 25s$/);
  });

  test('the spec draws three series and circles and labels the best validation', () => {
    const spec = lossPlotSpec(lossPlotData(events)) as unknown as {
      layer: { mark: { type: string }; data: { values: Record<string, unknown>[] } }[];
    };
    const lines = spec.layer.filter(l => l.mark.type === 'line');
    assert.deepEqual(
      lines.map(l => l.data.values[0].series),
      [SERIES.raw, SERIES.smooth, SERIES.validation],
    );
    assert.deepEqual(
      lines.map(l => l.data.values.length),
      [500, 500, 5],
    );
    const circle = spec.layer.find(l => l.mark.type === 'point')!;
    assert.deepEqual(circle.data.values, [{ step: 300, loss: 1.5 }]);
    const label = spec.layer.find(l => l.mark.type === 'text')!;
    assert.equal(label.data.values[0].label, 'best validation 1.5000 at step 300');
    assert.equal(label.data.values[0].step, 300);
  });

  test('equal validation losses: the first is the best; NaN losses are left out', () => {
    const data = lossPlotData([
      CONFIG,
      stepEvent(1, NaN, NaN),
      stepEvent(2, 3, 3),
      validationEvent(2, 2, 2, 0),
      validationEvent(4, 2, 2, 1),
      { ...validationEvent(6, NaN, 2, 2) },
    ]);
    assert.deepEqual(data.best, { step: 2, loss: 2 });
    assert.equal(data.training.length, 1);
    assert.equal(data.validation.length, 2);
  });

  test('a long run is thinned to the point budget, keeping the first and last steps', () => {
    const steps: RunEvent[] = Array.from({ length: 4999 }, (_, i) => stepEvent(i + 1, 2, 2));
    const data = lossPlotData(steps, 1000);
    assert.ok(data.training.length <= 1001, `${data.training.length} points`);
    assert.ok(data.training.length >= 900);
    assert.equal(data.training[0].step, 1);
    assert.equal(data.training[data.training.length - 1].step, 4999);
    assert.equal(data.title, 'Training loss'); // no config event
    assert.match(data.subtitle, /^no validation yet/);
  });
});

describe('corpus report', () => {
  // Counted by hand: a,b,c,\n,a,b,\n,\n,a,BEL,\n: 11 characters; \n 4, a 3, b 2, BEL 1, c 1.
  const TEXT = 'abc\nab\n\na\u0007\n';

  test('characters, counts, lines and lengths of a small text', () => {
    const r = corpusReport(TEXT);
    assert.equal(r.chars, 11);
    assert.deepEqual(r.counts, [
      { char: '\n', count: 4 },
      { char: 'a', count: 3 },
      { char: 'b', count: 2 },
      { char: '\u0007', count: 1 },
      { char: 'c', count: 1 },
    ]);
    assert.deepEqual(
      { ...r.lines, histogram: undefined },
      { count: 4, empty: 1, min: 2, max: 3, mean: 7 / 3, median: 2, histogram: undefined },
    );
    assert.deepEqual(r.lines.histogram, [
      { from: 2, to: 3, count: 2, overflow: false },
      { from: 3, to: 4, count: 1, overflow: false },
    ]);
    assert.deepEqual(r.control, [{ char: '\u0007', count: 1 }]);
  });

  test('code points, not UTF-16 units; \\r\\n line ends; a last line without a break', () => {
    assert.deepEqual(countChars('🙂a🙂'), [
      { char: '🙂', count: 2 },
      { char: 'a', count: 1 },
    ]);
    assert.deepEqual(allLines('ab\r\ncd\r\nlast'), ['ab', 'cd', 'last']);
    assert.deepEqual(allLines('one\n'), ['one']);
    assert.equal(corpusReport('猫🙂\n').lines.max, 2);
  });

  test('warnings: a tiny text (with its threshold) and control characters, by name', () => {
    const r = corpusReport(TEXT);
    assert.equal(r.warnings.length, 2, r.warnings.join('\n'));
    assert.match(r.warnings[0], /^Tiny text: 11 characters \(under 100,000\)/);
    assert.match(r.warnings[1], /^Control characters: 1 \(bell U\+0007 ×1\)/);
    assert.deepEqual(corpusReport('the cat sat. '.repeat(TINY_CHARS / 10)).warnings, []);
  });

  test('a vocabulary in the thousands', () => {
    const text = Array.from({ length: 1200 }, (_, i) => String.fromCodePoint(0x4e00 + i))
      .join('')
      .repeat(100);
    const r = corpusReport(text);
    assert.equal(r.counts.length, 1200);
    assert.ok(
      r.warnings.some(w => w.startsWith('Large vocabulary: 1,200 distinct characters')),
      r.warnings.join('\n'),
    );
  });

  test('a validation tail of characters the rest lacks: unseen share and KL by hand', () => {
    const r = corpusReport('aaaabbbb', { valFraction: 0.5 });
    assert.equal(r.split?.heldOutChars, 4);
    assert.equal(r.split?.unseenShare, 1);
    assert.deepEqual(r.split?.unseen, [{ char: 'b', count: 4 }]);
    // Add-half smoothing over 2 characters: q(b) = 0.5 / (4 + 1), KL = 1 * ln(1 / 0.1).
    assert.ok(Math.abs(r.split!.klNats - Math.log(10)) < 1e-12, `${r.split!.klNats}`);
    // Four held-out characters are too few to warn about; a thousand are not.
    assert.ok(!r.warnings.some(w => w.startsWith('Validation')));
    const big = corpusReport('a'.repeat(9000) + 'b'.repeat(1000));
    assert.ok(
      big.warnings.some(w =>
        /^Validation split unlike the rest: in the last 10% of the text.*100\.00% of the characters never occur earlier \('b'\)/.test(w),
      ),
      big.warnings.join('\n'),
    );
    // A homogeneous text gives no such warning.
    assert.ok(!corpusReport('abab'.repeat(1000)).warnings.some(w => w.startsWith('Validation')));
  });

  test('--lines: a list whose last lines are longer is called sorted', () => {
    const r = corpusReport('ab\n'.repeat(900) + 'abababababab\n'.repeat(100), { lines: true });
    assert.deepEqual(r.split?.meanLineLength, { rest: 2, heldOut: 12 });
    assert.equal(r.warnings.length, 1, r.warnings.join('\n'));
    assert.match(
      r.warnings[0],
      /^Sorted list: in the last 10% of the lines, .*the lines are longer \(mean 12\.0 against 2\.0 characters\)/,
    );
    assert.match(corpusReport('ab\n'.repeat(10), { lines: true }).warnings[0], /^Tiny list: 10 non-empty lines \(under 1,000\)/);
  });

  test('histogram: round bins up to the 99th percentile, the far tail in the last bar', () => {
    // Lengths 100..299 and one of 10,000: p99 = sorted[198] = 298, bins of 10 from 100 to 300.
    const lengths = [...Array.from({ length: 200 }, (_, i) => 100 + i), 10_000];
    const bins = lengthHistogram(lengths);
    assert.equal(bins.length, 20);
    assert.deepEqual(bins[0], { from: 100, to: 110, count: 10, overflow: false });
    assert.deepEqual(bins[19], { from: 290, to: 300, count: 11, overflow: true });
    assert.equal(
      bins.reduce((s, b) => s + b.count, 0),
      201,
    );
  });

  test('characters described for people', () => {
    assert.equal(readableChar(' '), 'space');
    assert.equal(readableChar('\n'), '\\n (line break)');
    assert.equal(readableChar('\u0007'), 'bell U+0007');
    assert.equal(readableChar('\u0001'), 'U+0001');
    assert.equal(readableChar('\u0301'), 'U+0301');
    assert.equal(readableChar('é'), "'é'");
  });
});
