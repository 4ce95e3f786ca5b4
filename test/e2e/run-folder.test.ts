// A run folder as only real processes show it: a folder in use by another
// running process, every signal saving with its exit code, a second signal
// quitting at once, and real SIGKILLs at seeded moments followed by resumes that
// end bit for bit equal to a run that never stopped. The rest of run folders
// (fresh folders, stale locks, resume by folder) is test/run-folder.test.ts.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { decodeModel } from '../../src/model/model-file.js';
import { decodeSafetensors } from '../../src/model/safetensors.js';
import { decodeCheckpoint } from '../../src/train/checkpoint.js';
import { Random } from '../../src/util/random.js';
import { MAIN, spawnCliRunner, TINY as TINY_RUN, type CliResult } from '../cli-runner.js';
import { RESUME_MODEL } from '../cli-fixtures.js';

const ENV = { ...process.env, CHARRNN_BACKEND: 'reference', CHARRNN_DEBUG: '' };
const TINY = [...TINY_RUN, '--sample-length', '0'];
const CORPUS = 'the cat sat on the mat; the dog ran far away.\n'.repeat(60);

let dir: string;
const { cli, ok } = spawnCliRunner(() => dir, ENV);
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

interface Ended {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** A training process, and a promise for the first stdout line matching a pattern. */
function startTraining(args: string[]): { child: ReturnType<typeof spawn>; line: (re: RegExp) => Promise<string>; done: Promise<Ended> } {
  const child = spawn(process.execPath, [MAIN, ...args], { cwd: dir, env: ENV, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  const waiting: { re: RegExp; resolve: (l: string) => void }[] = [];
  const check = (): void => {
    for (const w of [...waiting]) {
      const found = stdout
        .split('\n')
        .slice(0, -1)
        .find(l => w.re.test(l));
      if (found !== undefined) {
        waiting.splice(waiting.indexOf(w), 1);
        w.resolve(found);
      }
    }
  };
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    stdout += d;
    check();
  });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
  });
  const guard = setTimeout(() => child.kill('SIGKILL'), 60_000); // a safety net, not a timing assertion
  const done = new Promise<Ended>(resolve => {
    child.on('close', (code, signal) => {
      clearTimeout(guard);
      resolve({ code, signal, stdout, stderr });
    });
  });
  const line = (re: RegExp): Promise<string> =>
    Promise.race([
      new Promise<string>(resolve => {
        waiting.push({ re, resolve });
        check();
      }),
      done.then(r => {
        throw new Error(`training ended (${r.code ?? r.signal}) before printing ${re}: ${r.stderr}`);
      }),
    ]);
  return { child, line, done };
}

const stepOf = (path: string): number =>
  (JSON.parse(decodeSafetensors(readFileSync(path), path).metadata.training) as { steps: number }).steps;
const logEvents = (folder: string): Record<string, unknown>[] =>
  readFileSync(at(folder, 'log.jsonl'), 'utf8')
    .split('\n')
    .filter(l => l !== '')
    .map(l => JSON.parse(l) as Record<string, unknown>);
const tmpFiles = (folder: string): string[] => readdirSync(at(folder)).filter(f => f.endsWith('.tmp'));

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'charrnn-e2e-folders-'));
  writeFileSync(at('corpus.txt'), CORPUS);
});

after(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('a run folder belongs to one run', () => {
  test('a second run or a resume into a folder in use is refused, naming the process that holds it', async () => {
    const run = startTraining([
      'train',
      'corpus.txt',
      ...TINY,
      '--steps',
      '1000000',
      '--print-every',
      '1',
      '--checkpoint-every',
      '2',
      '--out',
      'busy',
    ]);
    await run.line(/^step 3\//);
    const pid = run.child.pid!;
    const lock = JSON.parse(readFileSync(at('busy', '.lock'), 'utf8')) as Record<string, unknown>;
    assert.equal(lock.pid, pid);
    assert.equal(lock.host, hostname());
    const says = new RegExp(
      `^charrnn: busy is in use by another run \\(process ${pid} on ${hostname()}, since [0-9T:.Z-]+\\); wait for it to end, stop it, or give another --out\\.$`,
    );
    assertRefused(cli(['train', 'corpus.txt', ...TINY, '--steps', '5', '--out', 'busy']), says);
    assertRefused(cli(['train', 'corpus.txt', ...TINY, '--steps', '5', '--out', 'busy', '--force']), says);
    assertRefused(cli(['train', '--resume', 'busy']), says);
    run.child.kill('SIGINT');
    const r = await run.done;
    assert.equal(r.code, 130, r.stderr);
    assert.ok(!existsSync(at('busy', '.lock')), 'the lock is released at the end');
  });
});

describe('every stop saves, and says so', () => {
  const long = ['corpus.txt', ...TINY, '--steps', '1000000', '--print-every', '1', '--checkpoint-every', '1000'];

  for (const [signal, code] of [
    ['SIGTERM', 143],
    ['SIGHUP', 129],
    ['SIGINT', 130],
  ] as const) {
    test(`${signal} finishes the step, saves it and exits ${code}`, async () => {
      const out = `sig-${signal}`;
      const run = startTraining(['train', ...long, '--out', out]);
      await run.line(/^step 5\//);
      run.child.kill(signal);
      const r = await run.done;
      assert.equal(r.code, code, r.stderr);
      const stopped = /^stopping at step (\d+): received (\w+)$/m.exec(r.stdout);
      assert.ok(stopped, r.stdout);
      assert.equal(stopped[2], signal);
      const step = Number(stopped[1]);
      assert.match(r.stderr, new RegExp(`^charrnn: ${signal}: stopping after this step and saving`));
      // Checkpoints come every 1000 steps: the saved step is the stop's save.
      assert.equal(stepOf(at(out, 'model.safetensors')), step);
      assert.equal(decodeCheckpoint(readFileSync(at(out, 'checkpoint.safetensors')), out).steps, step);
      const last = logEvents(out).at(-1)!;
      assert.equal(last.event, 'result');
      assert.equal(last.reason, 'signal');
      assert.ok(!existsSync(at(out, '.lock')));
    });
  }

  test('a second signal delivered with the first quits at once, without saving; what is on disk is whole', async () => {
    const run = startTraining(['train', ...long, '--checkpoint-every', '3', '--out', 'twice']);
    await run.line(/^step 7\//);
    // Both arrive pending at once: stopped, then continued.
    const pid = run.child.pid!;
    process.kill(pid, 'SIGSTOP');
    process.kill(pid, 'SIGINT');
    process.kill(pid, 'SIGTERM');
    process.kill(pid, 'SIGCONT');
    const r = await run.done;
    assert.ok(r.code === 130 || r.code === 143, `exit ${r.code} ${r.signal}: ${r.stderr}`);
    assert.doesNotMatch(r.stdout, /^stopping at step/m, 'it did not go on to stop and save');
    assert.match(r.stderr, /^charrnn: SIG(INT|TERM): stopping after this step and saving \(again to quit at once\)$/m);
    const step = stepOf(at('twice', 'model.safetensors'));
    assert.ok(step >= 6 && step % 3 === 0, `the last checkpoint, found ${step}`);
    decodeModel(readFileSync(at('twice', 'model.safetensors')), 'model');
    assert.equal(decodeCheckpoint(readFileSync(at('twice', 'checkpoint.safetensors')), 'checkpoint').steps, step);
  });

  test('Ctrl-C during a long validation abandons it, saves and exits 130', async () => {
    // 120,000 held-out characters on the reference backend take seconds to validate (about 14 s here).
    const words = ['the', 'cat', 'sat', 'on', 'mat', 'a', 'dog', 'ran', 'far', 'away', 'and', 'then', 'home'];
    const rng = new Random(3);
    writeFileSync(at('big.txt'), Array.from({ length: 60_000 }, () => words[rng.int(words.length)]).join(' '));
    const run = startTraining([
      'train',
      'big.txt',
      ...TINY,
      '--hidden',
      '64',
      '--steps',
      '1000000',
      '--val-frac',
      '0.5',
      '--val-max-chars',
      '0',
      '--val-every',
      '2',
      '--print-every',
      '1',
      '--out',
      'val-stop',
    ]);
    await run.line(/^step 2\//); // printed just before the validation starts
    run.child.kill('SIGINT');
    const r = await run.done;
    assert.equal(r.code, 130, r.stderr);
    assert.match(r.stdout, /^stopping at step 2: received SIGINT$/m);
    const events = logEvents('val-stop');
    assert.deepEqual(
      events.filter(e => e.event === 'validation'),
      [],
      'the validation was abandoned, not finished',
    );
    assert.equal(stepOf(at('val-stop', 'model.safetensors')), 2);
  });
});

describe('kill -9 at seeded moments, then resume', () => {
  test('four SIGKILLs: each time the files read whole and the run resumes; it ends bit for bit equal to a run never stopped', async t => {
    // Two layers with dropout and a checkpoint every 3 steps (each save fsyncs, so kills land inside saves too).
    const flags = [
      ...RESUME_MODEL,
      '--backend',
      'reference',
      '--sample-length',
      '0',
      '--val-every',
      '10',
      '--checkpoint-every',
      '3',
      '--steps',
      '60',
    ];
    ok(['train', 'corpus.txt', ...flags, '--out', 'never-stopped']);
    const rng = new Random(2026);
    let args = ['train', 'corpus.txt', ...flags, '--print-every', '1', '--out', 'killed'];
    let killedPid = 0;
    const found: string[] = [];
    for (let kill = 0; kill < 4; kill++) {
      const from = kill === 0 ? 0 : decodeCheckpoint(readFileSync(at('killed', 'checkpoint.safetensors')), 'checkpoint').steps;
      // Past the first checkpoint (step 3), and before the end.
      const target = Math.max(from, 3) + 1 + rng.int(8);
      const delayMs = rng.int(40);
      const run = startTraining(args);
      await run.line(new RegExp(`^step ${target}/`));
      await new Promise(resolve => setTimeout(resolve, delayMs));
      run.child.kill('SIGKILL');
      const r = await run.done;
      assert.equal(r.signal, 'SIGKILL', `run ${kill} ended before the kill: ${r.stdout.slice(-300)} ${r.stderr}`);
      if (kill > 0) assert.match(r.stdout, new RegExp(`^note: took over the lock of process ${killedPid} `, 'm'));
      killedPid = run.child.pid!;
      // Readable every time: the model file and the checkpoint decode whole.
      const model = decodeModel(readFileSync(at('killed', 'model.safetensors')), 'model');
      assert.ok(model.vocab.size > 0);
      const steps = decodeCheckpoint(readFileSync(at('killed', 'checkpoint.safetensors')), 'checkpoint').steps;
      assert.ok(steps % 3 === 0 && steps >= from, `checkpoint at ${steps} after resuming from ${from}`);
      found.push(
        `kill ${kill + 1}: at step ${target} + ${delayMs} ms, checkpoint at ${steps}, temporary files left: ${tmpFiles('killed').length}`,
      );
      args = ['train', '--resume', 'killed', '--print-every', '1'];
    }
    const last = ok(['train', '--resume', 'killed']);
    assert.match(last, /^done at step 60 /m);
    for (const f of ['model.safetensors', 'best.safetensors', 'checkpoint.safetensors']) {
      assert.equal(sha256(at('killed', f)), sha256(at('never-stopped', f)), `${f} differs from the run that never stopped`);
    }
    assert.deepEqual(tmpFiles('killed'), [], 'no temporary file is left');
    assert.ok(!existsSync(at('killed', '.lock')));
    for (const line of found) t.diagnostic(line);
  });
});
