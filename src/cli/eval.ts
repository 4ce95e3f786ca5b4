import { Command } from 'commander';
import { CharrnnError } from '../errors.js';
import { loadModel } from '../model/model-file.js';
import { loadKernels } from '../node/backend.js';
import { readBytes } from '../node/files.js';
import { decodeText } from '../text/decoder.js';
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
      // Fewer than 2 known characters leave nothing to predict: say so rather than print NaN.
      if (s.chars === 0) {
        throw new CharrnnError(`Nothing to score: the text needs at least 2 characters the model knows${s.skipped ? ` (${s.skipped} unknown characters were skipped)` : ''}.`);
      }
      if (flags.json) {
        process.stdout.write(JSON.stringify({ nats_per_char: s.natsPerChar, bits_per_char: s.bitsPerChar, perplexity: s.perplexity, chars: s.chars, skipped: s.skipped }) + '\n');
      } else {
        process.stdout.write(`${s.natsPerChar.toFixed(4)} nats/char, ${s.bitsPerChar.toFixed(4)} bits/char, perplexity ${s.perplexity.toFixed(3)} ` +
          `over ${s.chars.toLocaleString('en')} characters${s.skipped ? ` (${s.skipped} unknown characters skipped)` : ''}\n`);
      }
    }));
}
