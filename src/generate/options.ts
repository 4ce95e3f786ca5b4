import { z } from 'zod';
import { CharrnnError } from '../errors.js';
import { END_OF_LINE } from './stop.js';

// The one definition of what a generation request may say, shared by the
// library, the CLI and the server: each face maps its own spelling (flags,
// JSON fields) onto these names and lets parseGenerateOptions judge the values.

/** The most characters one request may ask for; a face may set a lower limit of its own. */
export const MAX_LENGTH = 100_000_000;

/** The highest temperature: well before it every character is as likely as any other, so a higher one would change nothing. */
export const MAX_TEMPERATURE = 1_000_000;

/** Each option: its schema and, for the error sentence, what it must be. */
const FIELDS = {
  prime: [z.string(), 'a string'],
  length: [z.number().int().min(0).max(MAX_LENGTH), `a whole number from 0 to ${MAX_LENGTH}`],
  temperature: [z.number().positive().max(MAX_TEMPERATURE), `a number greater than 0 and at most ${MAX_TEMPERATURE}`],
  topK: [z.number().int().min(0).max(Number.MAX_SAFE_INTEGER), `a whole number from 0 (all characters) to ${Number.MAX_SAFE_INTEGER}`],
  topP: [z.number().gt(0).lte(1), 'a number greater than 0 and at most 1'],
  greedy: [z.boolean(), 'true or false'],
  seed: [z.number().int().min(0).max(0xffffffff), 'a whole number from 0 to 4294967295'],
  count: [z.number().int().min(1).max(10_000), 'a whole number from 1 to 10000'],
  stop: [z.union([z.string().min(1), z.array(z.string().min(1)).max(64)]), 'a non-empty string or a list of at most 64 of them'],
  endOfLine: [z.boolean(), 'true or false'],
  beam: [z.number().int().min(1).max(1000), 'a whole number from 1 to 1000'],
  unknown: [z.enum(['error', 'skip']), "'error' or 'skip'"],
} as const;

/** The names of the generation options. */
export type GenerateOptionName = keyof typeof FIELDS;
type Field = GenerateOptionName;

/** What an option's value must be, as the end of a sentence: `topP` is 'a number greater than 0 and at most 1'. */
export function optionRequirement(name: GenerateOptionName): string {
  return FIELDS[name][1];
}

/**
 * The options as one zod object (every field optional, no others): what
 * parseGenerateOptions checks first, and what a face that validates JSON itself
 * (the server) turns into its JSON schema with z.toJSONSchema, so there is one
 * definition of every option's type and range.
 */
export const generateOptionsSchema = z.strictObject(
  Object.fromEntries(Object.entries(FIELDS).map(([k, [s]]) => [k, s.optional()])) as {
    [K in Field]: z.ZodOptional<(typeof FIELDS)[K][0]>;
  },
);

/** What a caller may ask of a generation; every field is optional. */
export interface GenerateOptions {
  /** Text fed through the network first; generation continues it (not repeated in the output). Default ''. */
  prime?: string;
  /** Characters to generate at most (fewer when a stop string or the end of the line comes first). Default 500. */
  length?: number;
  /** Softmax temperature, > 0: below 1 safer, above 1 wilder. Default 1. */
  temperature?: number;
  /** Sample among the k most likely characters; 0 (default): all. */
  topK?: number;
  /** Sample among the most likely characters that make up probability p, in (0, 1]; default 1 (all). */
  topP?: number;
  /** Always the most likely character; excludes temperature, topK and topP. */
  greedy?: boolean;
  /** Stream 0's seed (default 1); stream i draws with seed + i, so it is the text that seed gives alone. */
  seed?: number;
  /** Streams generated together as one batch (default 1). */
  count?: number;
  /** Generation ends at the first occurrence of any of these, which is not included. */
  stop?: string | string[];
  /** Generation ends at the end of the line ('\n' or '\r\n', not included): how a line model generates one line. */
  endOfLine?: boolean;
  /** Beam search of this width: the `beam` most likely continuations with their log-probabilities; excludes sampling options and count. */
  beam?: number;
  /** Prime characters the model has never seen: 'error' (default) names them, 'skip' drops them. */
  unknown?: 'error' | 'skip';
}

/** The options with every default filled in, checked; what the generators take. */
export interface GenerateSettings {
  prime: string;
  length: number;
  temperature: number;
  topK: number;
  topP: number;
  greedy: boolean;
  seed: number;
  count: number;
  /** Stop strings, end-of-line ones included when endOfLine. */
  stop: string[];
  endOfLine: boolean;
  /** 0: sampling (or greedy); K > 0: beam search of width K. */
  beam: number;
  unknown: 'error' | 'skip';
}

/** Characters generated when GenerateOptions.length is not given (the prime not counted). */
export const DEFAULT_LENGTH = 500;

/** A generation option that is not what it must be, or options that conflict; the message is one sentence. */
export class GenerateOptionsError extends CharrnnError {
  constructor(
    message: string,
    readonly option: string,
  ) {
    super(message);
    this.name = 'GenerateOptionsError';
  }
}

/**
 * How a face spells the options in its messages: e.g. the CLI's { topK: '--top-k' }. Unnamed ones keep their own name.
 *
 * @useDeclaredType
 */
export type OptionNames = Partial<Record<Field, string>>;

/**
 * Checks options and fills in the defaults. Throws GenerateOptionsError, one
 * sentence, for an unknown option, a value that is not what it must be
 * (temperature 0 or -1, length 2.5, topP 1.5, ...), or a conflict: greedy with
 * temperature, topK or topP; beam with any sampling option or count.
 */
export function parseGenerateOptions(input: unknown, names: OptionNames = {}): GenerateSettings {
  const name = (f: string): string => names[f as Field] ?? f;
  if (input === undefined) input = {};
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new GenerateOptionsError('The generation options must be an object.', '');
  }
  const r = generateOptionsSchema.safeParse(input);
  if (!r.success) {
    const issue = r.error.issues[0];
    if (issue.code === 'unrecognized_keys') {
      const key = issue.keys[0];
      throw new GenerateOptionsError(
        `Unknown generation option '${key}' (the options are ${Object.keys(FIELDS).map(name).join(', ')}).`,
        key,
      );
    }
    const field = String(issue.path[0]) as Field;
    const given = (input as Record<string, unknown>)[field];
    throw new GenerateOptionsError(`${name(field)} must be ${FIELDS[field][1]}, not ${show(given)}.`, field);
  }
  const o = r.data;
  const sampling = (['temperature', 'topK', 'topP'] as const).filter(f => o[f] !== undefined);
  if (o.greedy && sampling.length > 0) {
    throw new GenerateOptionsError(
      `${name('greedy')} always takes the most likely character, so it cannot go with ${sampling.map(name).join(' or ')}.`,
      sampling[0],
    );
  }
  if (o.beam !== undefined) {
    const conflicting = ([...sampling, 'greedy', 'seed', 'count'] as const).filter(
      f => o[f] !== undefined && !(f === 'count' && o.count === 1),
    );
    if (conflicting.length > 0) {
      throw new GenerateOptionsError(
        `${name('beam')} searches for the most likely continuations, so it cannot go with ${conflicting.map(name).join(' or ')}.`,
        conflicting[0],
      );
    }
  }
  const stop = o.stop === undefined ? [] : typeof o.stop === 'string' ? [o.stop] : [...o.stop];
  const endOfLine = o.endOfLine ?? false;
  return {
    prime: o.prime ?? '',
    length: o.length ?? DEFAULT_LENGTH,
    temperature: o.temperature ?? 1,
    topK: o.topK ?? 0,
    topP: o.topP ?? 1,
    greedy: o.greedy ?? false,
    seed: o.seed ?? 1,
    count: o.count ?? 1,
    stop: endOfLine ? [...stop, ...END_OF_LINE] : stop,
    endOfLine,
    beam: o.beam ?? 0,
    unknown: o.unknown ?? 'error',
  };
}

function show(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  if (typeof v === 'number' || typeof v === 'boolean' || v === null || v === undefined) return String(v);
  if (Array.isArray(v)) {
    const json = JSON.stringify(v);
    return json.length > 60 ? `${json.slice(0, 60)}…` : json;
  }
  return `a ${typeof v}`;
}
