// What the export-torch tests share, fast (test/export-torch.test.ts) and slow
// (test/e2e/export-torch.test.ts): a folder of small texts, the CLI as a process
// (for the e2e tier), and how to read what a run logged.
import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { fileURLToPath } from 'node:url';
import { decodeSafetensors, encodeSafetensors } from '../src/model/safetensors.js';
import { Random } from '../src/util/random.js';
import { settingsFlags, TINY_SETTINGS } from './run-helpers.js';

export const MAIN = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
/** python/ of the repository: the program and launcher export-torch copies. */
export const PYTHON_FOLDER = fileURLToPath(new URL('../../python/', import.meta.url));
export const ENV: NodeJS.ProcessEnv = { ...process.env, CHARRNN_BACKEND: 'reference', CHARRNN_DEBUG: '', OMP_NUM_THREADS: '1' };
/** Debian's python3 (where python3-torch and python3-pyflakes install), unless CHARRNN_PYTHON names another. */
export const PYTHON = process.env.CHARRNN_PYTHON ?? (existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3');
/** The line run of the line-mode tests: SGD, whose step (unlike Adam's) scales with the gradient, so a loss normalised wrongly across processes shows; a decay step inside the 20 steps. */
export const LINE_FLAGS = ['--cell', 'lstm', '--optimizer', 'sgd', '--lr', '0.1', '--lr-decay', '0.5', '--lr-decay-every', '15'];
/**
 * The tests' TINY_SETTINGS, wider (hidden 32, emb 16: the size the PyTorch
 * comparisons of test/e2e/export-torch.test.ts run at) on shorter chunks (seq
 * 8), 10% held out (names() counts its batches for it), and no sample.
 */
export const TINY = settingsFlags({ ...TINY_SETTINGS, hidden: 32, emb: 16, seq: 8, valFrac: 0.1, sampleLength: 0 });

/**
 * A fresh folder for one test file's runs, with its texts: corpus.txt (600
 * characters), other.txt, long.txt (40,000) and names.txt (23 lines); removed after.
 */
export function workspace(): {
  at(...p: string[]): string;
  run(cmd: string, args: string[], env?: NodeJS.ProcessEnv): SpawnSyncReturns<string>;
  cli(args: string[]): SpawnSyncReturns<string>;
} {
  let dir = '';
  const at = (...p: string[]): string => join(dir, ...p);
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'charrnn-export-torch-'));
    writeFileSync(at('corpus.txt'), text(600));
    writeFileSync(at('other.txt'), text(601));
    writeFileSync(at('long.txt'), text(40_000));
    writeFileSync(at('names.txt'), names(23));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));
  const run = (cmd: string, args: string[], env: NodeJS.ProcessEnv = ENV): SpawnSyncReturns<string> => {
    const r = spawnSync(cmd, args, { cwd: dir, env, encoding: 'utf8', timeout: 120_000 });
    if (r.error) throw r.error;
    return r;
  };
  return { at, run, cli: args => run(process.execPath, [MAIN, ...args]) };
}

export function ok(r: { status: number | null; stdout: string; stderr: string }, what: string): string {
  assert.equal(r.status, 0, `${what} exited ${r.status}: ${r.stderr}`);
  return r.stdout;
}

export type Event = Record<string, unknown> & { event: string; step: number };
export const events = (runDir: string): Event[] =>
  readFileSync(join(runDir, 'log.jsonl'), 'utf8')
    .split('\n')
    .filter(l => l !== '')
    .map(l => JSON.parse(l) as Event);
export const stepLosses = (runDir: string): Map<number, number> =>
  new Map(
    events(runDir)
      .filter(e => e.event === 'step')
      .map(e => [e.step, e.loss as number]),
  );

/** One line on stderr, prefixed by the program's name, saying `says`; no traceback of ours. */
export function assertOneSentence(r: { status: number | null; stderr: string }, prefix: string, says: RegExp): void {
  assert.notEqual(r.status, 0, 'a bad input must not exit 0');
  const ours = r.stderr.split('\n').filter(l => l.startsWith(prefix));
  assert.equal(ours.length, 1, `expected one "${prefix}" line: ${r.stderr}`);
  assert.match(ours[0], says);
  assert.ok(!/File ".*(train_torch\.py|main\.js)"|^\s+at /m.test(r.stderr), `a traceback of ours on stderr: ${r.stderr}`);
}

/** A small English-like text: a few hundred characters, so the streams wrap within the tests' steps. */
export function text(chars: number): string {
  const words = ['the', 'cat', 'sat', 'on', 'a', 'mat', 'and', 'dog', 'ran', 'to', 'it', 'was', 'not', 'so', 'big'];
  const rng = new Random(7);
  let s = '';
  while (s.length < chars) s += words[Math.floor(rng.next() * words.length)] + (rng.next() < 0.15 ? '.\n' : ' ');
  return s.slice(0, chars);
}

/**
 * A names-like list for line mode: `count` names of one to four syllables, one
 * in eight a copy of an earlier one (name lists repeat names, and copies stay on
 * one side of the held-out split). 23 names leave 21 training lines with --val-frac
 * 0.1: 6 batches of 4 a pass, the first (shortest) of a single line and 3 rows of padding.
 */
export function names(count: number): string {
  const syllables = ['ka', 'ro', 'mi', 'an', 'te', 'lo', 'su', 'ri', 'na', 've', 'do', 'el', 'th', 'ys'];
  const rng = new Random(11);
  const out: string[] = [];
  while (out.length < count) {
    if (out.length > 4 && rng.next() < 0.125) {
      out.push(out[rng.int(out.length)]);
      continue;
    }
    let name = '';
    for (let k = 1 + rng.int(4); k > 0; k--) name += syllables[rng.int(syllables.length)];
    out.push(name[0].toUpperCase() + name.slice(1));
  }
  return out.join('\n') + '\n';
}

/** Rewrites a checkpoint's saved settings as a charrnn that made them would have saved them (the tensors do not depend on them). */
export function withSettings(path: string, extra: Record<string, unknown>): void {
  const { tensors, metadata } = decodeSafetensors(readFileSync(path), path);
  const training = JSON.parse(metadata.training) as { run: { settings: Record<string, unknown> } };
  Object.assign(training.run.settings, extra);
  writeFileSync(
    path,
    encodeSafetensors(
      [...tensors].map(([name, t]) => ({ name, ...t })),
      { ...metadata, training: JSON.stringify(training) },
    ),
  );
}
