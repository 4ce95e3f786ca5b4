// A time budget holds whatever a validation costs: on a fake clock where a
// step takes 100 ms and every validated character a fixed time (a large
// vocabulary's output layer, say), the run stops taking steps early enough for
// the closing validation, or cuts that validation short, and ends within the
// budget. Before the fix, the closing validation was guessed at a third of a
// step per character and the run overran by the validation's whole cost.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { referenceKernels } from '../src/kernels/reference/index.js';
import type { NoteEvent, RunEvent, ValidationEvent } from '../src/run/events.js';
import { withLines } from '../src/run/line-mode.js';
import { TrainingRun } from '../src/run/training-run.js';
import { DEFAULT_SETTINGS, type RunSettings, type StopLimits } from '../src/run/settings.js';
import type { TrainingData } from '../src/run/training-data.js';
import type { PassSums } from '../src/run/validate.js';
import { corpusOf, memoryStore, TINY_RUN } from './run-helpers.js';

/** Seq 8: the step counts the tests expect were worked out for chunks of 8 characters. */
const TINY = { ...TINY_RUN, seq: 8 };
const TEXT = 'the quick brown fox jumps over the lazy dog.\n'.repeat(60); // 2,700 characters: 270 held out
/** 120 lines of 5 to 9 characters: 24 held out. */
const LINES = Array.from({ length: 120 }, (_, i) => `line ${i}`).join('\n') + '\n';
const STEP_MS = 100;

/**
 * A run on a clock that only its work moves: STEP_MS per training step and
 * `charMs(validated so far)` per validated character; saves take no time.
 */
function clockedRun(settings: Partial<RunSettings>, limits: StopLimits, charMs: (validatedBefore: number) => number) {
  let clock = 0;
  let validated = 0;
  const s = { ...DEFAULT_SETTINGS, ...TINY, ...settings };
  const run = new TrainingRun({
    corpus: withLines(corpusOf(s.lines ? LINES : TEXT), s),
    settings: s,
    limits,
    kernels: referenceKernels('f32'),
    store: memoryStore(),
    startedAt: 0,
    now: () => clock,
  });
  const step = run.trainer.step.bind(run.trainer);
  run.trainer.step = () => {
    clock += STEP_MS;
    return step();
  };
  const data = (run as unknown as { data: TrainingData }).data;
  const pass = data.validationPass.bind(data);
  data.validationPass = model =>
    (function* (): Generator<PassSums> {
      let before = 0;
      for (const sums of pass(model)) {
        clock += (sums.count - before) * charMs(validated);
        validated += sums.count - before;
        before = sums.count;
        yield sums;
      }
    })();
  const events: RunEvent[] = [];
  run.on(e => events.push(e));
  return { run, events, clock: () => clock };
}

describe('a time budget with an expensive validation', () => {
  test("a validation of 10 ms a character (2.7 s, 27 steps' worth): the run stops stepping in time and ends within the budget", async () => {
    const { run, events, clock } = clockedRun({}, { seconds: 8 }, () => 10);
    const result = await run.train();
    assert.equal(result.reason, 'limit');
    assert.ok(clock() <= 8000, `ended at ${clock()} ms for an 8 s budget`);
    assert.ok(result.time <= 8);
    // The closing validation ran whole, on the last step, and steps filled the rest of the budget.
    const validations = events.filter((e): e is ValidationEvent => e.type === 'validation');
    assert.deepEqual(
      validations.map(v => v.step),
      [result.step],
    );
    assert.equal(events.filter(e => e.type === 'note').length, 0, 'nothing was cut short');
    assert.ok(result.stepsThisRun >= 30, `${result.stepsThisRun} steps`);
  });

  test('a validation that gets slower than measured is cut short at the budget, and says so', async () => {
    // Cheap for the probe (1 ms a character), then 10 ms: the closing validation takes 2.7 s, not the 0.27 s measured.
    const { run, events, clock } = clockedRun({}, { seconds: 8 }, validated => (validated < 100 ? 1 : 10));
    const result = await run.train();
    assert.ok(clock() <= 8000, `ended at ${clock()} ms for an 8 s budget`);
    const validation = events.find((e): e is ValidationEvent => e.type === 'validation');
    assert.ok(validation, 'the closing validation reported on what it scored');
    assert.equal(validation.step, result.step);
    const notes = events.filter((e): e is NoteEvent => e.type === 'note').map(e => e.message);
    assert.equal(notes.length, 1);
    assert.match(
      notes[0],
      /^the closing validation scored \d+ of the 270 held-out characters: the 8-second budget left no time for the rest$/,
    );
  });

  test('line mode: the same budget holds, whole or cut short', async () => {
    for (const charMs of [() => 10, (validated: number) => (validated < 100 ? 1 : 10)]) {
      const { run, events, clock } = clockedRun({ lines: true, seq: 50 }, { seconds: 8 }, charMs);
      const result = await run.train();
      assert.ok(clock() <= 8000, `ended at ${clock()} ms for an 8 s budget`);
      assert.equal(events.filter(e => e.type === 'validation').at(-1)?.step, result.step);
    }
  });
});
