#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { benchCommand } from './bench.js';
import { evalCommand } from './eval.js';
import { exportTorchCommand } from './export-torch.js';
import { inspectCommand } from './inspect.js';
import { plotCommand } from './plot.js';
import { fail } from './run.js';
import { sampleCommand } from './sample.js';
import { serveCommand } from './serve.js';
import { trainCommand } from './train.js';

/**
 * Commander's complaints as one line like every other charrnn error: "error:
 * unknown option '--hiden'" and its "(Did you mean --hidden?)" line become
 * "charrnn: unknown option '--hiden' (did you mean --hidden?)."
 */
function oneLine(message: string): string {
  const text = message.replace(/^error: /, '').split('\n').map(l => l.trim()).filter(l => l !== '').join(' ')
    .replace(/\(Did you mean/, '(did you mean');
  return `charrnn: ${text}${/[.!?]$/.test(text) ? '' : '.'}\n`;
}
const output = { outputError: (message: string, write: (s: string) => void) => write(oneLine(message)) };

const program = new Command('charrnn')
  .description('character-level recurrent language models: train on any text, then generate more of it')
  .version('0.1.0')
  .exitOverride()
  .configureOutput(output);

for (const make of [trainCommand, sampleCommand, serveCommand, evalCommand, plotCommand, inspectCommand, exportTorchCommand, benchCommand]) {
  program.addCommand(make().exitOverride().configureOutput(output));
}

// The reader of our output went away (`charrnn sample model | head`): that is not
// an error. A training run goes on quietly, so it still finishes and saves; any
// other command has nothing left to do.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code !== 'EPIPE') fail(e);
  if (process.argv[2] === 'train') process.stdout.write = (() => true) as typeof process.stdout.write;
  else process.exit(0);
});

try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof CommanderError) process.exit(e.exitCode === 0 ? 0 : 2);
  fail(e);
}
