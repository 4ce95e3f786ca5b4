// The built CLI, spawned as a user runs it: shared by the tests that check the
// command line end to end (each with its own folder and environment).
import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const MAIN = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));

export interface CliRunner {
  /** Runs `charrnn ARGS` in the folder and returns what it did (exit, stdout, stderr). */
  cli(args: string[]): SpawnSyncReturns<string>;
  /** Runs it and insists that it succeeded, showing stderr when it did not; returns stdout. */
  ok(args: string[]): string;
}

/** A runner in the folder `cwd()` gives at each call (test files make theirs in `before`). */
export function cliRunner(cwd: () => string, env: NodeJS.ProcessEnv): CliRunner {
  const cli = (args: string[]): SpawnSyncReturns<string> => {
    // The timeout is a safety net against a spin, not a timing assertion.
    const r = spawnSync(process.execPath, [MAIN, ...args], { cwd: cwd(), env, encoding: 'utf8', timeout: 60_000 });
    if (r.error) throw r.error;
    return r;
  };
  const ok = (args: string[]): string => {
    const r = cli(args);
    assert.equal(r.status, 0, `charrnn ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
    return r.stdout;
  };
  return { cli, ok };
}
