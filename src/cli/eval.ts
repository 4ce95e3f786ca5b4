import { Command } from 'commander';
import { loadModel } from '../model/model-file.js';
import { loadKernels } from '../node/backend.js';
import { readBytes } from '../node/files.js';
import { decodeText } from '../text/utf8.js';
import { scoreText } from '../train/evaluate.js';
import { action } from './run.js';

export function evalCommand(): Command {
  return new Command('eval')
    .description('measure how well a model predicts text: cross-entropy in nats and bits per character, and perplexity')
    .argument('<model>', 'a model file written by charrnn train')
    .argument('<files...>', 'UTF-8 text files, joined in order')
    .option('--json', 'end with one JSON object')
    .option('--backend <name>', 'auto, native, wasm or reference')
    .action(action(async (path: string, files: string[], flags: { json?: boolean; backend?: string }) => {
      const kernels = await loadKernels(flags.backend, m => process.stderr.write(`charrnn: ${m}\n`));
      const { model, vocab } = loadModel(readBytes(path), path, kernels);
      const text = files.map(f => decodeText(readBytes(f), f)).join('');
      const s = scoreText(model, vocab, text);
      if (flags.json) {
        process.stdout.write(JSON.stringify({ nats_per_char: s.natsPerChar, bits_per_char: s.bitsPerChar, perplexity: s.perplexity, chars: s.chars, skipped: s.skipped }) + '\n');
      } else {
        process.stdout.write(`${s.natsPerChar.toFixed(4)} nats/char, ${s.bitsPerChar.toFixed(4)} bits/char, perplexity ${s.perplexity.toFixed(3)} ` +
          `over ${s.chars.toLocaleString('en')} characters${s.skipped ? ` (${s.skipped} unknown characters skipped)` : ''}\n`);
      }
    }));
}
