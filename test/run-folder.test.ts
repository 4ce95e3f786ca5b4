// A run is never lost: run folders owned by one process (a lock), a fresh
// folder per run, leftovers of killed saves removed, folders that cannot hold
// files refused at once, every signal saving with its exit code, resume by
// folder, and real SIGKILLs at seeded moments followed by resumes that end bit
// for bit equal to a run that never stopped. Real processes throughout.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { decodeModel } from '../src/model/model-file.js';
import { decodeSafetensors, encodeSafetensors } from '../src/model/safetensors.js';
import { decodeCheckpoint } from '../src/train/checkpoint.js';
import { Random } from '../src/util/random.js';
import { cliRunner, MAIN } from './cli-runner.js';

const ENV = { ...process.env, CHARRNN_BACKEND: 'reference', CHARRNN_DEBUG: '' };
const TINY = ['--layers', '1', '--hidden', '16', '--emb', '8', '--batch', '4', '--seq', '16', '--backend', 'reference', '--sample-length', '0'];
const CORPUS = 'the cat sat on the mat; the dog ran far away.\n'.repeat(60);

let dir: string;
const { cli, ok } = cliRunner(() => dir, ENV);
const at = (...names: string[]): string => join(dir, ...names);
const sha256 = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex');



/** One line on stderr, "charrnn: ..." matching `says`, exit 1, no stack trace. */
function assertRefused(r: SpawnSyncReturns<string>, says: RegExp): void {
  assert.equal(r.signal, null, `killed by ${r.signal} (a spin?)`);
  assert.equal(r.status, 1, r.stderr);
  const lines = r.stderr.split('\n');
  assert.equal(lines.pop(), '');
  assert.equal(lines.length, 1, `expected one line on stderr: ${JSON.stringify(r.stderr)}`);
  assert.match(lines[0], says);
}

interface Ended { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }

/** A training process, and a promise for the first stdout line matching a pattern. */
function startTraining(args: string[]): { child: ReturnType<typeof spawn>; line: (re: RegExp) => Promise<string>; done: Promise<Ended> } {
  const child = spawn(process.execPath, [MAIN, ...args], { cwd: dir, env: ENV, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  const waiting: { re: RegExp; resolve: (l: string) => void }[] = [];
  const check = (): void => {
    for (const w of [...waiting]) {
      const found = stdout.split('\n').slice(0, -1).find(l => w.re.test(l));
      if (found !== undefined) {
        waiting.splice(waiting.indexOf(w), 1);
        w.resolve(found);
      }
    }
  };
  child.stdout!.setEncoding('utf8').on('data', (d: string) => { stdout += d; check(); });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
  const guard = setTimeout(() => child.kill('SIGKILL'), 60_000); // a safety net, not a timing assertion
  const done = new Promise<Ended>(resolve => {
    child.on('close', (code, signal) => { clearTimeout(guard); resolve({ code, signal, stdout, stderr }); });
  });
  const line = (re: RegExp): Promise<string> => Promise.race([
    new Promise<string>(resolve => { waiting.push({ re, resolve }); check(); }),
    done.then(r => { throw new Error(`training ended (${r.code ?? r.signal}) before printing ${re}: ${r.stderr}`); }),
  ]);
  return { child, line, done };
}

const stepOf = (path: string): number =>
  (JSON.parse(decodeSafetensors(readFileSync(path), path).metadata.training) as { steps: number }).steps;
const logEvents = (folder: string): Record<string, unknown>[] =>
  readFileSync(at(folder, 'log.jsonl'), 'utf8').split('\n').filter(l => l !== '').map(l => JSON.parse(l) as Record<string, unknown>);
const tmpFiles = (folder: string): string[] => readdirSync(at(folder)).filter(f => f.endsWith('.tmp'));

/** The pid of a process that has ended (so a lock naming it is stale). */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(r.stdout);
}

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'charrnn-folders-'));
  writeFileSync(at('corpus.txt'), CORPUS);
});

after(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('a run folder belongs to one run', () => {
  test('without --out each run gets a fresh folder runs/<text>-<date>-<n>, said at the start, recording its text', () => {
    const d = new Date();
    const day = `${d.getFullYear()}${String(d.getMonth() + 1).padStart(2, '0')}${String(d.getDate()).padStart(2, '0')}`;
    const first = ok(['train', 'corpus.txt', ...TINY, '--steps', '2', '--val-every', '0']);
    const second = ok(['train', 'corpus.txt', ...TINY, '--steps', '2', '--val-every', '0']);
    assert.match(first.split('\n')[0], new RegExp(`saving to runs/corpus-${day}-1$`));
    assert.match(second.split('\n')[0], new RegExp(`saving to runs/corpus-${day}-2$`));
    for (const n of [1, 2]) {
      // (and loss.svg, loss.png, drawn at validations)
      assert.deepEqual(readdirSync(at('runs', `corpus-${day}-${n}`)).filter(f => !f.startsWith('loss.')).sort(),
        ['best.safetensors', 'checkpoint.safetensors', 'log.jsonl', 'model.safetensors', 'run.json']);
    }
    const record = JSON.parse(readFileSync(at('runs', `corpus-${day}-1`, 'run.json'), 'utf8')) as Record<string, unknown>;
    assert.deepEqual(record.files, [at('corpus.txt')]);
    assert.equal(record.format, 'charrnn-run/1');
  });

  test('a second run or a resume into a folder in use is refused, naming the process that holds it', async () => {
    const run = startTraining(['train', 'corpus.txt', ...TINY, '--steps', '1000000', '--print-every', '1', '--checkpoint-every', '2', '--out', 'busy']);
    await run.line(/^step 3\//);
    const pid = run.child.pid!;
    const lock = JSON.parse(readFileSync(at('busy', '.lock'), 'utf8')) as Record<string, unknown>;
    assert.equal(lock.pid, pid);
    assert.equal(lock.host, hostname());
    const says = new RegExp(`^charrnn: busy is in use by another run \\(process ${pid} on ${hostname()}, since [0-9T:.Z-]+\\); wait for it to end, stop it, or give another --out\\.$`);
    assertRefused(cli(['train', 'corpus.txt', ...TINY, '--steps', '5', '--out', 'busy']), says);
    assertRefused(cli(['train', 'corpus.txt', ...TINY, '--steps', '5', '--out', 'busy', '--force']), says);
    assertRefused(cli(['train', '--resume', 'busy']), says);
    run.child.kill('SIGINT');
    const r = await run.done;
    assert.equal(r.code, 130, r.stderr);
    assert.ok(!existsSync(at('busy', '.lock')), 'the lock is released at the end');
  });

  test("a stale lock (its process gone) is taken over with a note; a killed save's temporary files are removed", () => {
    ok(['train', 'corpus.txt', ...TINY, '--steps', '4', '--val-every', '0', '--out', 'stale']);
    const gone = deadPid();
    writeFileSync(at('stale', '.lock'), JSON.stringify({ pid: gone, host: hostname(), since: '2026-01-01T00:00:00.000Z', token: 'x' }));
    const leftover = `.checkpoint.safetensors.${gone}.tmp`;
    writeFileSync(at('stale', leftover), new Uint8Array(1 << 20)); // a save cut short
    const live = `.loss.svg.${process.pid}.tmp`; // a live process's (this one's) write in progress
    writeFileSync(at('stale', live), 'x');
    const out = ok(['train', '--resume', 'stale', '--steps', '6']);
    assert.match(out, new RegExp(`^note: took over the lock of process ${gone} \\(since 2026-01-01T00:00:00.000Z\\), which is gone`, 'm'));
    assert.match(out, new RegExp(`^note: removed 1 temporary file left in stale by an interrupted save: \\${leftover}$`, 'm'));
    assert.deepEqual(tmpFiles('stale'), [live]);
    assert.ok(!existsSync(at('stale', '.lock')));
    const notes = logEvents('stale').filter(e => e.event === 'note').map(e => e.message as string);
    assert.ok(notes.some(m => m.startsWith(`took over the lock of process ${gone}`)), 'the note is a run event, in log.jsonl');
    assert.equal(stepOf(at('stale', 'model.safetensors')), 6);

    // A lock cut short (the process killed while making it) is stale too, once it is not brand new.
    writeFileSync(at('stale', '.lock'), '{"pid": 12');
    assert.match(ok(['train', '--resume', 'stale', '--steps', '7']), /^note: took over the lock stale\/\.lock, which a killed process left unwritten$/m);
  });

  test('a folder that cannot hold files is refused at once, before any training (no spin under /proc)', () => {
    assertRefused(cli(['train', 'corpus.txt', ...TINY, '--out', '/proc/charrnn-run']),
      /^charrnn: Cannot make the folder \/proc\/charrnn-run: \/proc cannot hold new files or folders\.$/);
    assertRefused(cli(['train', 'corpus.txt', ...TINY, '--out', '/proc/self']),
      /^charrnn: \/proc\/self cannot hold files: writing a test file there failed \(ENOENT\)\.$/);
  });
});

describe('every stop saves, and says so', () => {
  const long = ['corpus.txt', ...TINY, '--steps', '1000000', '--print-every', '1', '--checkpoint-every', '1000'];

  for (const [signal, code] of [['SIGTERM', 143], ['SIGHUP', 129], ['SIGINT', 130]] as const) {
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
    const run = startTraining(['train', 'big.txt', ...TINY, '--hidden', '64', '--steps', '1000000', '--val-frac', '0.5', '--val-max-chars', '0',
      '--val-every', '2', '--print-every', '1', '--out', 'val-stop']);
    await run.line(/^step 2\//); // printed just before the validation starts
    run.child.kill('SIGINT');
    const r = await run.done;
    assert.equal(r.code, 130, r.stderr);
    assert.match(r.stdout, /^stopping at step 2: received SIGINT$/m);
    const events = logEvents('val-stop');
    assert.deepEqual(events.filter(e => e.event === 'validation'), [], 'the validation was abandoned, not finished');
    assert.equal(stepOf(at('val-stop', 'model.safetensors')), 2);
  });
});

describe('resume by folder', () => {
  const flags = ['corpus.txt', ...TINY, '--val-every', '5', '--checkpoint-every', '5'];

  before(() => {
    ok(['train', ...flags, '--steps', '10', '--out', 'r']);
  });

  test('--resume DIR alone continues on the text the folder records', () => {
    ok(['train', ...flags, '--steps', '15', '--out', 'r-straight']);
    ok(['train', ...flags, '--steps', '10', '--out', 'r-alone']);
    const out = ok(['train', '--resume', 'r-alone', '--steps', '15']);
    assert.match(out, new RegExp(`^resuming a 1x16 LSTM .* at step 10 of 15.*; saving to r-alone$`, 'm'));
    assert.equal(sha256(at('r-alone', 'checkpoint.safetensors')), sha256(at('r-straight', 'checkpoint.safetensors')));
  });

  test('the same text from another place is accepted and recorded; other text is refused', () => {
    mkdirSync(at('moved'));
    writeFileSync(at('moved', 'corpus.txt'), CORPUS);
    const out = ok(['train', 'moved/corpus.txt', '--resume', 'r', '--steps', '11']);
    assert.match(out, /^note: the run's text is now read from moved\/corpus\.txt \(the same text as before, at .*corpus\.txt\)$/m);
    assert.deepEqual((JSON.parse(readFileSync(at('r', 'run.json'), 'utf8')) as { files: string[] }).files, [at('moved', 'corpus.txt')]);
    writeFileSync(at('other.txt'), 'something else entirely, '.repeat(40));
    assertRefused(cli(['train', 'other.txt', '--resume', 'r', '--steps', '12']),
      /^charrnn: The text differs from the one the run was trained on \(other\.txt\), so it cannot resume on it\.$/);
    // The recorded text changed on disk.
    writeFileSync(at('moved', 'corpus.txt'), CORPUS + 'one more line\n');
    assertRefused(cli(['train', '--resume', 'r', '--steps', '12']), /^charrnn: The text differs from the one the run was trained on \(.*moved\/corpus\.txt\)/);
    // ... or went away.
    rmSync(at('moved'), { recursive: true });
    assertRefused(cli(['train', '--resume', 'r', '--steps', '12']),
      new RegExp(`^charrnn: The text of the run in r is no longer at ${at('moved', 'corpus.txt')}; give its new place: charrnn train FILE\\.\\.\\. --resume r\\.$`));
    ok(['train', 'corpus.txt', '--resume', 'r', '--steps', '12']);
  });

  test('a folder with no run, a newer format, --steps below the step reached, and --resume without a folder: one sentence each', () => {
    assertRefused(cli(['train', '--resume', 'no-such-run']), /^charrnn: No run to resume: no-such-run is not a folder\.$/);
    mkdirSync(at('empty'));
    assertRefused(cli(['train', '--resume', 'empty']), /^charrnn: empty holds no run to resume: it has no checkpoint\.safetensors\.$/);
    assert.deepEqual(readdirSync(at('empty')), [], 'a refused resume leaves the folder as it was');
    assertRefused(cli(['train', '--resume']), /^charrnn: --resume needs the run's folder: give --resume DIR\.$/);
    assertRefused(cli(['train', '--resume', 'r', '--steps', '3']), /^charrnn: The run is at step 12 already, past --steps 3; give a --steps of 12 or more\.$/);

    // A checkpoint from a newer charrnn.
    ok(['train', ...flags, '--steps', '5', '--out', 'newer']);
    const path = at('newer', 'checkpoint.safetensors');
    const { tensors, metadata } = decodeSafetensors(readFileSync(path), path);
    writeFileSync(path, encodeSafetensors([...tensors].map(([name, t]) => ({ name, ...t })), { ...metadata, format: 'charrnn-checkpoint/2' }));
    assertRefused(cli(['train', '--resume', 'newer']),
      /^charrnn: newer\/checkpoint\.safetensors was saved by a newer charrnn \(format charrnn-checkpoint\/2; this one reads charrnn-checkpoint\/1\); update charrnn to resume it\.$/);
    // A model file where the checkpoint should be.
    renameSync(at('newer', 'model.safetensors'), path);
    assertRefused(cli(['train', '--resume', 'newer']), /^charrnn: newer\/checkpoint\.safetensors is not a usable charrnn checkpoint: it is a model file, not a training checkpoint/);
    // A run record from a newer charrnn.
    const record = JSON.parse(readFileSync(at('r', 'run.json'), 'utf8')) as Record<string, unknown>;
    writeFileSync(at('r', 'run.json'), JSON.stringify({ ...record, format: 'charrnn-run/2' }));
    assertRefused(cli(['train', '--resume', 'r']), /^charrnn: r\/run\.json was written by a newer charrnn \(format charrnn-run\/2; this one reads charrnn-run\/1\); update charrnn to resume this run\.$/);
    writeFileSync(at('r', 'run.json'), JSON.stringify(record));
  });
});

describe('kill -9 at seeded moments, then resume', () => {
  test('four SIGKILLs: each time the files read whole and the run resumes; it ends bit for bit equal to a run never stopped', async t => {
    // Two layers with dropout and a checkpoint every 3 steps (each save fsyncs, so kills land inside saves too).
    const flags = ['--layers', '2', '--hidden', '16', '--emb', '8', '--batch', '4', '--seq', '16', '--dropout', '0.3', '--backend', 'reference',
      '--sample-length', '0', '--val-every', '10', '--checkpoint-every', '3', '--steps', '60'];
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
      found.push(`kill ${kill + 1}: at step ${target} + ${delayMs} ms, checkpoint at ${steps}, temporary files left: ${tmpFiles('killed').length}`);
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
