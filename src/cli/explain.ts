import { Command, InvalidArgumentError, Option } from 'commander';
import { basename, extname } from 'node:path';
import { CharrnnError } from '../errors.js';
import type { Explanation } from '../explain/explanation.js';
import type { PatternFeature } from '../explain/text-features.js';
import { INVALID_POLICIES, type InvalidPolicy } from '../text/decoder.js';
import { signedR, unitLabel } from '../report/explain-reading.js';
import { describeChar } from '../text/vocabulary.js';
import type { CliIo } from './io.js';
import { action, type ExitStatus } from './action.js';

/** The most characters a report shows (the library's own bound): each costs a byte per unit in the file. */
const MAX_SHOW = 1_000_000;

interface ExplainFlags {
  text?: string;
  out?: string;
  png?: string;
  show: number;
  units: number;
  pattern?: PatternFeature[];
  encoding?: string;
  invalid: InvalidPolicy;
  backend?: string;
}

function wholeIn(min: number, max: number): (value: string) => number {
  return (value: string) => {
    const n = Number(value.trim());
    if (value.trim() === '' || !Number.isInteger(n) || n < min || n > max)
      throw new InvalidArgumentError(`It must be a whole number from ${min} to ${max.toLocaleString('en')}.`);
    return n;
  };
}

/** `NAME=REGEX`: a feature of the user's, its pattern compiled here so that a bad one is refused before anything is read. */
function pattern(value: string, previous: PatternFeature[] | undefined): PatternFeature[] {
  const at = value.indexOf('=');
  if (at <= 0) throw new InvalidArgumentError('It must be NAME=REGEX, a name, an equals sign and a regular expression.');
  const name = value.slice(0, at).trim();
  const source = value.slice(at + 1);
  if (name === '') throw new InvalidArgumentError('It must be NAME=REGEX, with a name before the equals sign.');
  if (source === '') throw new InvalidArgumentError('It must be NAME=REGEX, with a regular expression after the equals sign.');
  try {
    new RegExp(source, 'u');
  } catch (e) {
    const why = (e instanceof Error ? e.message : String(e)).replace(/^Invalid regular expression: /, '');
    throw new InvalidArgumentError(`Its regular expression does not compile (${why}).`);
  }
  return [...(previous ?? []), { name, pattern: source }];
}

export function explainCommand(io: CliIo, status: ExitStatus): Command {
  return new Command('explain')
    .description(
      'look inside a model reading a text: one self-contained HTML report (the text coloured by surprise, the top guesses ' +
        'at every character, a neuron picker, gate saturation, the hardest passages) and a PNG summary',
    )
    .argument('<model>', 'a model file written by charrnn train (its checkpoint.safetensors works too)')
    .argument('[files...]', 'text files and folders (read recursively, as train reads them), joined in order')
    .option('--text <text>', 'the text to explain, given here instead of files')
    .option('--out <file>', 'the HTML report (default: NAME.explain.html in the current folder, NAME the first file’s name or "text")')
    .option('--png <file>', "the PNG summary (default: the report's path ending in .png)")
    .option('--show <n>', 'characters shown with their guesses and unit values (the first ones of the text)', wholeIn(0, MAX_SHOW), 2000)
    .option('--units <n>', 'strongest units listed per feature', wholeIn(1, 100), 5)
    .option(
      '--pattern <name=regex>',
      'a feature of your own: the characters inside a match of the regular expression (repeatable)',
      pattern,
    )
    .option('--encoding <label>', "the files' encoding (default: UTF-8, or UTF-16 by its byte order mark)")
    .addOption(
      new Option('--invalid <policy>', 'bytes the encoding cannot decode: error, or replace them with U+FFFD')
        .choices(INVALID_POLICIES)
        .default('error'),
    )
    .option('--backend <name>', 'auto, native, wasm or reference')
    .action(
      action(status, async (path: string, files: string[], flags: ExplainFlags) => {
        if (flags.text !== undefined && files.length > 0) throw new CharrnnError('Give either text files or --text, not both.');
        if (flags.text === undefined && files.length === 0)
          throw new CharrnnError('Nothing to explain: give one or more text files or folders, or --text.');
        // The engines, the model and the renderer load only when the command runs.
        const [
          { lineModelInfo },
          { loadModel },
          { loadKernels },
          { loadCorpus },
          { readModelBytes },
          { explainText },
          { explainReport },
          { writeFileAtomic },
        ] = await Promise.all([
          import('../model/line-model.js'),
          import('../model/model-file.js'),
          import('../node/backend.js'),
          import('../node/read-corpus.js'),
          import('../node/run-folder.js'),
          import('../explain/explain-text.js'),
          import('../node/explain-report.js'),
          import('../node/files.js'),
        ]);
        const note = (m: string): void => void io.stderr.write(`charrnn: ${m}\n`);
        const kernels = await loadKernels(flags.backend, note);
        const { model, vocab, metadata } = loadModel(readModelBytes(path), path, kernels);
        const { text, source } =
          flags.text !== undefined
            ? { text: flags.text, source: 'the --text text' }
            : loadCorpus(files, undefined, { encoding: flags.encoding, invalid: flags.invalid, note });
        if (text.length === 0)
          throw new CharrnnError(`${flags.text !== undefined ? 'The --text text' : source} is empty: there is nothing to explain.`);
        const lineModel = lineModelInfo(metadata, path) !== null;
        const explanation = explainText(model, vocab, text, lineModel, {
          show: flags.show,
          units: flags.units,
          patterns: flags.pattern ?? [],
        });
        if (explanation.predicted === 0) {
          throw new CharrnnError(
            `Nothing to explain: the model predicted none of the text's characters; it needs at least 2 characters it knows` +
              `${explanation.unknown > 0 ? ` (${explanation.unknown.toLocaleString('en')} are unknown to it)` : ''}.`,
          );
        }
        const name = flags.text !== undefined ? 'text' : basename(files[0], extname(files[0])) || 'text';
        const htmlPath = flags.out ?? `${name}.explain.html`;
        const pngPath = flags.png ?? `${htmlPath.replace(/\.html?$/i, '')}.png`;
        if (pngPath === htmlPath) throw new CharrnnError(`The report and the summary would both be ${htmlPath}: give --png another path.`);
        const shownSource = flags.text !== undefined ? 'a text' : files.length === 1 ? basename(files[0]) : `${files.length} files`;
        const { html, png } = await explainReport(explanation, shownSource);
        writeFileAtomic(htmlPath, new TextEncoder().encode(html));
        writeFileAtomic(pngPath, png);
        io.stdout.write(summaryLines(explanation) + `report          ${htmlPath}\nsummary         ${pngPath}\n`);
      }),
    );
}

/** What the terminal shows: the score, the unknown characters, each feature's strongest unit. */
function summaryLines(e: Explanation): string {
  const lines = [
    `${e.natsPerChar.toFixed(4)} nats/char over ${e.predicted.toLocaleString('en')} predicted of ${e.chars.toLocaleString('en')} characters` +
      `${e.shown.length < e.chars ? ` (the first ${e.shown.length.toLocaleString('en')} shown)` : ''}`,
  ];
  if (e.unknown > 0) {
    const named = e.unknownChars.slice(0, 5).map(describeChar).join(', ') + (e.unknownChars.length > 5 ? ', …' : '');
    lines.push(`${e.unknown.toLocaleString('en')} characters unknown to the model (${named}): shown, not scored`);
  }
  const width = Math.max(15, ...e.features.map(f => f.name.length));
  for (const f of e.features) {
    const u = f.units[0];
    if (u) lines.push(`${f.name.padEnd(width)} ${unitLabel(u)} (r ${signedR(u.r)})`);
  }
  return lines.join('\n') + '\n';
}
