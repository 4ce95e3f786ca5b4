// A run is never lost: a fresh folder per run, stale locks taken over,
// leftovers of killed saves removed, folders that cannot hold files refused at
// once, and resume by folder; the CLI runs in-process. What needs real processes
// (a folder in use by another one, signals, SIGKILLs at seeded moments) is
// test/e2e/run-folder.test.ts.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { decodeSafetensors, encodeSafetensors } from '../src/model/safetensors.js';
import { cliRunner, TINY as TINY_RUN, type CliResult } from './cli-runner.js';

const ENV = { ...process.env, CHARRNN_BACKEND: 'reference', CHARRNN_DEBUG: '' };
const TINY = [...TINY_RUN, '--sample-length', '0'];
const CORPUS = 'the cat sat on the mat; the dog ran far away.\n'.repeat(60);

let dir: string;
const { cli, ok } = cliRunner(() => dir, ENV);
const at = (...names: string[]): string => join(dir, ...names);
const sha256 = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex');

/** One line on stderr, "charrnn: ..." matching `says`, exit 1, no stack trace. */
function assertRefused(r: CliResult, says: RegExp): void {
  assert.equal(r.signal ?? null, null, `killed by ${r.signal} (a spin?)`);
  assert.equal(r.status, 1, r.stderr);
  const lines = r.stderr.split('\n');
  assert.equal(lines.pop(), '');
  assert.equal(lines.length, 1, `expected one line on stderr: ${JSON.stringify(r.stderr)}`);
  assert.match(lines[0], says);
}

const stepOf = (path: string): number =>
  (JSON.parse(decodeSafetensors(readFileSync(path), path).metadata.training) as { steps: number }).steps;
const logEvents = (folder: string): Record<string, unknown>[] =>
  readFileSync(at(folder, 'log.jsonl'), 'utf8')
    .split('\n')
    .filter(l => l !== '')
    .map(l => JSON.parse(l) as Record<string, unknown>);
const tmpFiles = (folder: string): string[] => readdirSync(at(folder)).filter(f => f.endsWith('.tmp'));

/** The pid of a process that has ended (so a lock naming it is stale). */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(r.stdout);
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'charrnn-folders-'));
  writeFileSync(at('corpus.txt'), CORPUS);
});

after(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('a run folder belongs to one run', () => {
  test('without --out each run gets a fresh folder runs/<text>-<date>-<n>, said at the start, recording its text', async () => {
    const d = new Date();
    const day = `${d.getFullYear()}${String(d.getMonth() + 1).padStart(2, '0')}${String(d.getDate()).padStart(2, '0')}`;
    const first = await ok(['train', 'corpus.txt', ...TINY, '--steps', '2', '--val-every', '0']);
    const second = await ok(['train', 'corpus.txt', ...TINY, '--steps', '2', '--val-every', '0']);
    assert.match(first.split('\n')[0], new RegExp(`saving to runs/corpus-${day}-1$`));
    assert.match(second.split('\n')[0], new RegExp(`saving to runs/corpus-${day}-2$`));
    for (const n of [1, 2]) {
      // (and loss.svg, loss.png, drawn at validations)
      assert.deepEqual(
        readdirSync(at('runs', `corpus-${day}-${n}`))
          .filter(f => !f.startsWith('loss.'))
          .sort(),
        ['best.safetensors', 'checkpoint.safetensors', 'log.jsonl', 'model.safetensors', 'run.json'],
      );
    }
    const record = JSON.parse(readFileSync(at('runs', `corpus-${day}-1`, 'run.json'), 'utf8')) as Record<string, unknown>;
    assert.deepEqual(record.files, [at('corpus.txt')]);
    assert.equal(record.format, 'charrnn-run/1');
  });

  test("a stale lock (its process gone) is taken over with a note; a killed save's temporary files are removed", async () => {
    await ok(['train', 'corpus.txt', ...TINY, '--steps', '4', '--val-every', '0', '--out', 'stale']);
    const gone = deadPid();
    writeFileSync(at('stale', '.lock'), JSON.stringify({ pid: gone, host: hostname(), since: '2026-01-01T00:00:00.000Z', token: 'x' }));
    const leftover = `.checkpoint.safetensors.${gone}.tmp`;
    writeFileSync(at('stale', leftover), new Uint8Array(1 << 20)); // a save cut short
    // A live process's write in progress: the test runner's, which outlives this file (the run itself is this process).
    const live = `.loss.svg.${process.ppid}.tmp`;
    writeFileSync(at('stale', live), 'x');
    const out = await ok(['train', '--resume', 'stale', '--steps', '6']);
    assert.match(out, new RegExp(`^note: took over the lock of process ${gone} \\(since 2026-01-01T00:00:00.000Z\\), which is gone`, 'm'));
    assert.match(out, new RegExp(`^note: removed 1 temporary file left in stale by an interrupted save: \\${leftover}$`, 'm'));
    assert.deepEqual(tmpFiles('stale'), [live]);
    assert.ok(!existsSync(at('stale', '.lock')));
    const notes = logEvents('stale')
      .filter(e => e.event === 'note')
      .map(e => e.message as string);
    assert.ok(
      notes.some(m => m.startsWith(`took over the lock of process ${gone}`)),
      'the note is a run event, in log.jsonl',
    );
    assert.equal(stepOf(at('stale', 'model.safetensors')), 6);

    // A lock cut short (the process killed while making it) is stale too, once it is not brand new.
    writeFileSync(at('stale', '.lock'), '{"pid": 12');
    assert.match(
      await ok(['train', '--resume', 'stale', '--steps', '7']),
      /^note: took over the lock stale\/\.lock, which a killed process left unwritten$/m,
    );
  });

  test('--force clears everything the old run made, and a forced run that diverges says that nothing was saved', async () => {
    await ok(['train', 'corpus.txt', ...TINY, '--steps', '4', '--val-every', '2', '--out', 'replaced']);
    await ok(['plot', 'replaced']); // loss.svg and loss.png, as a run that draws its plot leaves them
    mkdirSync(at('replaced', 'torch')); // what export-torch writes by default
    writeFileSync(at('replaced', 'torch', 'torch_settings.json'), '{}');
    const old = ['model.safetensors', 'best.safetensors', 'checkpoint.safetensors', 'loss.svg', 'loss.png', 'torch'];
    for (const f of old) assert.ok(existsSync(at('replaced', f)), f);
    // Adam moves every weight by about lr at the first update: 1e38 overflows float32, so step 2 diverges.
    const r = await cli(['train', 'corpus.txt', ...TINY, '--steps', '4', '--out', 'replaced', '--force', '--lr', '1e38']);
    assertRefused(
      r,
      /^charrnn: Training diverged at step 2: the (loss|gradient norm) became (NaN|-?Infinity) \(nothing was saved\); try a smaller learning rate\.$/,
    );
    for (const f of old) assert.ok(!existsSync(at('replaced', f)), `${f} of the old run is still there`);
    assert.equal(logEvents('replaced')[0].event, 'config', "the log is the new run's alone");
    assert.equal(logEvents('replaced').filter(e => e.event === 'config').length, 1);
  });

  test('a run that diverges after saving says which saved files are kept', async () => {
    // Saves at steps 1 and 2 (a checkpoint each step, a best model at the validation of step 2), then diverges at step 4.
    const r = await cli([
      'train',
      'corpus.txt',
      ...TINY,
      '--steps',
      '9',
      '--checkpoint-every',
      '1',
      '--val-every',
      '2',
      '--out',
      'diverged',
      '--warmup',
      '2',
      '--lr',
      '1e38',
    ]);
    const saved = stepOf(at('diverged', 'model.safetensors'));
    const best = stepOf(at('diverged', 'best.safetensors'));
    assertRefused(
      r,
      new RegExp(
        `^charrnn: Training diverged at step ${saved + 1}: the (loss|gradient norm) became (NaN|-?Infinity) ` +
          `\\(the model and checkpoint of step ${saved} and the best model of step ${best} are kept\\); try a smaller learning rate\\.$`,
      ),
    );
  });

  test('a folder that cannot hold files is refused at once, before any training (no spin under /proc)', async () => {
    assertRefused(
      await cli(['train', 'corpus.txt', ...TINY, '--out', '/proc/charrnn-run']),
      /^charrnn: Cannot make the folder \/proc\/charrnn-run: \/proc cannot hold new files or folders\.$/,
    );
    assertRefused(
      await cli(['train', 'corpus.txt', ...TINY, '--out', '/proc/self']),
      /^charrnn: \/proc\/self cannot hold files: writing a test file there failed \(ENOENT\)\.$/,
    );
  });
});

describe('resume by folder', () => {
  const flags = ['corpus.txt', ...TINY, '--val-every', '5', '--checkpoint-every', '5'];

  before(async () => {
    await ok(['train', ...flags, '--steps', '10', '--out', 'r']);
  });

  test('--resume DIR alone continues on the text the folder records', async () => {
    await ok(['train', ...flags, '--steps', '15', '--out', 'r-straight']);
    await ok(['train', ...flags, '--steps', '10', '--out', 'r-alone']);
    const out = await ok(['train', '--resume', 'r-alone', '--steps', '15']);
    assert.match(out, new RegExp(`^resuming a 1x16 LSTM .* at step 10 of 15.*; saving to r-alone$`, 'm'));
    assert.equal(sha256(at('r-alone', 'checkpoint.safetensors')), sha256(at('r-straight', 'checkpoint.safetensors')));
  });

  test('the same text from another place is accepted and recorded; other text is refused', async () => {
    mkdirSync(at('moved'));
    writeFileSync(at('moved', 'corpus.txt'), CORPUS);
    const out = await ok(['train', 'moved/corpus.txt', '--resume', 'r', '--steps', '11']);
    assert.match(out, /^note: the run's text is now read from moved\/corpus\.txt \(the same text as before, at .*corpus\.txt\)$/m);
    assert.deepEqual((JSON.parse(readFileSync(at('r', 'run.json'), 'utf8')) as { files: string[] }).files, [at('moved', 'corpus.txt')]);
    writeFileSync(at('other.txt'), 'something else entirely, '.repeat(40));
    assertRefused(
      await cli(['train', 'other.txt', '--resume', 'r', '--steps', '12']),
      /^charrnn: The text differs from the one the run was trained on \(other\.txt\), so it cannot resume on it\.$/,
    );
    // The recorded text changed on disk.
    writeFileSync(at('moved', 'corpus.txt'), CORPUS + 'one more line\n');
    assertRefused(
      await cli(['train', '--resume', 'r', '--steps', '12']),
      /^charrnn: The text differs from the one the run was trained on \(.*moved\/corpus\.txt\)/,
    );
    // ... or went away.
    rmSync(at('moved'), { recursive: true });
    assertRefused(
      await cli(['train', '--resume', 'r', '--steps', '12']),
      new RegExp(
        `^charrnn: The text of the run in r is no longer at ${at('moved', 'corpus.txt')}; give its new place: charrnn train FILE\\.\\.\\. --resume r\\.$`,
      ),
    );
    await ok(['train', 'corpus.txt', '--resume', 'r', '--steps', '12']);
  });

  test('a folder with no run, a newer format, --steps below the step reached, and --resume without a folder: one sentence each', async () => {
    assertRefused(await cli(['train', '--resume', 'no-such-run']), /^charrnn: No run to resume: no-such-run is not a folder\.$/);
    mkdirSync(at('empty'));
    assertRefused(
      await cli(['train', '--resume', 'empty']),
      /^charrnn: empty holds no run to resume: it has no checkpoint\.safetensors\.$/,
    );
    assert.deepEqual(readdirSync(at('empty')), [], 'a refused resume leaves the folder as it was');
    assertRefused(await cli(['train', '--resume']), /^charrnn: --resume needs the run's folder: give --resume DIR\.$/);
    assertRefused(
      await cli(['train', '--resume', 'r', '--steps', '3']),
      /^charrnn: The run is at step 12 already, past --steps 3; give a --steps of 12 or more\.$/,
    );

    // A checkpoint from a newer charrnn.
    await ok(['train', ...flags, '--steps', '5', '--out', 'newer']);
    const path = at('newer', 'checkpoint.safetensors');
    const { tensors, metadata } = decodeSafetensors(readFileSync(path), path);
    writeFileSync(
      path,
      encodeSafetensors(
        [...tensors].map(([name, t]) => ({ name, ...t })),
        { ...metadata, format: 'charrnn-checkpoint/2' },
      ),
    );
    assertRefused(
      await cli(['train', '--resume', 'newer']),
      /^charrnn: newer\/checkpoint\.safetensors was saved by a newer charrnn \(format charrnn-checkpoint\/2; this one reads charrnn-checkpoint\/1\); update charrnn to resume it\.$/,
    );
    // A model file where the checkpoint should be.
    renameSync(at('newer', 'model.safetensors'), path);
    assertRefused(
      await cli(['train', '--resume', 'newer']),
      /^charrnn: newer\/checkpoint\.safetensors is not a usable charrnn checkpoint: it is a model file, not a training checkpoint/,
    );
    // A run record from a newer charrnn.
    const record = JSON.parse(readFileSync(at('r', 'run.json'), 'utf8')) as Record<string, unknown>;
    writeFileSync(at('r', 'run.json'), JSON.stringify({ ...record, format: 'charrnn-run/2' }));
    assertRefused(
      await cli(['train', '--resume', 'r']),
      /^charrnn: r\/run\.json was written by a newer charrnn \(format charrnn-run\/2; this one reads charrnn-run\/1\); update charrnn to resume this run\.$/,
    );
    writeFileSync(at('r', 'run.json'), JSON.stringify(record));
  });
});
