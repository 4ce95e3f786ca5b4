// One way for every test to run `charrnn ARGS`: in-process by default (runCli
// with writers that collect what it says, in the test's folder and
// environment), or as a spawned process for the tests in test/e2e/ that need
// what only a process shows (signals, a terminal, wall-clock budgets) and for
// the inner loop's few smoke runs of the program itself. Both give
// { status, stdout, stderr }.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { CliIo } from '../src/cli/io.js';
import { runCli } from '../src/cli/run-cli.js';
import { TINY_FLAGS } from './run-helpers.js';

export const MAIN = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));

/**
 * The tiny model and training every CLI test runs unless it needs otherwise
 * (a flag given after these wins): TINY_SETTINGS of test/run-helpers.ts, on
 * the reference backend, drawing no loss plot.
 */
export const TINY_MODEL = TINY_FLAGS;
export const TINY = [...TINY_MODEL, '--backend', 'reference', '--no-plot'];

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
  /** The signal that ended a spawned run (the safety-net timeout's SIGTERM, say); never set in-process. */
  signal?: NodeJS.Signals | null;
}

export interface CliRunner {
  /** Runs `charrnn ARGS` (with `input` on standard input) in the folder and returns what it did. */
  cli(args: string[], input?: string | Uint8Array): Promise<CliResult>;
  /** Runs it and insists that it succeeded, showing stderr when it did not; returns stdout. */
  ok(args: string[], input?: string | Uint8Array): Promise<string>;
}

/** The environment every CLI test starts from: no backend chosen outside the test, no stack traces. */
const QUIET_ENV = { CHARRNN_BACKEND: '', CHARRNN_DEBUG: '' };

let queue: Promise<unknown> = Promise.resolve();

/**
 * An in-process runner in the folder `cwd()` gives at each call (test files make
 * theirs in `before`), with `env` over this process's environment. The folder
 * and the environment are the process's own, so runs take turns.
 */
export function cliRunner(cwd: () => string, env: NodeJS.ProcessEnv = {}): CliRunner {
  const once = async (args: string[], input?: string | Uint8Array): Promise<CliResult> => {
    let stdout = '';
    let stderr = '';
    const savedEnv = process.env;
    const savedDir = process.cwd();
    process.env = { ...savedEnv, ...QUIET_ENV, ...env };
    process.chdir(cwd());
    const io: CliIo = {
      stdout: {
        write: (s: string) => {
          stdout += s;
        },
      },
      stderr: {
        write: (s: string) => {
          stderr += s;
        },
      },
      stdin: (async function* () {
        if (input !== undefined) yield typeof input === 'string' ? new TextEncoder().encode(input) : input;
      })(),
      env: process.env,
    };
    try {
      const status = await runCli(args, io);
      return { status, stdout, stderr };
    } finally {
      process.chdir(savedDir);
      process.env = savedEnv;
    }
  };
  const cli = (args: string[], input?: string | Uint8Array): Promise<CliResult> => {
    const r = queue.then(() => once(args, input));
    queue = r.catch(() => {});
    return r;
  };
  const ok = async (args: string[], input?: string | Uint8Array): Promise<string> => {
    const r = await cli(args, input);
    assert.equal(r.status, 0, `charrnn ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
    return r.stdout;
  };
  return { cli, ok };
}

export interface SpawnCliRunner {
  cli(args: string[], input?: string | Uint8Array): CliResult;
  ok(args: string[], input?: string | Uint8Array): string;
}

/** The built CLI spawned as a user runs it: for test/e2e/, and the inner loop's smoke runs of main.ts. */
export function spawnCliRunner(cwd: () => string, env: NodeJS.ProcessEnv = {}): SpawnCliRunner {
  const cli = (args: string[], input?: string | Uint8Array): CliResult => {
    // The timeout is a safety net against a spin, not a timing assertion.
    const r = spawnSync(process.execPath, [MAIN, ...args], {
      cwd: cwd(),
      env: { ...process.env, ...QUIET_ENV, ...env },
      encoding: 'utf8',
      timeout: 60_000,
      input,
    });
    if (r.error) throw r.error;
    return { status: r.status, stdout: r.stdout, stderr: r.stderr, signal: r.signal };
  };
  const ok = (args: string[], input?: string | Uint8Array): string => {
    const r = cli(args, input);
    assert.equal(r.status, 0, `charrnn ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
    return r.stdout;
  };
  return { cli, ok };
}
