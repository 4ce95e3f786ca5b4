import { InvalidArgumentError } from 'commander';
import { z } from 'zod';
import { lineOptionRequirement } from '../generate/line-options.js';
import { optionRequirement, type GenerateOptionName } from '../generate/options.js';

// Flag values are validated with zod schemas; a bad value becomes commander's
// one-line "option '--x <n>' argument 'v' is invalid. <reason>" message.

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
export const positiveNumber = parserFor(numeric.pipe(z.number().positive()), 'It must be a number greater than 0.');
export const nonNegativeNumber = parserFor(numeric.pipe(z.number().nonnegative()), 'It must be a number, 0 or more.');
export const probability = parserFor(numeric.pipe(z.number().gt(0).lte(1)), 'It must be a number greater than 0 and at most 1.');
export const dropoutRate = parserFor(numeric.pipe(z.number().gte(0).lt(1)), 'It must be a number from 0 up to (not including) 1.');
export const fraction = parserFor(numeric.pipe(z.number().gte(0).lt(1)), 'It must be a number from 0 up to (not including) 1.');
export const seedValue = parserFor(
  numeric.pipe(z.number().int().gte(0).lte(0xffffffff)),
  'It must be a whole number from 0 to 4294967295.',
);

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

/** A repeatable flag's values, in order. */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}
