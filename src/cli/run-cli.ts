import { Command, CommanderError } from 'commander';
import { benchCommand } from './bench.js';
import { evalCommand } from './eval.js';
import { explainCommand } from './explain.js';
import { exportOnnxCommand } from './export-onnx.js';
import { exportTorchCommand } from './export-torch.js';
import { inspectCommand } from './inspect.js';
import type { CliIo } from './io.js';
import { plotCommand } from './plot.js';
import { fail, type ExitStatus } from './action.js';
import { sampleCommand } from './sample.js';
import { serveCommand } from './serve.js';
import { trainCommand } from './train.js';

/**
 * Commander's complaints as one line like every other charrnn error: "error:
 * unknown option '--hiden'" and its "(Did you mean --hidden?)" line become
 * "charrnn: unknown option '--hiden' (did you mean --hidden?)."
 */
function oneLine(message: string): string {
  const text = message
    .replace(/^error: /, '')
    .split('\n')
    .map(l => l.trim())
    .filter(l => l !== '')
    .join(' ')
    .replace(/\(Did you mean/, '(did you mean');
  return `charrnn: ${text}${/[.!?]$/.test(text) ? '' : '.'}\n`;
}

/** Every command of the CLI with its flags, in the order `--help` lists them (cheap: actions load their code when run). */
export function charrnnCommands(io: CliIo, status: ExitStatus): Command[] {
  return [
    trainCommand,
    sampleCommand,
    serveCommand,
    evalCommand,
    explainCommand,
    plotCommand,
    inspectCommand,
    exportTorchCommand,
    exportOnnxCommand,
    benchCommand,
  ].map(make => make(io, status));
}

/**
 * Runs `charrnn ARGV` (the arguments after the program's name) against `io`
 * and resolves with its exit code. Nothing here ends the process: main.ts does,
 * with the code; a test calls this in-process and reads what was written.
 * Each command's heavy code (engines, server, plotting) is imported only when
 * that command runs.
 */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  const status: ExitStatus = { code: 0 };
  const output = {
    writeOut: (s: string) => {
      io.stdout.write(s);
    },
    writeErr: (s: string) => {
      io.stderr.write(s);
    },
    outputError: (message: string, write: (s: string) => void) => write(oneLine(message)),
  };
  const program = new Command('charrnn')
    .description('character-level recurrent language models: train on any text, then generate more of it')
    .version('0.1.0')
    .exitOverride()
    .configureOutput(output);
  for (const command of charrnnCommands(io, status)) program.addCommand(command.exitOverride().configureOutput(output));
  try {
    await program.parseAsync(argv, { from: 'user' });
    return status.code;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    return fail(e, io);
  }
}
