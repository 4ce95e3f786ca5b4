import { z } from 'zod';
import { generateOptionsSchema, optionRequirement, type GenerateOptionName, type GenerateOptions } from '../generate/options.js';
import { lineOptionRequirement, type LineOptions } from '../generate/line-options.js';
import type { ServerLimits } from './limits.js';

// The JSON schemas fastify validates every request body with. The generation
// options' types and ranges come from the zod schemas of src/generate/options.ts
// (z.toJSONSchema), renamed to the wire's snake_case, with the server's own
// limits on length, count and beam laid over them; the fields only the server
// has (model, stream, OpenAI's names) are written here.

export type JsonSchema = Record<string, unknown>;

const optionSchemas = (
  z.toJSONSchema(generateOptionsSchema, { target: 'draft-7' }) as { properties: Record<GenerateOptionName, JsonSchema> }
).properties;

/** A generation option's JSON schema, at most `max` when given (a server limit below the library's). */
function option(name: GenerateOptionName, max?: number): JsonSchema {
  const s = { ...optionSchemas[name] };
  if (max !== undefined) s.maximum = Math.min(max, typeof s.maximum === 'number' ? s.maximum : max);
  return s;
}

/** A wire field: its option (for the schema and the error sentence) or its own schema and requirement. */
interface WireField {
  schema: JsonSchema;
  /** What the value must be, the end of "x must be ...". */
  requirement: string;
  /** The generation option it sets, if any. */
  option?: GenerateOptionName;
}

function optionField(name: GenerateOptionName, limit?: { max: number; min: number }): WireField {
  const requirement = limit ? `a whole number from ${limit.min} to ${limit.max}` : optionRequirement(name);
  return { schema: option(name, limit?.max), requirement, option: name };
}

const modelField: WireField = {
  schema: { type: 'string', minLength: 1, maxLength: 200 },
  requirement: 'the name of a loaded model (GET /v1/models lists them)',
};
const booleanField: WireField = { schema: { type: 'boolean' }, requirement: 'true or false' };
const streamField = booleanField;

/** How many of the most likely characters to list per position: 0 to the server's --max-logprobs. */
function logprobsField(limits: ServerLimits): WireField {
  return {
    schema: { type: 'integer', minimum: 0, maximum: limits.maxLogprobs },
    requirement: `a whole number from 0 to ${limits.maxLogprobs} (this server's --max-logprobs)`,
  };
}

/** A request body's fields; `fields` keeps the order the schema and messages list them in. */
export interface BodySpec {
  fields: Record<string, WireField>;
  schema: JsonSchema;
}

function bodySpec(fields: Record<string, WireField>, description: string): BodySpec {
  return {
    fields,
    schema: {
      type: 'object',
      description,
      additionalProperties: false,
      properties: Object.fromEntries(Object.entries(fields).map(([k, f]) => [k, f.schema])),
    },
  };
}

/** POST /v1/generate: the generation options in snake_case, with model and stream. */
export function generateBody(limits: ServerLimits): BodySpec {
  return bodySpec(
    {
      model: modelField,
      prime: optionField('prime'),
      length: optionField('length', { min: 0, max: limits.maxLength }),
      temperature: optionField('temperature'),
      top_k: optionField('topK'),
      top_p: optionField('topP'),
      greedy: optionField('greedy'),
      seed: optionField('seed'),
      stop: optionField('stop'),
      end_of_line: optionField('endOfLine'),
      count: optionField('count', { min: 1, max: limits.maxCount }),
      beam: optionField('beam', { min: 1, max: limits.maxBeam }),
      unknown: optionField('unknown'),
      max_length: {
        schema: { type: 'integer', minimum: 1, maximum: limits.maxLength },
        requirement: `a whole number from 1 to ${limits.maxLength}`,
      },
      novel: { schema: { type: 'boolean' }, requirement: lineOptionRequirement('novel') },
      stream: streamField,
      char_logprobs: logprobsField(limits),
      score_prime: booleanField,
    },
    'Generates text continuing prime: count sampled texts, or the beam most likely ones; from a line model, count whole lines.',
  );
}

/** POST /v1/completions: OpenAI's names (max_tokens counts characters); temperature 0 means greedy, as OpenAI has it. */
export function completionsBody(limits: ServerLimits): BodySpec {
  const temperature = optionSchemas.temperature;
  return bodySpec(
    {
      model: modelField,
      prompt: { ...optionField('prime'), requirement: 'a string' },
      max_tokens: { ...optionField('length', { min: 0, max: limits.maxLength }) },
      temperature: {
        schema: { type: 'number', minimum: 0, maximum: temperature.maximum },
        requirement: `a number from 0 (greedy) to ${String(temperature.maximum)}`,
        option: 'temperature',
      },
      top_p: optionField('topP'),
      n: optionField('count', { min: 1, max: limits.maxCount }),
      stop: optionField('stop'),
      seed: optionField('seed'),
      stream: streamField,
      stream_options: {
        schema: { type: 'object', additionalProperties: false, properties: { include_usage: { type: 'boolean' } } },
        requirement: 'an object with include_usage true or false',
      },
      user: { schema: { type: 'string', maxLength: 256 }, requirement: 'a string' },
      logprobs: logprobsField(limits),
      echo: booleanField,
    },
    'OpenAI-compatible completions; a token is a character.',
  );
}

export interface GenerateBody {
  model?: string;
  prime?: string;
  length?: number;
  temperature?: number;
  top_k?: number;
  top_p?: number;
  greedy?: boolean;
  seed?: number;
  stop?: string | string[];
  end_of_line?: boolean;
  count?: number;
  beam?: number;
  unknown?: 'error' | 'skip';
  max_length?: number;
  novel?: boolean;
  stream?: boolean;
  /** Each character's log-probability, with this many of the most likely characters at each position. */
  char_logprobs?: number;
  /** The prime's characters scored too (with char_logprobs). */
  score_prime?: boolean;
}

export interface CompletionsBody {
  model?: string;
  prompt?: string;
  max_tokens?: number;
  temperature?: number;
  top_p?: number;
  n?: number;
  stop?: string | string[];
  seed?: number;
  stream?: boolean;
  stream_options?: { include_usage?: boolean };
  user?: string;
  /** OpenAI's: each token's log-probability, with this many of the most likely tokens at each position. */
  logprobs?: number;
  /** OpenAI's: the prompt is returned before the completion (and scored, with logprobs). */
  echo?: boolean;
}

/** The wire names of the generation options, for parseGenerateOptions' sentences. */
export const GENERATE_NAMES = {
  topK: 'top_k',
  topP: 'top_p',
  endOfLine: 'end_of_line',
  maxLength: 'max_length',
} as const;
/** max_tokens is a line model's max_length: the characters one text (one line) may add. */
export const COMPLETIONS_NAMES = {
  prime: 'prompt',
  length: 'max_tokens',
  topP: 'top_p',
  count: 'n',
  maxLength: 'max_tokens',
} as const;

/** A /v1/generate body as generation options (fields not given stay unset, so the schemas' defaults and conflict rules apply). */
export function generateOptions(b: GenerateBody): GenerateOptions & LineOptions {
  return dropUndefined({
    prime: b.prime,
    length: b.length,
    temperature: b.temperature,
    topK: b.top_k,
    topP: b.top_p,
    greedy: b.greedy,
    seed: b.seed,
    stop: b.stop,
    endOfLine: b.end_of_line,
    count: b.count,
    beam: b.beam,
    unknown: b.unknown,
    maxLength: b.max_length,
    novel: b.novel,
  });
}

/**
 * OpenAI's defaults: 16 tokens; temperature 0 is greedy (top_p 1, the default,
 * then says nothing). A line model writes whole lines: max_tokens, when given,
 * is the most characters a line may add (maxLength), else the line's own default.
 */
export function completionsOptions(b: CompletionsBody, lineModel = false): GenerateOptions & LineOptions {
  const greedy = b.temperature === 0;
  return dropUndefined({
    prime: b.prompt ?? '',
    ...(lineModel ? { maxLength: b.max_tokens } : { length: b.max_tokens ?? 16 }),
    temperature: greedy ? undefined : b.temperature,
    greedy: greedy ? true : undefined,
    topP: greedy && b.top_p === 1 ? undefined : b.top_p,
    count: b.n,
    stop: b.stop,
    seed: b.seed,
  });
}

function dropUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}
