import { Command } from 'commander';
import { writeLossPlot } from '../node/plot-files.js';
import { action } from './run.js';

export function plotCommand(): Command {
  return new Command('plot')
    .description('draw the training and validation loss of a run to DIR/loss.svg and DIR/loss.png')
    .argument('<dir>', 'the --out folder of a charrnn train run (it has log.jsonl)')
    .action(action(async (dir: string) => {
      const files = await writeLossPlot(dir);
      process.stdout.write(`${files.svg}\n${files.png}\n`);
    }));
}
