import { Command, Option } from 'commander';
import { CharrnnError } from '../errors.js';
import { loadModel } from '../model/model-file.js';
import { loadKernels } from '../node/backend.js';
import { readBytes } from '../node/files.js';
import { generate, sampleBatch, type SampleOptions } from '../sample/sampler.js';
import { describeChar } from '../text/vocabulary.js';
import { nonNegativeInt, positiveInt, positiveNumber, probability, seedValue } from './options.js';
import { action } from './run.js';

interface SampleFlags {
  prime: string;
  length: number;
  temperature: number;
  topK: number;
  topP: number;
  greedy?: boolean;
  seed: number;
  count: number;
  unknown: 'error' | 'skip';
  backend?: string;
}

export function sampleCommand(): Command {
  return new Command('sample')
    .description('generate text from a model, continuing a prime text')
    .argument('<model>', 'a model file written by charrnn train (.safetensors)')
    .option('--prime <text>', 'text to start from (fed through the network first)', '')
    .option('--length <n>', 'characters to generate', positiveInt, 500)
    .option('--temperature <t>', 'softmax temperature: below 1 is safer, above 1 wilder', positiveNumber, 1)
    .option('--top-k <k>', 'sample only among the k most likely characters (0: all)', nonNegativeInt, 0)
    .option('--top-p <p>', 'sample only among the most likely characters that make up probability p', probability, 1)
    .option('--greedy', 'always take the most likely character (argmax)')
    .option('--seed <n>', 'random seed: the same seed gives the same text', seedValue, 1)
    .option('--count <n>', 'samples to generate at once, printed one after another with a blank line between; sample i is what --seed (seed + i) gives alone', positiveInt, 1)
    .addOption(new Option('--unknown <policy>', 'prime characters the model has never seen: error or skip').choices(['error', 'skip']).default('error'))
    .option('--backend <name>', 'auto, native, wasm or reference')
    .action(action(sampleAction));
}

async function sampleAction(path: string, flags: SampleFlags): Promise<void> {
  const kernels = await loadKernels(flags.backend, m => process.stderr.write(`charrnn: ${m}\n`));
  const { model, vocab } = loadModel(readBytes(path), path, kernels);
  const { unknownChars } = vocab.encode(flags.prime, 'skip');
  if (unknownChars.length > 0 && flags.unknown === 'error') {
    throw new CharrnnError(`The prime has ${unknownChars.length === 1 ? 'a character' : `${unknownChars.length} characters`} the model has never seen: ` +
      `${unknownChars.slice(0, 5).map(describeChar).join(', ')}${unknownChars.length > 5 ? ', …' : ''} (--unknown skip drops them).`);
  }
  const options: SampleOptions = {
    length: flags.length, prime: flags.prime, unknown: flags.unknown, seed: flags.seed, count: flags.count,
    ...(flags.greedy ? { greedy: true } : { temperature: flags.temperature, topK: flags.topK, topP: flags.topP }),
  };
  if (flags.count > 1) {
    // The streams advance together, so the texts are complete only at the end.
    process.stdout.write(sampleBatch(model, vocab, options).map(text => flags.prime + text + '\n').join('\n'));
    return;
  }
  const chars = generate(model, vocab, options);
  // Written as it is produced, flushed a line (or a few dozen characters) at a time.
  process.stdout.write(flags.prime);
  let pending = '';
  for (const c of chars) {
    pending += c;
    if (c === '\n' || pending.length >= 64) {
      process.stdout.write(pending);
      pending = '';
    }
  }
  process.stdout.write(pending + '\n');
}
