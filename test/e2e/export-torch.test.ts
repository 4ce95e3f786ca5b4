// charrnn export-torch end to end with PyTorch: a charrnn run continued by the
// exported program (alone, and under torchrun with 2 gloo processes through the
// run.sh export-torch writes), checked against charrnn continuing the same
// checkpoint, and brought back to charrnn. Needs Debian's python3-torch (CI
// installs it); without it the tests are skipped with the reason printed.
// Models are tiny (1x32, B=4, T=8).
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { referenceKernels } from '../../src/kernels/reference/index.js';
import { decodeModel } from '../../src/model/model-file.js';
import { modelOrigin } from '../../src/model/origin.js';
import { decodeSafetensors, encodeSafetensors } from '../../src/model/safetensors.js';
import { DEFAULT_SETTINGS } from '../../src/run/settings.js';
import { decodeCheckpoint } from '../../src/train/checkpoint.js';
import { learningRateAt } from '../../src/train/schedule.js';
import { prepareTraining } from '../../src/run/training-run.js';
import { withLines } from '../../src/run/line-mode.js';
import type { RunSettings } from '../../src/run/settings.js';
import {
  assertOneSentence,
  ENV,
  events,
  LINE_FLAGS,
  ok,
  PYTHON,
  stepLosses,
  TINY,
  withSettings,
  workspace,
  type Event,
} from '../export-torch-helpers.js';

/** Why the PyTorch tests cannot run here, or null when they can. */
function torchMissing(): string | null {
  const r = spawnSync(PYTHON, ['-c', 'import torch, numpy, torch.distributed.run'], { encoding: 'utf8' });
  if (r.error) return `${PYTHON} cannot be run (${r.error.message}); set CHARRNN_PYTHON or apt-get install -y python3-torch`;
  return r.status === 0
    ? null
    : `PyTorch is not installed for ${PYTHON} (apt-get install -y python3-torch libopenblas0-pthread, or set CHARRNN_PYTHON)`;
}
const MISSING = torchMissing();
/** Whether this charrnn has the training techniques (--warmup, --lr-schedule, --weight-decay, --ema, --emb-dropout). */
const TECHNIQUES = 'ema' in DEFAULT_SETTINGS;
if (MISSING) console.log(`# skipping the PyTorch tests of export-torch: ${MISSING}`);

const { at, run, cli } = workspace();
/** The exported program alone: one process. */
const torch = (folder: string, args: string[]): SpawnSyncReturns<string> => run(PYTHON, [join(folder, 'train_torch.py'), ...args]);
/**
 * The exported program under torchrun, through the run.sh beside it, with this
 * test's python3 (the agent polls its processes every half second, not every 5).
 */
const torchrun = (n: number, folder: string, args: string[]): SpawnSyncReturns<string> =>
  run('/bin/sh', [join(folder, 'run.sh'), String(n), ...args], {
    ...ENV,
    CHARRNN_PYTHON: PYTHON,
    CHARRNN_TORCHRUN_OPTIONS: '--monitor_interval 0.5',
  });

/**
 * A log written by charrnn (from step 0), PyTorch under 2 gloo processes (from 10)
 * and charrnn again (from 20) is the log of the run that never left charrnn: the
 * same events at the same steps, nothing repeated or missing, time going on, the
 * same corpus, and the same curve (float32 sums in another order: within 1e-4).
 */
function assertOneRunLog(trip: Event[], straight: Event[]): void {
  const opened = trip.filter(e => e.event === 'config');
  assert.deepEqual(
    opened.map(e => [e.step, e.resumed]),
    [
      [0, false],
      [10, true],
      [20, true],
    ],
  );
  assert.match(String(opened[1].backend), /^pytorch .*, 2 processes, gloo, cpu$/);
  assert.deepEqual(opened[1].corpus, opened[0].corpus, 'the same text, held out alike');
  const shape = (log: Event[]): string[] =>
    log.filter(e => !['config', 'stopped', 'result'].includes(e.event)).map(e => `${e.event}@${e.step}`);
  assert.deepEqual(shape(trip), shape(straight));
  const times = trip.map(e => e.time as number);
  assert.deepEqual(
    times,
    [...times].sort((x, y) => x - y),
    'time goes on across the hand-overs',
  );
  const steps = straight.filter(e => e.event === 'step' || e.event === 'validation');
  const same = trip.filter(e => e.event === 'step' || e.event === 'validation');
  assert.equal(same.length, steps.length);
  for (const [i, e] of steps.entries()) {
    assert.equal(same[i].chars, e.chars, `chars at step ${e.step}`);
    for (const k of ['loss', 'smooth_loss', 'lr', 'epoch']) {
      if (k in e)
        assert.ok(
          Math.abs((same[i][k] as number) - (e[k] as number)) <= 1e-4,
          `${e.event} ${k} at step ${e.step}: ${same[i][k]} vs ${e[k]}`,
        );
    }
  }
}

const sha256Of = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex');

/** Largest |a - b| over a tensor, relative to the largest |b| of that tensor. */
function tensorError(a: Float32Array, b: Float32Array): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return scale > 0 ? diff / scale : diff;
}

/** The moving average of the weights a trainer keeps when the run has one (charrnn's --ema). */
type Averaged = { average?: { values: Float32Array; swap(): void } | null };

/**
 * charrnn itself continuing a checkpoint for `steps` steps on the reference
 * backend, built from the checkpoint's settings as charrnn train --resume builds
 * it: its exact losses, raw weights and the weights it evaluates (the moving
 * average when it keeps one).
 */
function charrnnContinues(
  runDir: string,
  corpus: string,
  steps: number,
): {
  losses: number[];
  weights: Map<string, Float32Array>;
  evaluated: Map<string, Float32Array>;
  average: Float32Array | null;
  pos: number;
} {
  const ckpt = decodeCheckpoint(readFileSync(join(runDir, 'checkpoint.safetensors')), 'checkpoint');
  const settings = { ...DEFAULT_SETTINGS, ...ckpt.run.settings } as RunSettings;
  // A line run's vocabulary is its lines' characters and the end-of-line: every character of a list's text.
  // The same file the run read, so it carries the fingerprint readCorpus gave it (prepareTraining refuses another text).
  const text = withLines(
    { ids: ckpt.vocab.encode(corpus).ids, vocab: ckpt.vocab, source: 'corpus.txt', hash: ckpt.run.textHash },
    settings,
  );
  const { model, trainer } = prepareTraining(text, settings, referenceKernels(), ckpt);
  const losses = Array.from({ length: steps }, () => trainer.step().loss);
  const copy = (): Map<string, Float32Array> => new Map(model.params.specs.map(p => [p.name, Float32Array.from(model.params.get(p.name))]));
  const weights = copy();
  const { average } = trainer as unknown as Averaged;
  average?.swap();
  const evaluated = copy();
  average?.swap();
  return { losses, weights, evaluated, average: average ? Float32Array.from(average.values) : null, pos: trainer.batcher.getState().pos };
}

/** A deadline schedule's saved re-plans (src/run/deadline.ts), on a short cosine with warm-up. */
const REPLANNED = {
  flags: ['--cell', 'lstm', '--warmup', '2', '--lr-schedule', 'cosine', '--schedule-steps', '40', '--lr-min', '1e-4'],
  settings: {
    scheduleEnd: 'deadline',
    scheduleReplans: [
      { at: 6, totalSteps: 30 },
      { at: 15, totalSteps: 24 },
    ],
  },
};

describe('export-torch: PyTorch continues the run', { skip: MISSING ?? false }, () => {
  const STEPS = 20;
  // Each configuration exercises the clip (active at 0.05), a learning-rate decay boundary, a stream wrap
  // (600 characters: 16 chunks per epoch) and the optimizer's moments moving across.
  const configs: {
    name: string;
    flags: string[];
    skip?: string | false;
    corpus?: string;
    settings?: Record<string, unknown>;
    /** Runs before the run is trained (a fine-tune's starting model). */
    setup?: () => void;
    /** Checks the run's files once PyTorch has saved them. */
    check?: (runDir: string) => void;
  }[] = [
    {
      name: 'lstm-adam',
      flags: ['--cell', 'lstm', '--optimizer', 'adam', '--clip', '0.05', '--lr-decay', '0.5', '--lr-decay-every', '15'],
    },
    {
      name: 'gru-rmsprop',
      flags: ['--cell', 'gru', '--optimizer', 'rmsprop', '--lr', '1e-3', '--lr-decay', '0.9', '--lr-decay-every', '7'],
    },
    { name: 'rnn-sgd', flags: ['--cell', 'rnn', '--optimizer', 'sgd', '--lr', '0.05'] },
    // The training techniques: warm-up ending inside the 20 steps, then a cosine that ends (and holds) inside them too,
    // AdamW on the weight matrices, and the moving average that validation and the saved models use (dropout off).
    {
      name: 'lstm-techniques',
      flags: [
        '--cell',
        'lstm',
        '--clip',
        '0.05',
        '--warmup',
        '12',
        '--lr-schedule',
        'cosine',
        '--schedule-steps',
        '26',
        '--lr-min',
        '1e-4',
        '--weight-decay',
        '0.1',
        '--ema',
        '0.9',
      ],
      skip: TECHNIQUES ? false : 'this charrnn has no training techniques yet (--warmup, --lr-schedule, --weight-decay, --ema)',
    },
    // Spread validation: 40,000 characters hold out 4 windows of 1,000, of which --val-max-chars keeps 2 (the 1st and 3rd).
    {
      name: 'lstm-spread',
      flags: ['--cell', 'lstm', '--val-split', 'spread', '--val-max-chars', '2500'],
      corpus: 'long.txt',
      skip: TECHNIQUES ? false : 'this charrnn has no --val-split yet',
    },
    // Line mode: 21 training lines, 6 batches a pass (so the 20 steps cross three passes, each in its own seeded
    // order), the first batch a single line and padding; the 2 held-out lines validate.
    { name: 'lstm-lines', flags: ['--lines', ...LINE_FLAGS], corpus: 'names.txt' },
    // A cosine re-planned to its deadline (--schedule-end deadline): the checkpoint at step 10 records a re-plan made
    // before it and one the continuation meets at step 15, which ends (and holds lrMin) at step 24, inside the 20 steps.
    {
      ...REPLANNED,
      name: 'lstm-replanned',
      skip: 'scheduleReplans' in DEFAULT_SETTINGS ? false : 'this charrnn does not re-plan schedules yet',
    },
    // A fine-tuning run: its weights started from a model of the names (capitals and no spaces), so its vocabulary is
    // the model's characters and then the text's others, and every file it saves records the model it started from.
    {
      name: 'lstm-fine-tune',
      flags: ['--cell', 'lstm', '--from', 'fine-tune-base/model.safetensors'],
      setup: () => ok(cli(['train', 'names.txt', ...TINY, '--steps', '6', '--out', 'fine-tune-base']), 'the starting model'),
      check: runDir => {
        const origin = { name: 'fine-tune-base/model.safetensors', sha256: sha256Of(at('fine-tune-base', 'model.safetensors')) };
        assert.deepEqual(modelOrigin(decodeModel(readFileSync(join(runDir, 'model.safetensors')), 'model').metadata), origin);
        assert.deepEqual(modelOrigin(decodeModel(readFileSync(join(runDir, 'best.safetensors')), 'best').metadata), origin);
        const back = decodeCheckpoint(readFileSync(join(runDir, 'checkpoint.safetensors')), 'checkpoint');
        assert.deepEqual(back.origin, origin);
        const names = decodeModel(readFileSync(at('fine-tune-base', 'model.safetensors')), 'base').vocab.chars;
        assert.deepEqual(back.vocab.chars.slice(0, names.length), names, "the starting model's characters keep their ids");
        assert.ok(back.vocab.size > names.length);
      },
    },
  ];

  for (const c of configs) {
    test(
      `equivalence (${c.name}): 20 steps in PyTorch from a charrnn checkpoint give charrnn's losses and weights`,
      { skip: c.skip ?? false },
      () => {
        const corpus = c.corpus ?? 'corpus.txt';
        c.setup?.();
        ok(
          cli(['train', corpus, ...TINY, ...c.flags, '--steps', '10', '--val-every', '5', '--checkpoint-every', '5', '--out', c.name]),
          'train',
        );
        if (c.settings) withSettings(at(c.name, 'checkpoint.safetensors'), c.settings);
        // charrnn train --resume on a copy gives charrnn's own validations (of the held-out text the run chose, bounded as it bounds it).
        cpSync(at(c.name), at(`${c.name}-charrnn`), { recursive: true });
        ok(cli(['train', corpus, '--resume', `${c.name}-charrnn`, '--steps', String(10 + STEPS)]), 'train --resume');
        ok(cli(['export-torch', c.name, corpus]), 'export-torch');
        const expected = charrnnContinues(at(c.name), readFileSync(at(corpus), 'utf8'), STEPS);
        ok(torch(at(c.name, 'torch'), ['--steps', String(10 + STEPS), '--log-every', '1']), 'the exported program');

        const losses = stepLosses(at(c.name));
        const lossErrors = expected.losses.map((l, i) => Math.abs((losses.get(11 + i) ?? NaN) - l));
        const worstLoss = Math.max(...lossErrors);
        // model.safetensors holds the weights charrnn evaluates (the moving average when the run keeps one); the checkpoint the raw ones.
        const model = decodeModel(readFileSync(at(c.name, 'model.safetensors')), 'model');
        const saved = decodeSafetensors(readFileSync(at(c.name, 'checkpoint.safetensors')), 'checkpoint').tensors;
        const weightErrors = [
          ...[...expected.evaluated].map(([name, w]) => tensorError(model.tensors.get(name)!.data, w)),
          ...[...expected.weights].map(([name, w]) => tensorError(saved.get(name)!.data, w)),
        ];
        if (expected.average) weightErrors.push(tensorError(saved.get('train.ema')!.data, expected.average));
        else assert.ok(!saved.has('train.ema'));
        const worstWeight = Math.max(...weightErrors);
        const validations = (runDir: string): Map<number, number> =>
          new Map(
            events(runDir)
              .filter(e => e.event === 'validation' && e.step > 10)
              .map(e => [e.step, e.loss as number]),
          );
        const [theirs, ours] = [validations(at(c.name)), validations(at(`${c.name}-charrnn`))];
        assert.deepEqual([...theirs.keys()], [15, 20, 25, 30]);
        assert.deepEqual([...ours.keys()], [...theirs.keys()]);
        const valError = Math.max(...[...ours].map(([step, loss]) => Math.abs(theirs.get(step)! - loss)));
        console.log(
          `# ${c.name}: ${STEPS} steps, largest loss difference ${worstLoss.toExponential(2)}, largest weight difference ${worstWeight.toExponential(2)} ` +
            `of the tensor's scale, validation losses (4) ${valError.toExponential(2)}`,
        );
        assert.ok(worstLoss <= 1e-4, `loss differences ${lossErrors.map(e => e.toExponential(1)).join(' ')}`);
        assert.ok(worstWeight <= 1e-4, `weight differences ${weightErrors.map(e => e.toExponential(1)).join(' ')}`);
        assert.ok(
          valError <= 1e-4,
          `validation losses ${[...theirs.values()].join(' ')} against charrnn's ${[...ours.values()].join(' ')}`,
        );

        // What PyTorch saved is charrnn's: the checkpoint decodes and stands where charrnn's trainer stands.
        const back = decodeCheckpoint(readFileSync(at(c.name, 'checkpoint.safetensors')), 'checkpoint');
        assert.equal(back.steps, 10 + STEPS);
        const training = JSON.parse(decodeSafetensors(readFileSync(at(c.name, 'checkpoint.safetensors')), 'c').metadata.training) as {
          streams: { pos: number; chunks: number };
        };
        assert.deepEqual(training.streams, { pos: expected.pos, chunks: 10 + STEPS });
        c.check?.(at(c.name));
        // And charrnn goes on from what PyTorch saved.
        if (c.check) ok(cli(['train', corpus, '--resume', c.name, '--steps', String(12 + STEPS)]), 'train --resume after PyTorch');
        c.check?.(at(c.name));
      },
    );
  }

  test(
    "a re-planned cosine: the program's learning_rate is charrnn's learningRateAt at every step",
    { skip: 'scheduleReplans' in DEFAULT_SETTINGS ? false : 'no re-plans here' },
    () => {
      ok(cli(['train', 'corpus.txt', ...TINY, ...REPLANNED.flags, '--steps', '3', '--out', 'replanned-rates']), 'train');
      withSettings(at('replanned-rates', 'checkpoint.safetensors'), REPLANNED.settings);
      ok(cli(['export-torch', 'replanned-rates', 'corpus.txt']), 'export-torch');
      const program = at('replanned-rates', 'torch', 'train_torch.py');
      const r = run(PYTHON, [
        '-c',
        'import json, os, runpy, sys; ns = runpy.run_path(sys.argv[1], run_name="exported"); ' +
          'ns["load_settings"](os.path.dirname(sys.argv[1])); print(json.dumps([ns["learning_rate"](i) for i in range(50)]))',
        program,
      ]);
      assert.equal(r.status, 0, r.stderr);
      const theirs = JSON.parse(r.stdout) as number[];
      // The run's schedule: TINY keeps the default --lr, REPLANNED's flags give the rest.
      const schedule = {
        lr: DEFAULT_SETTINGS.lr,
        name: 'cosine' as const,
        warmup: 2,
        decay: 1,
        decayEvery: 0,
        lrMin: 1e-4,
        totalSteps: 40,
        replans: REPLANNED.settings.scheduleReplans,
      };
      const ours = theirs.map((_, i) => learningRateAt(schedule, i));
      const worst = Math.max(...ours.map((lr, i) => Math.abs(theirs[i] - lr) / lr));
      assert.ok(worst < 1e-12, `learning rates ${theirs.join(' ')} against charrnn's ${ours.join(' ')}`);
      assert.equal(theirs[24], 1e-4, "lrMin at the last re-plan's end");
      assert.ok(Math.abs(theirs[20] - learningRateAt({ ...schedule, replans: [] }, 20)) > 1e-4, 'the re-plans change the curve');
    },
  );

  test('data parallel: the same 20 steps under torchrun with 2 gloo processes give the one-process losses and weights', () => {
    // The charrnn checkpoint at step 10 the equivalence test started from, trained again (charrnn is bit-identical run to run).
    ok(
      cli([
        'train',
        'corpus.txt',
        ...TINY,
        ...configs[0].flags,
        '--steps',
        '10',
        '--val-every',
        '5',
        '--checkpoint-every',
        '5',
        '--out',
        'ddp',
      ]),
      'train',
    );
    ok(cli(['export-torch', 'ddp', 'corpus.txt']), 'export-torch');
    const started = Date.now();
    const out = ok(torchrun(2, at('ddp', 'torch'), ['--resume', at('ddp'), '--steps', String(10 + STEPS), '--log-every', '1']), 'torchrun');
    const seconds = (Date.now() - started) / 1000;
    assert.match(out, /2 processes on cpu/);
    const one = stepLosses(at('lstm-adam'));
    const two = stepLosses(at('ddp'));
    const errors = Array.from({ length: STEPS }, (_, i) => Math.abs((two.get(11 + i) ?? NaN) - (one.get(11 + i) ?? NaN)));
    const a = decodeModel(readFileSync(at('ddp', 'model.safetensors')), 'a').tensors;
    const b = decodeModel(readFileSync(at('lstm-adam', 'model.safetensors')), 'b').tensors;
    const weightError = Math.max(...[...a].map(([name, t]) => tensorError(t.data, b.get(name)!.data)));
    console.log(
      `# 2 processes vs 1: largest loss difference ${Math.max(...errors).toExponential(2)}, weights ${weightError.toExponential(2)}; torchrun took ${seconds.toFixed(1)} s`,
    );
    assert.ok(Math.max(...errors) <= 1e-4, `loss differences ${errors.map(e => e.toExponential(1)).join(' ')}`);
    assert.ok(weightError <= 1e-4);
    const config = events(at('ddp'))
      .filter(e => e.event === 'config')
      .at(-1);
    assert.match(String(config?.backend), /2 processes, gloo, cpu/);
    // The carried state of both processes' streams was gathered, in stream order, into the one checkpoint.
    const ckpt = (name: string): Map<string, { data: Float32Array }> =>
      decodeSafetensors(readFileSync(at(name, 'checkpoint.safetensors')), name).tensors;
    const [ddp, alone] = [ckpt('ddp'), ckpt('lstm-adam')];
    for (const name of ['train.state.h_l0', 'train.state.c_l0', 'train.optimizer.first', 'train.optimizer.second']) {
      assert.ok(tensorError(ddp.get(name)!.data, alone.get(name)!.data) <= 1e-4, name);
    }
  });

  test("round trip: charrnn trains, PyTorch (2 processes) continues, charrnn resumes and finishes; log.jsonl is one uninterrupted run's", () => {
    const flags = [...TINY, ...configs[0].flags, '--val-every', '5', '--checkpoint-every', '5'];
    ok(cli(['train', 'corpus.txt', ...flags, '--steps', '30', '--out', 'straight']), 'train');
    ok(cli(['train', 'corpus.txt', ...flags, '--steps', '10', '--out', 'trip']), 'train');
    ok(cli(['export-torch', 'trip', 'corpus.txt']), 'export-torch');
    ok(torchrun(2, at('trip', 'torch'), ['--resume', at('trip'), '--steps', '20']), 'torchrun');
    // Every file PyTorch wrote loads in charrnn.
    ok(cli(['sample', at('trip', 'model.safetensors'), '--length', '20']), 'sample');
    ok(cli(['eval', at('trip', 'best.safetensors'), 'corpus.txt']), 'eval');
    ok(cli(['train', 'corpus.txt', '--resume', 'trip', '--steps', '30']), 'train --resume');
    assert.equal(decodeCheckpoint(readFileSync(at('trip', 'checkpoint.safetensors')), 'c').steps, 30);

    assertOneRunLog(events(at('trip')), events(at('straight')));
  });

  test("line mode: 2 gloo processes give the one-process losses and weights; charrnn -> PyTorch (2 processes) -> charrnn leaves one run's log.jsonl", () => {
    const flags = ['--lines', ...TINY, ...LINE_FLAGS, '--val-every', '5', '--checkpoint-every', '5'];
    ok(cli(['train', 'names.txt', ...flags, '--steps', '30', '--out', 'lines-straight']), 'train');
    ok(cli(['train', 'names.txt', ...flags, '--steps', '10', '--out', 'lines-trip']), 'train');
    ok(cli(['export-torch', 'lines-trip', 'names.txt']), 'export-torch');
    // The step-10 checkpoint the equivalence test (lstm-lines) started from: 20 steps in 2 processes, each holding 2 of
    // the 4 rows of every batch (in the single-line batches one process holds padding only).
    cpSync(at('lines-trip'), at('lines-ddp'), { recursive: true });
    const out = ok(
      torchrun(2, at('lines-ddp', 'torch'), ['--resume', at('lines-ddp'), '--steps', String(10 + STEPS), '--log-every', '1']),
      'torchrun',
    );
    assert.match(out, /2 processes on cpu/);
    const one = stepLosses(at('lstm-lines'));
    const two = stepLosses(at('lines-ddp'));
    const errors = Array.from({ length: STEPS }, (_, i) => Math.abs((two.get(11 + i) ?? NaN) - (one.get(11 + i) ?? NaN)));
    const ckpt = (name: string): Map<string, { data: Float32Array }> =>
      decodeSafetensors(readFileSync(at(name, 'checkpoint.safetensors')), name).tensors;
    const [ddp, alone] = [ckpt('lines-ddp'), ckpt('lstm-lines')];
    const weightError = Math.max(...[...alone].map(([name, t]) => tensorError(ddp.get(name)!.data, t.data)));
    console.log(
      `# lines, 2 processes vs 1: largest loss difference ${Math.max(...errors).toExponential(2)}, checkpoint tensors ${weightError.toExponential(2)}`,
    );
    assert.ok(Math.max(...errors) <= 1e-4, `loss differences ${errors.map(e => e.toExponential(1)).join(' ')}`);
    // Weights, moments, and the state each process's rows ended their last batch with, gathered in row order.
    assert.ok(weightError <= 1e-4, `checkpoint tensors differ by ${weightError}`);
    const position = (name: string): unknown =>
      (JSON.parse(decodeSafetensors(readFileSync(at(name, 'checkpoint.safetensors')), name).metadata.training) as { streams: unknown })
        .streams;
    assert.deepEqual(position('lines-ddp'), position('lstm-lines'));

    ok(torchrun(2, at('lines-trip', 'torch'), ['--resume', at('lines-trip'), '--steps', '20']), 'torchrun');
    // PyTorch's model files are line models with charrnn's entries, and load.
    const entries = (file: string): [string, string] => {
      const m = decodeSafetensors(readFileSync(file), file).metadata;
      return [m.lines, m.lines_seen];
    };
    assert.deepEqual(entries(at('lines-trip', 'model.safetensors')), entries(at('lines-straight', 'model.safetensors')));
    assert.deepEqual(entries(at('lines-trip', 'best.safetensors')), entries(at('lines-straight', 'model.safetensors')));
    ok(cli(['sample', at('lines-trip', 'model.safetensors')]), 'sample');
    ok(cli(['eval', at('lines-trip', 'best.safetensors'), 'names.txt']), 'eval');
    ok(cli(['train', 'names.txt', '--resume', 'lines-trip', '--steps', '30']), 'train --resume');
    assert.equal(decodeCheckpoint(readFileSync(at('lines-trip', 'checkpoint.safetensors')), 'c').steps, 30);

    // In line mode the characters counted are the lines' targets, padding not counted.
    assertOneRunLog(events(at('lines-trip')), events(at('lines-straight')));

    // Bad input of line mode, one sentence each, nothing saved touched: a batch position that does not fit the
    // lines (a checkpoint edited by hand), and a program folder without its lines.json.
    const { tensors, metadata } = decodeSafetensors(readFileSync(at('lines-trip', 'checkpoint.safetensors')), 'ckpt');
    const training = JSON.parse(metadata.training) as { streams: { pos: number; chunks: number } };
    training.streams.pos = 5;
    mkdirSync(at('lines-moved'));
    writeFileSync(
      at('lines-moved', 'checkpoint.safetensors'),
      encodeSafetensors(
        [...tensors].map(([n, t]) => ({ name: n, ...t })),
        { ...metadata, training: JSON.stringify(training) },
      ),
    );
    assertOneSentence(
      torch(at('lines-trip', 'torch'), ['--resume', 'lines-moved', '--steps', '40']),
      'train_torch.py: ',
      /^train_torch\.py: The saved batch position \(batch 5, chunk 30\) does not fit 6 batches of lines per pass: export the run again\.$/,
    );
    cpSync(at('lines-trip', 'torch'), at('lines-torch'), { recursive: true });
    rmSync(at('lines-torch', 'lines.json'));
    assertOneSentence(
      torch(at('lines-torch'), ['--resume', 'lines-trip', '--steps', '40']),
      'train_torch.py: ',
      /^train_torch\.py: .*lines-torch\/lines\.json is missing or damaged: keep the lines\.json that export-torch wrote beside train_torch\.py, or export the run again\.$/,
    );
    assert.equal(decodeCheckpoint(readFileSync(at('lines-trip', 'checkpoint.safetensors')), 'c').steps, 30);
    assert.ok(!existsSync(at('lines-moved', 'log.jsonl')));
  });

  test('with dropout (2 layers, and on the embedding where charrnn has it) PyTorch trains from the checkpoint and charrnn resumes from what it saved', () => {
    const embDropout = TECHNIQUES ? ['--emb-dropout', '0.2'] : [];
    ok(cli(['train', 'corpus.txt', ...TINY, '--layers', '2', '--dropout', '0.3', ...embDropout, '--steps', '4', '--out', 'drop']), 'train');
    ok(cli(['export-torch', 'drop', 'corpus.txt', '--to', 'drop-torch']), 'export-torch');
    // The model the program builds from settings.json: the recurrent module's dropout between its 2 layers, one more after the last, one on the embedding.
    const model = run(PYTHON, [
      '-c',
      'import runpy, sys; ns = runpy.run_path(sys.argv[1] + "/train_torch.py", run_name="exported"); ' +
        'ns["load_settings"](sys.argv[1]); m = ns["CharRNN"](10); print(m.rnn.dropout, m.drop.p, m.emb_drop.p if m.emb_drop else None)',
      at('drop-torch'),
    ]);
    assert.equal(model.stdout, `0.3 0.3 ${TECHNIQUES ? '0.2' : 'None'}\n`, model.stderr);
    ok(torch(at('drop-torch'), ['--resume', 'drop', '--steps', '8']), 'the exported program');
    ok(cli(['train', 'corpus.txt', '--resume', 'drop', '--steps', '10']), 'train --resume');
    assert.equal(decodeCheckpoint(readFileSync(at('drop', 'checkpoint.safetensors')), 'c').steps, 10);
  });

  test('bad input: a missing or damaged checkpoint and a world size that does not divide the batch each get one sentence', () => {
    ok(cli(['train', 'corpus.txt', ...TINY, '--steps', '2', '--out', 'bad']), 'train');
    ok(cli(['export-torch', 'bad', 'corpus.txt']), 'export-torch');
    mkdirSync(at('nothing'));
    assertOneSentence(
      torch(at('bad', 'torch'), ['--resume', 'nothing']),
      'train_torch.py: ',
      /^train_torch\.py: There is no checkpoint at nothing\/checkpoint\.safetensors: give --resume the folder of a charrnn run that has saved one\.$/,
    );

    cpSync(at('bad'), at('damaged'), { recursive: true });
    truncateSync(at('damaged', 'checkpoint.safetensors'), 1000);
    assertOneSentence(
      torch(at('bad', 'torch'), ['--resume', 'damaged']),
      'train_torch.py: ',
      /^train_torch\.py: damaged\/checkpoint\.safetensors is not a usable charrnn checkpoint: it is not a whole safetensors file \(truncated or damaged\?\)\.$/,
    );

    const three = torchrun(3, at('bad', 'torch'), ['--resume', 'bad']);
    assertOneSentence(
      three,
      'train_torch.py: ',
      /^train_torch\.py: 3 processes cannot share the run's 4 streams evenly: the world size must divide --batch 4 \(one of 1, 2, 4\)\.$/,
    );
    // --steps below the step reached is refused as charrnn train --resume refuses it.
    const behind = torch(at('bad', 'torch'), ['--resume', 'bad', '--steps', '1']);
    assert.equal(behind.status, 1);
    assertOneSentence(
      behind,
      'train_torch.py: ',
      /^train_torch\.py: The run is at step 2 already, past --steps 1; give a --steps of 2 or more\.$/,
    );
    // A program without its settings.json, or with one it cannot follow (from another charrnn), stops before anything.
    cpSync(at('bad', 'torch'), at('bad-torch'), { recursive: true });
    rmSync(at('bad-torch', 'settings.json'));
    const settingsSentence =
      /^train_torch\.py: .*bad-torch\/settings\.json is missing, damaged or from another charrnn: keep the settings\.json that export-torch wrote beside train_torch\.py, or export the run again\.$/;
    assertOneSentence(torch(at('bad-torch'), ['--resume', 'bad']), 'train_torch.py: ', settingsSentence);
    writeFileSync(
      at('bad-torch', 'settings.json'),
      JSON.stringify({ ...(JSON.parse(readFileSync(at('bad', 'torch', 'settings.json'), 'utf8')) as object), warmup_steps: 3 }),
    );
    assertOneSentence(torch(at('bad-torch'), ['--resume', 'bad']), 'train_torch.py: ', settingsSentence);
    // What was saved is untouched.
    assert.equal(decodeCheckpoint(readFileSync(at('bad', 'checkpoint.safetensors')), 'c').steps, 2);
    // The one command export-torch prints runs as printed (N = 2): through torchrun on the PATH where there is one,
    // through CHARRNN_PYTHON's PyTorch, and through the python3 on the PATH where there is no torchrun.
    const said = ok(cli(['export-torch', 'bad']), 'export-torch')
      .split('\n')
      .filter(l => l.startsWith('  '));
    assert.deepEqual(said, ['  bad/torch/run.sh N --resume bad']);
    const { CHARRNN_PYTHON: _, ...plain } = ENV;
    mkdirSync(at('bin'));
    symlinkSync(
      PYTHON.includes('/') ? PYTHON : spawnSync('sh', ['-c', `command -v ${PYTHON}`], { encoding: 'utf8' }).stdout.trim(),
      at('bin', 'python3'),
    );
    symlinkSync(
      ['/usr/bin/dirname', '/bin/dirname'].find(f => existsSync(f))!,
      at('bin', 'dirname'),
    );
    const launchers: [string, NodeJS.ProcessEnv][] = [
      ['CHARRNN_PYTHON', { ...plain, CHARRNN_PYTHON: PYTHON }],
      ['python3 on the PATH', { ...plain, PATH: at('bin') }],
    ];
    if (spawnSync('sh', ['-c', 'command -v torchrun']).status === 0) launchers.push(['torchrun on the PATH', plain]);
    for (const [how, env] of launchers) {
      const r = run('/bin/sh', ['-c', said[0].trim().replace(' N ', ' 2 ')], env);
      assert.equal(r.status, 0, `${how}: ${r.stderr}`);
      assert.match(r.stdout, /resuming the run in bad at step 2 of 2 in PyTorch: 2 processes on cpu/, how);
    }
    // The last line says where the run stands and how many steps this invocation made, in charrnn's words.
    const on = ok(torch(at('bad', 'torch'), ['--resume', 'bad', '--steps', '5']), 'train_torch.py');
    assert.match(on, /^done at step 5 after 3 steps \(reached --steps 5; /m);
  });
});
