import { Command, Option } from 'commander';
import { createGenerator } from '../generate/create.js';
import { encodePrime } from '../generate/prime.js';
import { parseGenerateOptions, type GenerateOptions, type OptionNames } from '../generate/options.js';
import { loadModel } from '../model/model-file.js';
import { loadKernels } from '../node/backend.js';
import { machineMemory } from '../node/memory.js';
import { checkMemory, generationMemory } from '../train/memory.js';
import { readBytes } from '../node/files.js';
import { collect, generationNumber } from './options.js';
import { action } from './run.js';

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
  unknown: 'error' | 'skip';
  backend?: string;
}

/** The flags as the generation options' messages name them. */
const FLAG_NAMES: OptionNames = {
  prime: '--prime', length: '--length', temperature: '--temperature', topK: '--top-k', topP: '--top-p', greedy: '--greedy',
  seed: '--seed', count: '--count', stop: '--stop', endOfLine: '--end-of-line', beam: '--beam', unknown: '--unknown',
};

export function sampleCommand(): Command {
  // No defaults for the sampling flags here: the schemas fill them in, and a conflict
  // (--greedy with --temperature, --beam with --seed) is one only when both were given.
  return new Command('sample')
    .description('generate text from a model, continuing a prime text')
    .argument('<model>', 'a model file written by charrnn train (.safetensors)')
    .option('--prime <text>', 'text to start from (fed through the network first)', '')
    .option('--length <n>', 'characters to generate (at most, with --stop or --end-of-line)', generationNumber('length'), 500)
    .option('--temperature <t>', 'softmax temperature: below 1 is safer, above 1 wilder (default 1)', generationNumber('temperature'))
    .option('--top-k <k>', 'sample only among the k most likely characters (default 0: all)', generationNumber('topK'))
    .option('--top-p <p>', 'sample only among the most likely characters that make up probability p (default 1)', generationNumber('topP'))
    .option('--greedy', 'always take the most likely character (argmax)')
    .option('--seed <n>', 'random seed: the same seed gives the same text (default 1)', generationNumber('seed'))
    .option('--count <n>', 'samples to generate at once, printed one after another with a blank line between; sample i is what --seed (seed + i) gives alone', generationNumber('count'))
    .option('--stop <text>', 'end a sample at the first occurrence of this text, which is not printed (repeatable)', collect)
    .option('--end-of-line', 'end a sample at the end of its line (the newline is not printed)')
    .option('--beam <k>', 'beam search: the k most likely continuations, best first (--json adds their log-probabilities)', generationNumber('beam'))
    .option('--json', 'print one JSON object: text, texts, finish_reasons, logprobs (beam), usage')
    .addOption(new Option('--unknown <policy>', 'prime characters the model has never seen: error or skip').choices(['error', 'skip']).default('error'))
    .option('--backend <name>', 'auto, native, wasm or reference')
    .action(action(sampleAction));
}

async function sampleAction(path: string, flags: SampleFlags): Promise<void> {
  const given: GenerateOptions = {
    prime: flags.prime, length: flags.length, temperature: flags.temperature, topK: flags.topK, topP: flags.topP,
    greedy: flags.greedy, seed: flags.seed, count: flags.count, stop: flags.stop, endOfLine: flags.endOfLine, beam: flags.beam,
    unknown: flags.unknown,
  };
  for (const k of Object.keys(given) as (keyof GenerateOptions)[]) if (given[k] === undefined) delete given[k];
  const settings = parseGenerateOptions(given, FLAG_NAMES);
  const kernels = await loadKernels(flags.backend, m => process.stderr.write(`charrnn: ${m}\n`));
  const { model, vocab } = loadModel(readBytes(path), path, kernels);
  const primeIds = encodePrime(vocab, settings.prime, settings.unknown, '--unknown skip drops them'); // the CLI's words for an unknown character
  const streams = settings.beam > 0 ? settings.beam : settings.count;
  checkMemory(generationMemory(model.config, streams, settings.length, primeIds.length), machineMemory(kernels.name),
    `generating ${streams} text${streams === 1 ? '' : 's'} of ${settings.length} character${settings.length === 1 ? '' : 's'}`,
    `use a smaller ${settings.beam > 0 ? '--beam' : '--count'} or --length`);
  const generator = createGenerator(model, vocab, settings);
  if (flags.json || generator.count > 1) {
    // The texts are complete only at the end: the streams advance together, and beams change until then.
    for (const _ of generator.pieces()) { /* runs to the end */ }
    const r = generator.result();
    if (flags.json) {
      process.stdout.write(`${JSON.stringify({
        prime: flags.prime, text: r.texts[0] ?? '', texts: r.texts, finish_reasons: r.finishReasons,
        ...(r.logprobs ? { logprobs: r.logprobs } : {}),
        usage: { prompt_chars: r.usage.promptChars, generated_chars: r.usage.generatedChars },
      })}\n`);
    } else {
      process.stdout.write(r.texts.map(text => flags.prime + text + '\n').join('\n'));
    }
    return;
  }
  // Written as it is produced, flushed a line (or a few dozen characters) at a time.
  process.stdout.write(flags.prime);
  let pending = '';
  for (const [piece] of generator.pieces()) {
    pending += piece;
    if (piece.includes('\n') || pending.length >= 64) {
      process.stdout.write(pending);
      pending = '';
    }
  }
  process.stdout.write(pending + '\n');
}
