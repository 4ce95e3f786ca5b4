import { Command, Option } from 'commander';
import { CharrnnError } from '../errors.js';
import { INVALID_POLICIES, type InvalidPolicy } from '../text/decoder.js';
import { describeChar } from '../text/vocabulary.js';
import type { LinesScore } from '../train/evaluate.js';
import type { CliIo } from './io.js';
import { action, type ExitStatus } from './action.js';

/** Above this share of unknown characters eval warns: the figure then describes only part of the text. */
const UNKNOWN_WARNING_SHARE = 0.01;

interface EvalFlags {
  json?: boolean;
  backend?: string;
  encoding?: string;
  invalid: InvalidPolicy;
  unknown: 'skip' | 'error';
}

export function evalCommand(io: CliIo, status: ExitStatus): Command {
  return new Command('eval')
    .description(
      'measure how well a model predicts text: cross-entropy in nats and bits per character, and perplexity ' +
        '(a line model scores each line from a fresh state, its end-of-line included)',
    )
    .argument('<model>', 'a model file written by charrnn train (its checkpoint.safetensors works too)')
    .argument('<files...>', 'text files and folders (read recursively, as train reads them), joined in order')
    .option('--encoding <label>', "the files' encoding (default: UTF-8, or UTF-16 by its byte order mark)")
    .addOption(
      new Option('--invalid <policy>', 'bytes the encoding cannot decode: error, or replace them with U+FFFD')
        .choices(INVALID_POLICIES)
        .default('error'),
    )
    .addOption(
      new Option(
        '--unknown <policy>',
        `characters the model does not know: skip them (with a warning above ${UNKNOWN_WARNING_SHARE * 100}% of the text) or error`,
      )
        .choices(['skip', 'error'])
        .default('skip'),
    )
    .option('--json', 'end with one JSON object')
    .option('--backend <name>', 'auto, native, wasm or reference')
    .action(
      action(status, async (path: string, files: string[], flags: EvalFlags) => {
        // The engines and the model load only when the command runs.
        const [{ lineModelInfo }, { loadModel }, { loadKernels }, { loadCorpus }, { readModelBytes }, { scoreLines, scoreText }] =
          await Promise.all([
            import('../model/line-model.js'),
            import('../model/model-file.js'),
            import('../node/backend.js'),
            import('../node/read-corpus.js'),
            import('../node/run-folder.js'),
            import('../train/evaluate.js'),
          ]);
        const kernels = await loadKernels(flags.backend, m => io.stderr.write(`charrnn: ${m}\n`));
        const { model, vocab, metadata } = loadModel(readModelBytes(path), path, kernels);
        const { text } = loadCorpus(files, undefined, {
          encoding: flags.encoding,
          invalid: flags.invalid,
          note: m => io.stderr.write(`charrnn: ${m}\n`),
        });
        const lineModel = lineModelInfo(metadata, path) !== null;
        const s = lineModel ? scoreLines(model, vocab, text) : scoreText(model, vocab, text);
        const lines = lineModel ? (s as LinesScore).lines : null;
        const share = `${(s.unknownShare * 100).toFixed(s.unknownShare < 0.001 ? 3 : 1)}%`;
        const named = `${s.unknownChars.slice(0, 5).map(describeChar).join(', ')}${s.unknownChars.length > 5 ? ', …' : ''}`;
        const treated = vocab.unknownId >= 0 ? "scored as the model's unknown symbol" : 'skipped';
        if (s.unknown > 0 && flags.unknown === 'error') {
          throw new CharrnnError(
            `${share} of the text (${s.unknown.toLocaleString('en')} characters) is unknown to the model: ${named} ` +
              '(--unknown skip scores the rest).',
          );
        }
        // Fewer than 2 known characters leave nothing to predict: say so rather than print NaN.
        if (s.chars === 0) {
          throw new CharrnnError(
            `Nothing to score: the text needs at least 2 characters the model knows${s.skipped ? ` (${s.skipped.toLocaleString('en')} unknown characters were skipped)` : ''}.`,
          );
        }
        if (!Number.isFinite(s.natsPerChar)) {
          throw new CharrnnError(
            `The model's predictions for this text are not finite (the loss is ${s.natsPerChar}), so there is no score to report.`,
          );
        }
        if (s.unknownShare > UNKNOWN_WARNING_SHARE) {
          io.stderr.write(
            `charrnn: ${share} of the text (${s.unknown.toLocaleString('en')} characters) is unknown to the model and was ${treated}: ${named}\n`,
          );
        }
        if (flags.json) {
          io.stdout.write(
            JSON.stringify({
              nats_per_char: s.natsPerChar,
              bits_per_char: s.bitsPerChar,
              perplexity: s.perplexity,
              chars: s.chars,
              skipped: s.skipped,
              unknown: s.unknown,
              unknown_share: s.unknownShare,
              ...(lines === null ? {} : { lines }),
            }) + '\n',
          );
        } else {
          io.stdout.write(
            `${s.natsPerChar.toFixed(4)} nats/char, ${s.bitsPerChar.toFixed(4)} bits/char, perplexity ${s.perplexity.toFixed(3)} ` +
              `over ${s.chars.toLocaleString('en')} characters` +
              `${lines === null ? '' : ` of ${lines.toLocaleString('en')} lines, each from a fresh state with its end-of-line counted as a character`}` +
              `${s.unknown ? ` (${s.unknown.toLocaleString('en')} unknown characters ${treated}, ${share} of the text)` : ''}\n`,
          );
        }
      }),
    );
}
