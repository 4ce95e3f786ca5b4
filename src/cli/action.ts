import { CharrnnError, WordedError } from '../errors.js';
import { GenerateOptionsError } from '../generate/options.js';
import { FlagValueError } from './flag-names.js';
import type { CliIo } from './io.js';
import { flagName } from './flag-names.js';

/** The exit code a command's action chose (a signalled training run: 130, 143, 129); 0 unless set. */
export interface ExitStatus {
  code: number;
}

/**
 * A command's action: what it returns, when a number, is the exit code. A
 * failure is not caught here: it travels to runCli, which turns it into one
 * sentence and a code (`fail`).
 */
export function action<A extends unknown[]>(
  status: ExitStatus,
  fn: (...args: A) => Promise<number | void> | number | void,
): (...args: A) => Promise<void> {
  return async (...args: A) => {
    const code = await fn(...args);
    if (typeof code === 'number') status.code = code;
  };
}

/**
 * A failure as one sentence on stderr, and the exit code it gets: a CharrnnError
 * is the user's input, said as it is (1, or 2 for options that conflict); anything
 * else is a bug in charrnn (70), said with the stack when CHARRNN_DEBUG is set.
 */
export function fail(e: unknown, io: CliIo): number {
  if (e instanceof CharrnnError) {
    io.stderr.write(`charrnn: ${e instanceof WordedError ? e.in(flagName) : e.message}\n`);
    // Options that conflict, and a flag's value out of range, are usage errors, as commander's own are.
    return e instanceof GenerateOptionsError || e instanceof FlagValueError ? 2 : 1;
  }
  const message = e instanceof Error ? e.message : String(e);
  io.stderr.write(`charrnn: internal error: ${message}${/[.!?]$/.test(message) ? '' : '.'}\n`);
  if (io.env.CHARRNN_DEBUG && e instanceof Error) io.stderr.write(`${e.stack}\n`);
  return 70;
}
