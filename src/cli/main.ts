#!/usr/bin/env node
// charrnn as a program: runCli with this process's streams, environment and
// signals, and its exit code as the process's.
import type { CliIo, CliSignals } from './io.js';
import { runCli } from './run-cli.js';
import { fail } from './action.js';

const argv = process.argv.slice(2);
const SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
const signals: CliSignals = {
  listen(handler) {
    for (const s of SIGNALS) process.on(s, handler);
    return () => {
      for (const s of SIGNALS) process.off(s, handler);
    };
  },
  quit: code => process.exit(code),
};
const io: CliIo = {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  signals,
  // Only a command that reads `-` touches the stream: opening it early can hold a pipe.
  get stdin() {
    return process.stdin;
  },
};

// The reader of our output went away (`charrnn sample model | head`): that is not
// an error. A training run goes on quietly, so it still finishes and saves; any
// other command has nothing left to do.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code !== 'EPIPE') process.exit(fail(e, io));
  if (argv[0] === 'train') process.stdout.write = (() => true) as typeof process.stdout.write;
  else process.exit(0);
});

process.exitCode = await runCli(argv, io);
