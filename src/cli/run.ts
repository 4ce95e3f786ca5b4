import { CharrnnError } from '../errors.js';
import { GenerateOptionsError } from '../generate/options.js';

/**
 * Runs a command's action and turns a failure into one sentence on stderr and a
 * non-zero exit: a CharrnnError is the user's input, said as it is; anything else
 * is a bug in charrnn, said with the stack when CHARRNN_DEBUG is set.
 */
export function action<A extends unknown[]>(fn: (...args: A) => Promise<void> | void): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await fn(...args);
    } catch (e) {
      fail(e);
    }
  };
}

export function fail(e: unknown): never {
  if (e instanceof CharrnnError) {
    process.stderr.write(`charrnn: ${e.message}\n`);
    // Options that conflict are a usage error, as commander's own are.
    process.exit(e instanceof GenerateOptionsError ? 2 : 1);
  }
  const message = e instanceof Error ? e.message : String(e);
  process.stderr.write(`charrnn: internal error: ${message}${/[.!?]$/.test(message) ? '' : '.'}\n`);
  if (process.env.CHARRNN_DEBUG && e instanceof Error) process.stderr.write(`${e.stack}\n`);
  process.exit(70);
}
