// A schedule that follows the deadline: the re-plan as a pure function (rates
// by hand), and runs on a clock that is a function of the steps done, so a
// machine that slows down or speeds up mid-run is the same machine every time:
// the last step runs at lrMin where the fixed plan leaves the rate high (or
// sits at lrMin for half the run), and a run stopped after a re-plan resumes to
// the same rates and bytes as one that never stopped.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CharrnnError } from '../src/errors.js';
import { referenceKernels } from '../src/kernels/reference/index.js';
import { MIN_CHANGE, replanEvery, replanForDeadline, REPLAN_TOLERANCE } from '../src/run/deadline.js';
import type { NoteEvent, RunEvent, StepEvent } from '../src/run/events.js';
import { TrainingRun } from '../src/run/training-run.js';
import { DEFAULT_SETTINGS, resumedSettings, type RunSettings, type StopLimits } from '../src/run/settings.js';
import { decodeCheckpoint } from '../src/train/checkpoint.js';
import {
  checkSchedule,
  cosinePhase,
  learningRateAt,
  plannedEnd,
  replanSchedule,
  type LearningRateSchedule,
} from '../src/train/schedule.js';
import { corpusOf, memoryStore, TINY_RUN } from './run-helpers.js';

const COSINE: LearningRateSchedule = { lr: 1e-2, name: 'cosine', warmup: 4, decay: 1, decayEvery: 0, lrMin: 1e-3, totalSteps: 100 };
/** The plain cosine's rate at update `done`, written out from its definition. */
const plain = (done: number): number => 1e-3 + ((1e-2 - 1e-3) * (1 + Math.cos((Math.PI * (done - 4)) / 96))) / 2;
/** The rate at a phase of the cosine. */
const atPhase = (phase: number): number => 1e-3 + ((1e-2 - 1e-3) * (1 + Math.cos(phase))) / 2;

describe('re-planning the cosine (pure functions)', () => {
  test('a re-plan keeps every rate up to and at its step, then goes linearly in phase to lrMin at the new end', () => {
    const s = replanSchedule(COSINE, 40, 70);
    checkSchedule(s);
    assert.deepEqual(s.replans, [{ at: 40, totalSteps: 70 }]);
    for (let done = 0; done <= 40; done++) assert.equal(learningRateAt(s, done), learningRateAt(COSINE, done), `step ${done}`);
    const phase40 = (Math.PI * 36) / 96;
    assert.equal(cosinePhase(s, 40), phase40);
    // Halfway from step 40 to 70 the phase is halfway from phase40 to pi.
    assert.ok(Math.abs(learningRateAt(s, 55) - atPhase((phase40 + Math.PI) / 2)) < 1e-15);
    assert.ok(Math.abs(learningRateAt(s, 41) - atPhase(phase40 + (Math.PI - phase40) / 30)) < 1e-15);
    assert.ok(learningRateAt(s, 69) > 1e-3);
    assert.equal(learningRateAt(s, 70), 1e-3);
    assert.equal(learningRateAt(s, 500), 1e-3);
    // Faster than the plain cosine from step 40 on (the end came closer), and never rising.
    for (let done = 41; done < 70; done++) {
      assert.ok(learningRateAt(s, done) < plain(done), `step ${done}`);
      assert.ok(learningRateAt(s, done) < learningRateAt(s, done - 1), `step ${done}`);
    }
  });

  test('re-plans chain: each starts where the last left the phase; one at the same step replaces it; warm-up is untouched', () => {
    const once = replanSchedule(COSINE, 40, 70);
    const twice = replanSchedule(once, 50, 130);
    assert.equal(plannedEnd(twice), 130);
    for (let done = 0; done <= 50; done++) assert.equal(learningRateAt(twice, done), learningRateAt(once, done), `step ${done}`);
    assert.equal(learningRateAt(twice, 130), 1e-3);
    assert.ok(learningRateAt(twice, 129) > 1e-3);
    // The second segment's pace, by hand: from the first's phase at 50 to pi over 80 steps.
    const phase50 = cosinePhase(once, 50);
    assert.ok(Math.abs(cosinePhase(twice, 90) - (phase50 + ((Math.PI - phase50) * 40) / 80)) < 1e-15);
    assert.deepEqual(replanSchedule(twice, 50, 90).replans, [
      { at: 40, totalSteps: 70 },
      { at: 50, totalSteps: 90 },
    ]);
    // A re-plan during warm-up starts at the cosine's start, with the warm-up's rates as they were.
    const early = replanSchedule(COSINE, 2, 60);
    assert.deepEqual(early.replans, [{ at: 4, totalSteps: 60 }]);
    for (let done = 0; done <= 4; done++) assert.equal(learningRateAt(early, done), learningRateAt(COSINE, done));
    assert.equal(learningRateAt(early, 60), 1e-3);
    assert.throws(() => replanSchedule(twice, 45, 90), /after one at a later update/);
    assert.throws(
      () =>
        checkSchedule({
          ...COSINE,
          replans: [
            { at: 50, totalSteps: 90 },
            { at: 40, totalSteps: 70 },
          ],
        }),
      CharrnnError,
    );
    assert.throws(() => checkSchedule({ ...COSINE, replans: [{ at: 2, totalSteps: 90 }] }), /from the end of warm-up/);
    assert.throws(() => checkSchedule({ ...COSINE, replans: [{ at: 50, totalSteps: 50 }] }), /each ending after it starts/);
  });

  test('without re-plans the rate is the plain cosine, bit for bit', () => {
    for (let done = 0; done < 120; done++) {
      assert.equal(learningRateAt({ ...COSINE, replans: [] }, done), learningRateAt(COSINE, done));
      if (done >= 4 && done < 100) assert.ok(Math.abs(learningRateAt(COSINE, done) - plain(done)) < 1e-18);
    }
  });

  test('replanForDeadline: slower, the end comes closer; faster, it goes further; the last update that fits runs at lrMin', () => {
    // At update 40, 10 s left at 0.5 s per step: updates 40..59 fit.
    const slower = replanForDeadline(COSINE, 40, 10, 0.5)!;
    assert.equal(plannedEnd(slower), 59);
    assert.equal(learningRateAt(slower, 40), learningRateAt(COSINE, 40));
    assert.equal(learningRateAt(slower, 59), 1e-3);
    assert.ok(learningRateAt(slower, 58) > 1e-3);
    // 60 s left at 0.5 s: updates 40..159.
    const faster = replanForDeadline(COSINE, 40, 60, 0.5)!;
    assert.equal(plannedEnd(faster), 159);
    assert.equal(learningRateAt(faster, 40), learningRateAt(COSINE, 40));
    assert.ok(learningRateAt(faster, 100) > 1e-3, 'no longer at lrMin at the old end');
    assert.equal(learningRateAt(faster, 159), 1e-3);
    // Less time than a step: the next step is the last, at lrMin.
    assert.equal(plannedEnd(replanForDeadline(COSINE, 40, 0.1, 0.5)!), 41);
  });

  test('replanForDeadline: within the tolerance, at the end already, or not a cosine, the plan stands', () => {
    assert.deepEqual([REPLAN_TOLERANCE, MIN_CHANGE], [0.05, 0.01]);
    // 60 steps left of the plan (40..100); 5% of them is 3: an end at 102 or 97 stands, 104 or 96 re-plans.
    assert.equal(replanForDeadline(COSINE, 40, 63 * 0.5, 0.5), null); // updates 40..102
    assert.equal(replanForDeadline(COSINE, 40, 58 * 0.5, 0.5), null); // 40..97
    assert.equal(plannedEnd(replanForDeadline(COSINE, 40, 65 * 0.5, 0.5)!), 104);
    assert.equal(plannedEnd(replanForDeadline(COSINE, 40, 57 * 0.5, 0.5)!), 96);
    // Near the end, 1% of the whole plan: 10 steps left of 1,000, an end 10 steps later stands, 11 re-plans.
    const long = { ...COSINE, warmup: 0, totalSteps: 1000 };
    assert.equal(replanForDeadline(long, 990, 21 * 0.5, 0.5), null); // updates 990..1010
    assert.equal(plannedEnd(replanForDeadline(long, 990, 22 * 0.5, 0.5)!), 1011);
    assert.equal(replanForDeadline(COSINE, 100, 50, 0.5), null, 'at lrMin already: it stays there');
    assert.equal(replanForDeadline({ ...COSINE, name: 'step' }, 40, 10, 0.5), null);
    assert.equal(replanForDeadline(COSINE, 40, 10, 0), null, 'no speed measured');
  });

  test('checks come at the validation points, or every twentieth of the plan without them', () => {
    assert.equal(replanEvery(180, 3410), 180);
    assert.equal(replanEvery(0, 3410), 171);
    assert.equal(replanEvery(0, 100), 25);
  });
});

// ---- Runs on a clock that is a function of the steps done ----

/**
 * Validating every default valEvery steps unless a run says otherwise (the
 * re-plan's checks come at the validation points), and seq 8: the notes' chars/s
 * below are 4 x 8 characters a step.
 */
const TINY: Partial<RunSettings> = { ...TINY_RUN, valEvery: DEFAULT_SETTINGS.valEvery, seq: 8 };
const TEXT = 'the quick brown fox jumps over the lazy dog.\n'.repeat(60);
const LR = 0.01;
const LR_MIN = 0.001;
const SCHEDULE: Partial<RunSettings> = { lr: LR, lrMin: LR_MIN, lrSchedule: 'cosine', warmup: 4, valEvery: 5 };

/**
 * A run whose clock reads `elapsed(steps done)` milliseconds: steps take what
 * `stepMs` says, validations and saves take no time. The budget starts at 0.
 */
function clockedRun(
  settings: Partial<RunSettings>,
  limits: StopLimits,
  stepMs: (step: number) => number,
  o: { store?: ReturnType<typeof memoryStore>; checkpoint?: Uint8Array } = {},
) {
  const store = o.store ?? memoryStore();
  const checkpoint = o.checkpoint ? decodeCheckpoint(o.checkpoint, 'checkpoint') : null;
  const full: RunSettings = checkpoint
    ? resumedSettings(checkpoint.run.settings as Partial<RunSettings>, {})
    : { ...DEFAULT_SETTINGS, ...TINY, ...settings };
  let run: TrainingRun | null = null;
  const elapsed = (steps: number): number => {
    let ms = 0;
    for (let k = 1; k <= steps; k++) ms += stepMs(k);
    return ms;
  };
  run = new TrainingRun({
    corpus: corpusOf(TEXT),
    settings: full,
    limits,
    kernels: referenceKernels('f32'),
    store,
    checkpoint,
    startedAt: 0,
    now: () => elapsed(run?.trainer.steps ?? checkpoint?.steps ?? 0),
  });
  const events: RunEvent[] = [];
  run.on(e => events.push(e));
  const rates = (): number[] => events.filter((e): e is StepEvent => e.type === 'step').map(e => e.lr);
  const notes = (): string[] => events.filter((e): e is NoteEvent => e.type === 'note').map(e => e.message);
  return { run, events, store, rates, notes };
}

/** 100 ms a step for 15 steps, then 250 ms: a machine that got busy. */
const slowsDown = (k: number): number => (k <= 15 ? 100 : 250);
/**
 * The budget: planned at 100 ms a step, 60 steps and the 0.5 s margin fit. Slowed
 * down, 15 steps (1.5 s) + 17 at 250 ms leave the margin: 33 steps, updates 0..32.
 */
const BUDGET = { seconds: 6.5 };

describe('a time-budgeted run follows its deadline', () => {
  test('slowing down: the fixed plan ends mid-cosine; the deadline plan re-plans once and ends at lrMin', async () => {
    const fixed = clockedRun({ ...SCHEDULE, scheduleSteps: 60, scheduleEnd: 'steps' }, BUDGET, slowsDown);
    const deadline = clockedRun({ ...SCHEDULE, scheduleSteps: 60, scheduleEnd: 'deadline' }, BUDGET, slowsDown);
    await fixed.run.train();
    await deadline.run.train();
    const [a, b] = [fixed.rates(), deadline.rates()];
    assert.equal(a.length, 33);
    assert.equal(b.length, 33);
    // The fixed plan is the plain cosine over 60 steps, and its last step is halfway down it.
    const plainCosine: LearningRateSchedule = { lr: LR, name: 'cosine', warmup: 4, decay: 1, decayEvery: 0, lrMin: LR_MIN, totalSteps: 60 };
    a.forEach((lr, done) => assert.equal(lr, learningRateAt(plainCosine, done), `step ${done + 1}`));
    assert.ok(a[32] > LR_MIN + 0.45 * (LR - LR_MIN), `the fixed plan's last rate ${a[32]}`);
    assert.equal(fixed.notes().length, 0);
    assert.deepEqual(fixed.run.settings.scheduleReplans, []);
    // The checks at steps 5, 10 and 15 measured 100 ms a step: on plan. Step 20's window measured 250 ms:
    // 6.5 - 2.75 - 0.5 = 3.25 s left, 13 steps, updates 20..32. Steps 25 and 30 find it on plan.
    assert.deepEqual(deadline.run.settings.scheduleReplans, [{ at: 20, totalSteps: 32 }]);
    assert.deepEqual(deadline.notes(), [
      'the learning rate now reaches 0.001 at step 32, not 60: 0.250 s per step over the last 5 (128 chars/s), 3 s left to train',
    ]);
    for (let done = 0; done <= 20; done++) assert.equal(b[done], a[done], `step ${done + 1}: the same rate until the re-plan, and at it`);
    assert.equal(b[32], LR_MIN, 'the last step runs at lrMin');
    for (let done = 21; done < 33; done++) assert.ok(b[done] < b[done - 1]);
  });

  test('speeding up: the fixed plan sits at lrMin for half the run; the deadline plan stretches to the last step', async () => {
    // Planned at 200 ms a step (30 steps); the machine does 100 ms: 60 steps fit, updates 0..59.
    const fixed = clockedRun({ ...SCHEDULE, scheduleSteps: 30, scheduleEnd: 'steps' }, BUDGET, () => 100);
    const deadline = clockedRun({ ...SCHEDULE, scheduleSteps: 30, scheduleEnd: 'deadline' }, BUDGET, () => 100);
    await fixed.run.train();
    await deadline.run.train();
    const [a, b] = [fixed.rates(), deadline.rates()];
    assert.equal(a.length, 60);
    assert.equal(b.length, 60);
    assert.equal(a.filter(lr => lr === LR_MIN).length, 30, 'updates 30..59 at lrMin');
    // The first check (step 5): 6.5 - 0.5 - 0.5 = 5.5 s left, 55 steps, updates 5..59.
    assert.deepEqual(deadline.run.settings.scheduleReplans, [{ at: 5, totalSteps: 59 }]);
    assert.equal(b.filter(lr => lr === LR_MIN).length, 1, 'only the last update at lrMin');
    assert.equal(b[59], LR_MIN);
    assert.ok(b[45] > LR_MIN + 0.1 * (LR - LR_MIN));
  });

  test('stopped after a re-plan and resumed on the same clock: the same rates and bytes as a run that never stopped', async () => {
    const settings = { ...SCHEDULE, scheduleSteps: 60, scheduleEnd: 'deadline' as const, dropout: 0.1, ema: 0.9 };
    const straight = clockedRun(settings, BUDGET, slowsDown);
    await straight.run.train();
    assert.deepEqual(straight.run.settings.scheduleReplans, [{ at: 20, totalSteps: 32 }]);

    const first = clockedRun(settings, BUDGET, slowsDown);
    // Stopped once step 20's validation is done (a stop request during a validation abandons it).
    first.run.on(e => {
      if (e.type === 'validation' && e.step === 20) first.run.requestStop('test');
    });
    const stopped = await first.run.train();
    assert.equal(stopped.step, 20);
    const resumed = clockedRun({}, BUDGET, slowsDown, { store: first.store, checkpoint: first.store.files.get('checkpoint') });
    assert.deepEqual(resumed.run.settings.scheduleReplans, [{ at: 20, totalSteps: 32 }], 'the re-plan is in the checkpoint');
    await resumed.run.train();
    assert.deepEqual([...first.rates(), ...resumed.rates()], straight.rates());
    assert.deepEqual(resumed.run.settings.scheduleReplans, straight.run.settings.scheduleReplans);
    for (const file of ['model', 'best', 'checkpoint'] as const) {
      assert.deepEqual(first.store.files.get(file), straight.store.files.get(file), `${file}.safetensors differs`);
    }
  });

  test('without a time budget, or with --schedule-end steps, nothing is re-planned; a deadline without a budget or a cosine is one sentence', async () => {
    const steps = clockedRun({ ...SCHEDULE, scheduleSteps: 60, scheduleEnd: 'steps' }, { steps: 33, ...BUDGET }, slowsDown);
    await steps.run.train();
    assert.deepEqual(steps.run.settings.scheduleReplans, []);
    assert.throws(
      () => clockedRun({ ...SCHEDULE, scheduleSteps: 60, scheduleEnd: 'deadline' }, { steps: 30 }, slowsDown),
      (e: unknown) =>
        e instanceof CharrnnError &&
        e.message === 'scheduleEnd deadline ends the schedule when the time budget does; give seconds, or leave scheduleEnd out.',
    );
    assert.throws(
      () => clockedRun({ ...SCHEDULE, lrSchedule: 'step', scheduleEnd: 'deadline' }, BUDGET, slowsDown),
      (e: unknown) =>
        e instanceof CharrnnError &&
        e.message === 'scheduleEnd deadline re-plans a cosine schedule, not step; give lrSchedule cosine or leave scheduleEnd out.',
    );
  });
});
