// Which generation options make sense for which model: a line model writes
// whole lines, each ended where the model ends it, so the options about running
// text's length and ends do not apply to it, and the line options (maxLength,
// novel) apply to nothing else. The one rule for every face: the CLI, the
// library's model handle and the server each call checkLineOptions with their
// own spelling of the options.
import { z } from 'zod';
import { GenerateOptionsError, MAX_LENGTH, type GenerateOptions, type OptionNames } from './options.js';

/** What a request to a line model may add to the generation options. */
export interface LineOptions {
  /** Characters drawn per line at most, after the prime: a line the model has not ended by then is cut there. Default DEFAULT_MAX_LINE. */
  maxLength?: number;
  /** Only lines that are not in the training text, and no line twice. Default false. */
  novel?: boolean;
}

/** The longest line a line model writes by default, in characters after the prime. */
export const DEFAULT_MAX_LINE = 200;

/** The generation options that are about running text: a line model refuses them. */
export const RUNNING_TEXT_OPTIONS = ['length', 'stop', 'endOfLine', 'beam'] as const;

const LINE_FIELDS = {
  maxLength: [z.number().int().min(1).max(MAX_LENGTH), `a whole number from 1 to ${MAX_LENGTH}`],
  novel: [z.boolean(), 'true or false'],
} as const;

/**
 * How a face spells the options in its messages, line options included, and
 * the training setting that makes a line model (`lines`): the CLI's
 * { maxLength: '--max-length', lines: '--lines' }.
 */
export type LineOptionNames = OptionNames & Partial<Record<keyof LineOptions | 'lines', string>>;

/**
 * Refuses, with GenerateOptionsError (one sentence), the options a model cannot
 * take: for a line model (`lineModel` true) any of RUNNING_TEXT_OPTIONS, for
 * any other model maxLength and novel; and a line option's bad value. `given`
 * holds only the options the caller gave (a face that fills in its own defaults,
 * as the CLI's --length 500, passes the ones given explicitly). `source` names
 * the model in the sentence: "the model" (the handle's), a file's path (the
 * CLI's), a model's name (the server's).
 */
export function checkLineOptions(
  given: GenerateOptions & LineOptions,
  lineModel: boolean,
  source = 'the model',
  names: LineOptionNames = {},
): void {
  const name = (f: keyof typeof names): string => names[f] ?? f;
  if (lineModel) {
    const running = RUNNING_TEXT_OPTIONS.find(f => given[f] !== undefined);
    if (running !== undefined) {
      const subject = source.replace(/^the /, 'The ');
      throw new GenerateOptionsError(
        `${subject} is a line model: it samples whole lines, each ending where the model ends it ` +
          `(at most ${name('maxLength')} characters), so leave ${name(running)} out.`,
        running,
      );
    }
  } else {
    const line = (Object.keys(LINE_FIELDS) as (keyof LineOptions)[]).find(f => given[f] !== undefined);
    if (line !== undefined)
      throw new GenerateOptionsError(
        `${name(line)} applies to line models (trained with ${name('lines')}), and ${source} is not one.`,
        line,
      );
  }
  for (const f of Object.keys(LINE_FIELDS) as (keyof LineOptions)[]) {
    const [schema, requirement] = LINE_FIELDS[f];
    if (given[f] !== undefined && !schema.safeParse(given[f]).success) {
      throw new GenerateOptionsError(`${name(f)} must be ${requirement}, not ${String(given[f])}.`, f);
    }
  }
}

/** What a line option's value must be, as the end of a sentence. */
export function lineOptionRequirement(name: keyof LineOptions): string {
  return LINE_FIELDS[name][1];
}
