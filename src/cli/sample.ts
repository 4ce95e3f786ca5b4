import { Command, Option } from 'commander';
import { DEFAULT_MAX_LINE, type LineOptionNames, type LineOptions } from '../generate/line-options.js';
import type { SampledLines } from '../generate/lines.js';
import { parseGenerateOptions, type GenerateOptions } from '../generate/options.js';
import { flagName } from './flag-names.js';
import { writerClosed, type CliIo } from './io.js';
import { collect, generationNumber } from './flag-parsers.js';
import { action, type ExitStatus } from './action.js';

interface SampleFlags {
  prime: string;
  length: number;
  temperature?: number;
  topK?: number;
  topP?: number;
  greedy?: boolean;
  seed?: number;
  count?: number;
  stop?: string[];
  endOfLine?: boolean;
  beam?: number;
  json?: boolean;
  novel?: boolean;
  maxLength: number;
  unknown: 'error' | 'skip';
  backend?: string;
}

/** The flags as the generation options' messages name them: each option's name in kebab case (flagName). */
const OPTION_FLAGS = Object.fromEntries(
  [
    'prime',
    'length',
    'temperature',
    'topK',
    'topP',
    'greedy',
    'seed',
    'count',
    'stop',
    'endOfLine',
    'beam',
    'unknown',
    'maxLength',
    'novel',
    'lines',
  ].map(option => [option, flagName(option)]),
) as LineOptionNames;

export function sampleCommand(io: CliIo, status: ExitStatus): Command {
  // No defaults for the sampling flags here: the schemas fill them in, and a conflict
  // (--greedy with --temperature, --beam with --seed) is one only when both were given.
  return new Command('sample')
    .description(
      'generate text from a model, continuing a prime text; from a line model (train --lines), --count whole lines, one per line',
    )
    .argument('<model>', 'a model file written by charrnn train (.safetensors)')
    .option('--prime <text>', 'text to start from (fed through the network first)', '')
    .option('--length <n>', 'characters to generate (at most, with --stop or --end-of-line)', generationNumber('length'), 500)
    .option('--temperature <t>', 'softmax temperature: below 1 is safer, above 1 wilder (default 1)', generationNumber('temperature'))
    .option('--top-k <k>', 'sample only among the k most likely characters (default 0: all)', generationNumber('topK'))
    .option('--top-p <p>', 'sample only among the most likely characters that make up probability p (default 1)', generationNumber('topP'))
    .option('--greedy', 'always take the most likely character (argmax)')
    .option('--seed <n>', 'random seed: the same seed gives the same text (default 1)', generationNumber('seed'))
    .option(
      '--count <n>',
      'samples to generate at once, printed one after another with a blank line between; sample i is what --seed (seed + i) gives alone',
      generationNumber('count'),
    )
    .option('--stop <text>', 'end a sample at the first occurrence of this text, which is not printed (repeatable)', collect)
    .option('--end-of-line', 'end a sample at the end of its line (the newline is not printed)')
    .option(
      '--beam <k>',
      'beam search: the k most likely continuations, best first (--json adds their log-probabilities)',
      generationNumber('beam'),
    )
    .option('--json', 'print one JSON object: text, texts, finish_reasons, logprobs (beam), usage; for a line model: lines, drawn')
    .option('--novel', 'line models: only lines that are not in the training text (and no line twice)')
    .option(
      '--max-length <n>',
      `line models: characters drawn per line at most, after the prime (default ${DEFAULT_MAX_LINE})`,
      generationNumber('maxLength'),
      DEFAULT_MAX_LINE,
    )
    .addOption(
      new Option('--unknown <policy>', 'prime characters the model has never seen: error or skip')
        .choices(['error', 'skip'])
        .default('error'),
    )
    .option('--backend <name>', 'auto, native, wasm or reference')
    .action(action(status, (path: string, flags: SampleFlags, command: Command) => sampleAction(io, path, flags, command)));
}

async function sampleAction(io: CliIo, path: string, flags: SampleFlags, command: Command): Promise<void> {
  // The engines, the model and the generators load only when the command runs.
  const [
    { createGenerator },
    { encodePrime },
    { checkLineOptions },
    { lineModelInfo },
    { loadModel },
    { loadKernels },
    { machineMemory },
    { checkMemory, generationMemory },
    { readModelBytes },
  ] = await Promise.all([
    import('../generate/create-generator.js'),
    import('../generate/encode-prime.js'),
    import('../generate/line-options.js'),
    import('../model/line-model.js'),
    import('../model/model-file.js'),
    import('../node/backend.js'),
    import('../node/machine.js'),
    import('../train/memory-estimate.js'),
    import('../node/run-folder.js'),
  ]);
  const explicit = (k: string): boolean => command.getOptionValueSource(k) === 'cli';
  // The options as the library and the server take them: only those given on the command line, so the rules see what the user said.
  const given: GenerateOptions & LineOptions = {
    prime: flags.prime,
    temperature: flags.temperature,
    topK: flags.topK,
    topP: flags.topP,
    greedy: flags.greedy,
    seed: flags.seed,
    count: flags.count,
    stop: flags.stop,
    endOfLine: flags.endOfLine,
    beam: flags.beam,
    unknown: flags.unknown,
  };
  if (explicit('length')) given.length = flags.length;
  if (explicit('maxLength')) given.maxLength = flags.maxLength;
  if (explicit('novel')) given.novel = flags.novel;
  for (const k of Object.keys(given) as (keyof typeof given)[]) if (given[k] === undefined) delete given[k];
  const kernels = await loadKernels(flags.backend, m => io.stderr.write(`charrnn: ${m}\n`));
  const { model, vocab, metadata } = loadModel(readModelBytes(path), path, kernels);
  const lineModel = lineModelInfo(metadata, path);
  // The rules every face shares, in the order the library and the server apply them: which options the model takes, then their values, then the prime.
  const { maxLength, novel, ...generation } = given;
  checkLineOptions(given, lineModel !== null, path, OPTION_FLAGS);
  const settings = parseGenerateOptions({ ...generation, length: flags.length }, OPTION_FLAGS);
  const primeIds = encodePrime(vocab, settings.prime, settings.unknown, '--unknown skip drops them'); // the CLI's words for an unknown character
  // The prime as the model read it (normalised, unknown characters dropped or its unknown symbol), so the text printed is the text continued.
  const prime = vocab.decode(primeIds);
  if (lineModel) {
    const { lineRequestOf, sampleLines } = await import('../generate/lines.js');
    const request = lineRequestOf(settings, lineModel, { maxLength: maxLength ?? flags.maxLength, novel });
    sampleLineModel(io, sampleLines(model, vocab, request, OPTION_FLAGS), request.count, flags);
    return;
  }
  const streams = settings.beam > 0 ? settings.beam : settings.count;
  checkMemory(
    generationMemory(model.config, streams, settings.length, primeIds.length),
    machineMemory(kernels.name),
    `generating ${streams} text${streams === 1 ? '' : 's'} of ${settings.length} character${settings.length === 1 ? '' : 's'}`,
    `use a smaller ${settings.beam > 0 ? '--beam' : '--count'} or --length`,
    '--backend native',
  );
  const generator = createGenerator(model, vocab, settings);
  if (flags.json || generator.count > 1) {
    // The texts are complete only at the end: the streams advance together, and beams change until then.
    for (const _ of generator.pieces()) {
      /* runs to the end */
    }
    const r = generator.result();
    if (flags.json) {
      io.stdout.write(
        `${JSON.stringify({
          prime: flags.prime,
          text: r.texts[0] ?? '',
          texts: r.texts,
          finish_reasons: r.finishReasons,
          ...(r.logprobs ? { logprobs: r.logprobs } : {}),
          usage: { prompt_chars: r.usage.promptChars, generated_chars: r.usage.generatedChars },
        })}\n`,
      );
    } else {
      io.stdout.write(r.texts.map(text => prime + text + '\n').join('\n'));
    }
    return;
  }
  // Written as it is produced, flushed a line (or a few dozen characters) at a time; a reader that has gone
  // (`sample | head`) ends the generation at the next write, not after the whole --length.
  const pieces = generator.pieces();
  try {
    io.stdout.write(prime);
    let pending = '';
    for (const [piece] of pieces) {
      if (writerClosed(io.stdout)) return;
      pending += piece;
      if (piece.includes('\n') || pending.length >= 64) {
        io.stdout.write(pending);
        pending = '';
      }
    }
    if (!writerClosed(io.stdout)) io.stdout.write(pending + '\n');
  } finally {
    pieces.return?.(undefined);
  }
}

/** A line model's sample as the CLI prints it: whole lines, one per line (each the prime as read and what followed), and a sentence when --novel found too few. */
function sampleLineModel(io: CliIo, sampled: SampledLines, count: number, flags: SampleFlags): void {
  const { lines, drawn } = sampled;
  if (flags.json) io.stdout.write(`${JSON.stringify({ prime: flags.prime, lines, drawn })}\n`);
  else io.stdout.write(lines.map(l => l + '\n').join(''));
  if (lines.length < count) {
    io.stderr.write(
      `charrnn: the model gave only ${lines.length} novel line${lines.length === 1 ? '' : 's'} of the ${count} asked for in ${drawn} draws ` +
        `(the others were lines of its training text, repeats or empty); ${flags.greedy ? '--greedy draws the same line every time, so leave it out' : 'a higher --temperature gives more new ones'}.\n`,
    );
  }
}
