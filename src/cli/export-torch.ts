import { Command } from 'commander';
import { relative } from 'node:path';
import type { CliIo } from './io.js';
import { action, type ExitStatus } from './run.js';

interface ExportTorchFlags {
  corpus?: string;
  to?: string;
}

export function exportTorchCommand(io: CliIo, status: ExitStatus): Command {
  return new Command('export-torch')
    .description('write a PyTorch program that continues the run in DIR under torchrun (DDP on many GPUs or machines) and saves back in charrnn\'s formats')
    .argument('<dir>', 'the run folder (the --out of charrnn train)')
    .argument('[files...]', 'the text files the run trained on (default: the text the run records); read with the run\'s own text settings (encoding, --invalid, normalisation), so there is no --encoding')
    .option('--corpus <name>', 'the embedded corpus the run trained on, instead of files')
    .option('--to <outdir>', 'where the program and the text go (default: DIR/torch)')
    .action(action(status, (dir: string, files: string[], flags: ExportTorchFlags) => exportTorchAction(io, dir, files, flags)));
}

async function exportTorchAction(io: CliIo, dir: string, files: string[], flags: ExportTorchFlags): Promise<void> {
  const { exportTorch, torchrunCommand } = await import('../node/export-torch.js');
  const r = await exportTorch({ run: dir, files, corpus: flags.corpus, to: flags.to, stdin: io.stdin });
  const program = relative(process.cwd(), r.program) || r.program;
  const torchrun = torchrunCommand();
  // PyTorch 1.13's torchrun cannot parse its own default --redirects/--tee under Python 3.11; a mapping for a rank that does not exist sidesteps it.
  const ids = `${relative(process.cwd(), r.ids) || r.ids} (${r.chars.toLocaleString('en')} characters${r.lineMetadata ? ', the lines each followed by the end-of-line' : ''})`;
  const written = r.lineMetadata ? `${program}, ${ids} and ${relative(process.cwd(), r.lineMetadata) || r.lineMetadata}` : `${program} and ${ids}`;
  io.stdout.write(`wrote ${written}; ` +
    `the run is at step ${r.steps}. Continue it with:\n  ${torchrun} --standalone --nproc_per_node N ${program} --resume ${dir}\n` +
    `or, where that stops with "'NoneType' object has no attribute 'get'" (PyTorch 1.13 on Python 3.11, as in Debian 12):\n` +
    `  ${torchrun} --standalone --redirects 9:1 --tee 9:1 --nproc_per_node N ${program} --resume ${dir}\n`);
}
