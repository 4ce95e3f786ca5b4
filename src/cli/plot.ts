import { Command } from 'commander';
import type { CliIo } from './io.js';
import { action, type ExitStatus } from './action.js';

export function plotCommand(io: CliIo, status: ExitStatus): Command {
  return new Command('plot')
    .description('draw the training and validation loss of a run to DIR/loss.svg and DIR/loss.png')
    .argument('<dir>', 'the --out folder of a charrnn train run (it has log.jsonl)')
    .action(
      action(status, async (dir: string) => {
        const { writeLossPlot } = await import('../node/plot-files.js');
        const files = await writeLossPlot(dir);
        io.stdout.write(`${files.svg}\n${files.png}\n`);
      }),
    );
}
