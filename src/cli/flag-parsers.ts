import { InvalidArgumentError } from 'commander';
import { z } from 'zod';
import { lineOptionRequirement } from '../generate/line-options.js';
import { optionRequirement, type GenerateOptionName } from '../generate/options.js';
import { inRange, requirement, SETTING_RANGES, type RangedSetting } from '../run/setting-ranges.js';

// Flag values are parsed with zod schemas; a value that is not even of the
// flag's kind becomes commander's one-line "option '--x <n>' argument 'v' is
// invalid. <reason>" message. The range of a run setting's flag is the run
// layer's (../run/setting-ranges.ts), and a generation option's the generation
// layer's: those flags get the layer's own sentence, in flag words.

function parserFor<T>(schema: z.ZodType<T>, reason: string): (value: string) => T {
  return (value: string) => {
    const r = schema.safeParse(value);
    if (!r.success) throw new InvalidArgumentError(reason);
    return r.data;
  };
}

const numeric = z
  .string()
  .trim()
  .regex(/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/)
  .transform(Number);

export const positiveInt = parserFor(numeric.pipe(z.number().int().positive()), 'It must be a positive whole number.');
export const nonNegativeInt = parserFor(numeric.pipe(z.number().int().nonnegative()), 'It must be a whole number, 0 or more.');

/**
 * A flag of another command that takes a run setting's value (inspect's
 * --val-frac, bench's --seed): judged at once by the setting's range in the
 * run layer's table, the one train's flags are judged by.
 */
function rangedFlag(setting: RangedSetting): (value: string) => number {
  const range = SETTING_RANGES[setting];
  const reason = `It must be ${requirement(range)}.`;
  return (value: string) => {
    const r = numeric.safeParse(value);
    if (!r.success || !inRange(range, r.data)) throw new InvalidArgumentError(reason);
    return r.data;
  };
}

export const fraction = rangedFlag('valFrac');
export const seedValue = rangedFlag('seed');

/**
 * A numeric flag of a generation option (a line option included). Only that it
 * is a number is judged here: its range is judged with the other options by
 * the rules the library and the server share (parseGenerateOptions,
 * checkLineOptions), so a bad value gets the sentence it gets in every face.
 */
export function generationNumber(name: GenerateOptionName | 'maxLength'): (value: string) => number {
  const reason = `It must be ${name === 'maxLength' ? lineOptionRequirement(name) : optionRequirement(name)}.`;
  return (value: string) => {
    const r = numeric.safeParse(value);
    if (!r.success) throw new InvalidArgumentError(reason);
    return r.data;
  };
}

/**
 * The flag of a run setting or stop limit with a range (../run/setting-ranges.ts).
 * Only that a numeric flag is a number is judged here; its range is judged
 * right after parsing, before any text is read, by the run layer's table
 * (checkFlagRanges), so a bad value gets the sentence the library says, in
 * flag words. An enumerated flag's value passes as given, to the same check.
 */
export function settingFlag(setting: RangedSetting): (value: string) => number | string {
  const range = SETTING_RANGES[setting];
  if ('choices' in range) return (value: string) => value;
  const reason = `It must be ${requirement(range)}.`;
  return (value: string) => {
    const r = numeric.safeParse(value);
    if (!r.success) throw new InvalidArgumentError(reason);
    return r.data;
  };
}

/** A repeatable flag's values, in order. */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}
