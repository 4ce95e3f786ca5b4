import { Command } from 'commander';
import { basename, isAbsolute, relative, sep } from 'node:path';
import type { CliIo } from './io.js';
import { action, type ExitStatus } from './action.js';

interface ExportTorchFlags {
  corpus?: string;
  to?: string;
}

export function exportTorchCommand(io: CliIo, status: ExitStatus): Command {
  return new Command('export-torch')
    .description(
      "write a PyTorch program that continues the run in DIR under torchrun (DDP on many GPUs or machines) and saves back in charrnn's formats",
    )
    .argument('<dir>', 'the run folder (the --out of charrnn train)')
    .argument(
      '[files...]',
      "the text files the run trained on (default: the text the run records); read with the run's own text settings (encoding, --invalid, normalisation), so there is no --encoding",
    )
    .option('--corpus <name>', 'the embedded corpus the run trained on, instead of files')
    .option('--to <outdir>', 'where the program and the text go (default: DIR/torch)')
    .action(action(status, (dir: string, files: string[], flags: ExportTorchFlags) => exportTorchAction(io, dir, files, flags)));
}

async function exportTorchAction(io: CliIo, dir: string, files: string[], flags: ExportTorchFlags): Promise<void> {
  const { exportTorch } = await import('../node/torch-folder.js');
  const r = await exportTorch({ run: dir, files, corpus: flags.corpus, to: flags.to, stdin: io.stdin });
  const here = (path: string): string => relative(process.cwd(), path) || path;
  const ids = `${basename(r.ids)} (${r.chars.toLocaleString('en')} characters${r.lineMetadata ? ', the lines each followed by the end-of-line' : ''})`;
  const written =
    [r.program, r.launcher, r.settings].map(f => basename(f)).join(', ') +
    (r.lineMetadata ? `, ${ids} and ${basename(r.lineMetadata)}` : ` and ${ids}`);
  io.stdout.write(
    `wrote ${written} to ${here(r.folder)}; the run is at step ${r.steps}. ` +
      `Continue it in N processes on this machine (e.g. one per GPU) with:\n  ${commandWord(here(r.launcher))} N --resume ${shellWord(dir)}\n`,
  );
}

/** A path as a shell command: with a folder part, so the shell does not look for it on the PATH. */
const commandWord = (path: string): string => shellWord(isAbsolute(path) || path.includes(sep) ? path : `.${sep}${path}`);

/** A path as one shell word: as it is when it has nothing the shell reads, else single-quoted. */
const shellWord = (word: string): string => (/^[\w./@%+=:,-]+$/.test(word) ? word : `'${word.replaceAll("'", "'\\''")}'`);
