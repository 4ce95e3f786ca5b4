// The command line as only a real process shows it: the built CLI spawned as a
// user runs it, for what a function call cannot prove: signals (Ctrl-C, kill -9),
// a reader that closes the pipe, a terminal, and runs that last a wall-clock
// budget. Everything else about the commands is checked in-process
// (test/cli.test.ts, which also spawns the program a few times as a smoke test).
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { decodeSafetensors } from '../../src/model/safetensors.js';
import { MAIN, spawnCliRunner, TINY } from '../cli-runner.js';
import { assertUserError } from '../user-error.js';
import { CLI_ENV, codePoints, CORPUS, jsonLines, LINE, RESUME_MODEL, sha256 } from '../cli-fixtures.js';

const ENV = CLI_ENV;

let dir: string;
const { cli, ok } = spawnCliRunner(() => dir, ENV);
const at = (name: string): string => join(dir, name);

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'charrnn-e2e-cli-'));
  writeFileSync(at('corpus.txt'), CORPUS);
  // Sanity of the fixture itself: the code point and UTF-16 counts really differ.
  assert.equal(codePoints(LINE), 28);
  assert.equal(LINE.length, 29);
});

after(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** Spawns a training run, resolving once a stdout line matches `ready`; `done` resolves with the exit. */
function startTraining(
  args: string[],
  ready: RegExp,
): {
  child: ReturnType<typeof spawn>;
  ready: Promise<void>;
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>;
} {
  const child = spawn(process.execPath, [MAIN, ...args], { cwd: dir, env: ENV, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let resolveReady: () => void;
  const readyP = new Promise<void>(resolve => {
    resolveReady = resolve;
  });
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    stdout += d;
    if (stdout.split('\n').some(l => ready.test(l))) resolveReady();
  });
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
  });
  // A safety net, not a timing assertion: a run that never gets ready must not hang the suite.
  const guard = setTimeout(() => child.kill('SIGKILL'), 60_000);
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>(resolve => {
    child.on('close', (code, signal) => {
      clearTimeout(guard);
      resolve({ code, signal, stdout, stderr });
    });
  });
  return {
    child,
    ready: Promise.race([
      readyP,
      done.then(r => {
        throw new Error(`training ended before it was ready: ${r.stderr}`);
      }),
    ]),
    done,
  };
}

describe('interruption', () => {
  const long = ['corpus.txt', ...TINY, '--steps', '1000000', '--sample-length', '0'];

  test('Ctrl-C stops cleanly: saves, says it stopped, exits 130, and the saved model loads', async () => {
    const run = startTraining(['train', ...long, '--print-every', '5', '--out', 'sigint'], /^step \d+/);
    await run.ready;
    run.child.kill('SIGINT');
    const r = await run.done;
    assert.equal(r.code, 130, r.stderr);
    const last = r.stdout.trimEnd().split('\n').pop() ?? '';
    assert.match(last, /^stopped at step \d+ after \d+ steps.*saved in sigint/);
    assert.match(r.stdout, /^stopping at step \d+: received SIGINT$/m);
    assert.ok(existsSync(at('sigint/model.safetensors')));
    const score = JSON.parse(
      ok(['eval', at('sigint/model.safetensors'), 'corpus.txt', '--json'])
        .trimEnd()
        .split('\n')
        .pop() ?? '',
    ) as Record<string, number>;
    assert.equal(score.chars, codePoints(CORPUS) - 1);
  });

  test('kill -9 while training leaves the last checkpoint whole', async () => {
    // Checkpoints at steps 5, 10, ...: once step 15 is printed, the step-10 one is on disk.
    const run = startTraining(
      ['train', ...long, '--print-every', '5', '--checkpoint-every', '5', '--val-every', '0', '--out', 'killed'],
      /^step 15\//,
    );
    await run.ready;
    run.child.kill('SIGKILL');
    const r = await run.done;
    assert.equal(r.signal, 'SIGKILL');
    const path = at('killed/model.safetensors');
    const { metadata } = decodeSafetensors(readFileSync(path), path);
    const steps = (JSON.parse(metadata.training) as { steps: number }).steps;
    assert.ok(steps >= 10 && steps % 5 === 0, `a checkpoint is saved every 5 steps, found one at ${steps}`);
    ok(['eval', path, 'corpus.txt']);
  });
});

describe('a reader that goes away', () => {
  test('sample | head: the closed pipe ends sample quietly, with exit 0 and nothing on stderr', async () => {
    ok(['train', 'corpus.txt', ...TINY, '--steps', '5', '--val-every', '0', '--sample-length', '0', '--out', 'piped']);
    const child = spawn(process.execPath, [MAIN, 'sample', 'piped/model.safetensors', '--length', '2000000'], { cwd: dir, env: ENV });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    // Like `head -c 1`: read the first bytes, then close our end of the pipe.
    child.stdout.once('data', () => child.stdout.destroy());
    const code = await new Promise<number | null>(resolve => child.on('close', c => resolve(c)));
    assert.equal(code, 0, stderr);
    assert.equal(stderr, '');
  });
});

describe('resume after a crash', () => {
  const flags = [
    'corpus.txt',
    ...RESUME_MODEL,
    '--val-every',
    '10',
    '--checkpoint-every',
    '10',
    '--sample-length',
    '0',
    '--backend',
    'reference',
    '--no-plot',
  ];

  test('after kill -9 the run resumes from its last checkpoint and matches a straight run', async () => {
    const run = startTraining(['train', ...flags, '--steps', '1000000', '--print-every', '5', '--out', 'crash'], /^step 25\//);
    await run.ready;
    run.child.kill('SIGKILL');
    await run.done;
    const path = at('crash/checkpoint.safetensors');
    const steps = (JSON.parse(decodeSafetensors(readFileSync(path), path).metadata.training) as { optimizerSteps: number }).optimizerSteps;
    assert.ok(steps >= 20 && steps % 10 === 0, `checkpoints come every 10 steps, found one at ${steps}`);
    ok(['train', 'corpus.txt', '--resume', '--steps', String(steps + 10), '--out', 'crash', '--sample-length', '0']);
    ok(['train', ...flags, '--steps', String(steps + 10), '--out', 'crash-straight']);
    assert.equal(sha256(at('crash/model.safetensors')), sha256(at('crash-straight/model.safetensors')));
  });
});

describe('a wall-clock budget', () => {
  test('--minutes is a budget: the run says so and ends on it', () => {
    const lines = jsonLines(
      ok(['train', 'corpus.txt', ...TINY, '--minutes', '0.05', '--val-every', '0', '--sample-length', '0', '--out', 'minutes', '--json']),
    );
    assert.equal(lines[0].budget_seconds, 3);
    const stopped = lines.find(l => l.event === 'stopped')!;
    assert.equal(stopped.reason, 'limit');
    assert.match(stopped.message as string, /3-second budget/);
  });
});

describe('the recipe for a time budget', () => {
  // A small text with some variety: sentences in a shuffled order.
  const words = ['the', 'whale', 'sea', 'ship', 'captain', 'storm', 'harbour', 'rope', 'sail', 'night'];
  const recipeText = Array.from(
    { length: 3000 },
    (_, i) => `${words[(i * 7) % 10]} ${words[(i * 3 + 1) % 10]} ${words[(i * i) % 10]}.`,
  ).join(' ');

  test('--seconds alone: the recipe measures, chooses and says so in one line; the run ends within its budget plus a few seconds', () => {
    writeFileSync(at('recipe.txt'), recipeText);
    const budget = 20; // the figure
    const t0 = performance.now();
    // The machine's own fastest backend: the recipe is about this machine's speed.
    const lines = jsonLines(
      ok(['train', 'recipe.txt', '--seconds', String(budget), '--backend', 'auto', '--out', 'recipe', '--json', '--sample-length', '0']),
    );
    const took = (performance.now() - t0) / 1000;
    // The process's start and the text's loading count here too.
    assert.ok(took <= budget + 4, `took ${took.toFixed(1)} s for a ${budget} s budget`);
    assert.ok(existsSync(at('recipe/best.safetensors')));
    const config = lines[0];
    const note = lines[1];
    assert.equal(note.event, 'note');
    assert.match(
      note.message as string,
      /^recipe: \dx\d+ LSTM \(.* parameters\), dropout .* cosine lr .* over [\d,]+ steps.* \(measured 2x128 at [\d,]+ chars\/s/,
    );
    const settings = config.settings as Record<string, unknown>;
    assert.equal(settings.lr_schedule, 'cosine');
    assert.equal(settings.val_split, 'spread');
    assert.ok((settings.schedule_steps as number) > 0);
    // The planned length is part of the run's settings, so a resumed run follows the same curve.
    const path = at('recipe/checkpoint.safetensors');
    const saved = (
      JSON.parse(decodeSafetensors(readFileSync(path), path).metadata.training) as { run: { settings: Record<string, unknown> } }
    ).run.settings;
    assert.equal(saved.scheduleSteps, settings.schedule_steps);
    // ... and so are the re-plans that made it follow the deadline, each announced in a note.
    assert.equal(settings.schedule_end, 'deadline');
    const replans = saved.scheduleReplans as { at: number; totalSteps: number }[];
    const announced = lines.filter(e => e.event === 'note' && /^the learning rate now reaches/.test(String(e.message)));
    assert.ok(Array.isArray(replans) && announced.length >= replans.length && (replans.length === 0) === (announced.length === 0));
    const result = lines[lines.length - 1];
    assert.ok((result.best_val_loss as number) < Math.log(new Set(recipeText).size), 'it learned something');
  });

  test('the flags given win over the recipe; --recipe off, --steps or a model size leave it out', () => {
    writeFileSync(at('recipe.txt'), recipeText);
    const given = jsonLines(
      ok([
        'train',
        'recipe.txt',
        '--seconds',
        '3',
        '--backend',
        'auto',
        '--dropout',
        '0.4',
        '--lr',
        '0.001',
        '--val-split',
        'tail',
        '--out',
        'recipe-given',
        '--json',
        '--sample-length',
        '0',
      ]),
    );
    const settings = given[0].settings as Record<string, unknown>;
    assert.deepEqual([settings.dropout, settings.lr, settings.val_split, settings.lr_schedule], [0.4, 0.001, 'tail', 'cosine']);
    assert.equal(given[1].event, 'note');
    for (const [name, extra] of [
      ['off', ['--recipe', 'off']],
      ['steps', ['--steps', '3']],
      ['size', ['--hidden', '16']],
    ] as const) {
      const lines = jsonLines(
        ok([
          'train',
          'recipe.txt',
          '--seconds',
          '3',
          '--batch',
          '4',
          '--seq',
          '16',
          ...extra,
          '--out',
          `recipe-${name}`,
          '--json',
          '--sample-length',
          '0',
        ]),
      );
      const s = lines[0].settings as Record<string, unknown>;
      assert.deepEqual([s.lr_schedule, s.val_split, s.dropout], ['step', 'tail', 0], name);
      assert.ok(!lines.some(e => e.event === 'note' && String(e.message).startsWith('recipe')), name);
    }
  });

  test('--recipe on plans the training around a model size given, and says in one sentence where it cannot plan', () => {
    writeFileSync(at('recipe.txt'), recipeText);
    const lines = jsonLines(
      ok([
        'train',
        'recipe.txt',
        '--seconds',
        '3',
        '--backend',
        'auto',
        '--recipe',
        'on',
        '--hidden',
        '24',
        '--out',
        'recipe-on',
        '--json',
        '--sample-length',
        '0',
      ]),
    );
    const s = lines[0].settings as Record<string, unknown>;
    // The size given is kept; the schedule and validation are the recipe's, not the plain defaults (step, tail).
    assert.equal(s.hidden, 24);
    assert.deepEqual([s.lr_schedule, s.val_split, s.schedule_end], ['cosine', 'spread', 'deadline']);
    const note = lines.find(e => e.event === 'note' && String(e.message).startsWith('recipe'));
    assert.match(String(note?.message), /^recipe: \dx24 LSTM/);
    assert.ok(existsSync(at('recipe-on/best.safetensors')));

    const before = sha256(at('recipe-on/checkpoint.safetensors'));
    const bad: [string[], RegExp][] = [
      [['recipe.txt', '--steps', '5'], /--recipe on plans a time budget: give --seconds or --minutes\.$/],
      [['recipe.txt', '--seconds', '3', '--epochs', '1'], /--recipe on plans a time budget, not --steps or --epochs/],
      [
        ['--corpus', 'names', '--seconds', '3'],
        /--recipe on is not calibrated for line mode \(--lines, or a list corpus such as names\) yet/,
      ],
      [['recipe.txt', '--seconds', '3', '--resume', 'recipe-on'], /--recipe on plans a new run; a resumed run keeps the settings/],
    ];
    for (const [args, says] of bad) {
      assertUserError(cli(['train', ...args, '--recipe', 'on', '--out', 'recipe-on-bad', '--sample-length', '0']), says, { exit: 1 });
    }
    assert.equal(sha256(at('recipe-on/checkpoint.safetensors')), before, 'the run refused to resume is untouched');
    assert.ok(!existsSync(at('recipe-on-bad')), 'no folder for a run that never started');
  });
});

describe('the live display on a terminal', () => {
  // A real terminal from script(1): the live bar runs only when stdout is one.
  const hasScript = spawnSync('script', ['--version'], { encoding: 'utf8' }).status === 0;

  test(
    "lines printed above the bar are wrapped to the terminal, which the bar has told not to wrap (the recipe's line, samples)",
    { skip: hasScript ? false : 'script(1) is not installed' },
    () => {
      const words = ['thou', 'art', 'the', 'king', 'of', 'all', 'these', 'lands'];
      writeFileSync(at('display.txt'), Array.from({ length: 2000 }, (_, i) => words[(i * 5) % 8]).join(' '));
      const command =
        `stty cols 60 rows 40; exec ${JSON.stringify(process.execPath)} ${JSON.stringify(MAIN)} train display.txt --seconds 2 ` +
        '--sample-length 150 --out display';
      const r = spawnSync('script', ['-qec', command, '/dev/null'], { cwd: dir, env: ENV, encoding: 'utf8', timeout: 60_000 });
      assert.equal(r.status, 0, r.stdout);
      assert.ok(r.stdout.includes('\x1b[?7l'), 'the bar turns line wrapping off');
      // What is printed above the bar while it runs: each piece between line ends and cursor moves,
      // the bar's own redraws aside (the bar is cut at the edge by design: it must stay one row).
      const shown = r.stdout
        .slice(0, r.stdout.indexOf('\x1b[?7h'))
        // eslint-disable-next-line no-control-regex -- the terminal's escape sequences are what this test reads
        .split(/\x1b\[[0-9;?]*[A-Za-z]|\r?\n|\r/)
        .filter(l => !/[█░]/.test(l));
      const widest = Math.max(...shown.map(l => [...l].length));
      assert.ok(widest <= 60, `a line of ${widest} columns in a 60-column terminal would be cut: ${shown.find(l => [...l].length > 60)}`);
      // The recipe's line is all there, wrapped: its end reaches the screen.
      assert.match(shown.join(''), /recipe: .*--recipe off for the plain defaults\)/);
    },
  );
});
