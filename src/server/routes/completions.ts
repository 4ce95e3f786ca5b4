import type { FastifyInstance } from 'fastify';
import { randomUUID } from 'node:crypto';
import type { GenerationResult } from '../../generate/generator.js';
import { ApiError, errorResponses } from '../api-error.js';
import { charLogprobs, checkTraceLength, scoredPrime, type CharLogprobs, type LogprobsRequest } from '../char-logprobs.js';
import { answerGeneration, generation } from '../generation-reply.js';
import { serverPacer, type Pacer } from '../pacing.js';
import { jsonInSlices, mapInSlices } from '../json-slices.js';
import { generateLines } from '../line-generation.js';
import { requestPlan, servedModel } from '../request-settings.js';
import { COMPLETIONS_NAMES, completionsBody, completionsOptions, type CompletionsBody, type JsonSchema } from '../schemas.js';
import '../state.js';

/** POST /v1/completions: OpenAI's completions API, a token being a character, so OpenAI's clients work unchanged. */
export async function completionsRoute(app: FastifyInstance): Promise<void> {
  const body = completionsBody(app.charrnn.limits);
  app.post(
    '/v1/completions',
    {
      config: { body },
      schema: {
        summary: 'OpenAI-compatible completions',
        description:
          "As OpenAI's /v1/completions; `max_tokens` counts characters (default 16), `temperature: 0` is greedy. " +
          "`logprobs: k` gives each character's natural-log probability under the model's own distribution (temperature 1) " +
          'and the k most likely characters at each position (not with `stream`); `echo` returns the prompt (as the model ' +
          'read it) before the completion, scored too with `logprobs`: with `max_tokens: 0` it scores a text without generating.',
        body: body.schema,
        response: { 200: completionResponse, ...errorResponses },
      },
    },
    async (request, reply) => {
      const asked = request.body as CompletionsBody;
      const served = servedModel(app, asked.model);
      const plan = requestPlan(served, completionsOptions(asked, served.line !== null), COMPLETIONS_NAMES, 'leave them out of the prompt');
      const scheduler = app.charrnn.schedulers.get(served.name)!;
      const logprobs: LogprobsRequest | null = asked.logprobs === undefined ? null : { k: asked.logprobs, prime: asked.echo === true };
      if (logprobs && asked.stream)
        throw new ApiError(
          400,
          'logprobs cannot go with stream: true, since they are worked out once a text is whole; ask for them without stream.',
          'invalid_request_error',
          {},
          'logprobs',
        );
      if (logprobs) checkTraceLength(served, plan, app.charrnn.limits, { logprobs: 'logprobs', prime: 'prompt' });
      // echo returns the prompt as the model read it, so that the tokens (characters) make up the text.
      const prime = asked.echo || logprobs ? scoredPrime(served, plan).prime : '';
      const echoed = asked.echo ? prime : '';
      const promptChars = Array.from(prime).length;
      const id = `cmpl-${randomUUID()}`;
      const created = Math.floor(Date.now() / 1000);
      const head = { id, object: 'text_completion', created, model: served.name };
      const usage = (r: GenerationResult) => ({
        prompt_tokens: r.usage.promptChars,
        completion_tokens: r.usage.generatedChars,
        total_tokens: r.usage.promptChars + r.usage.generatedChars,
      });
      return answerGeneration(request, reply, async (signal, sse) => {
        if (!asked.stream) {
          const r = plan.lines
            ? await generateLines(scheduler, plan.lines, signal)
            : await generation(scheduler.start(plan.settings), signal);
          const answer = {
            ...head,
            choices: r.texts.map((text, index) => ({
              text: echoed + text,
              index,
              logprobs: null as object | null,
              finish_reason: r.finishReasons[index],
            })),
            usage: usage(r),
          };
          if (!logprobs) return answer;
          // A long text's logprobs run to megabytes: built and written a slice at a time, so other requests go on meanwhile.
          const pacer = serverPacer(app.charrnn);
          const scored = await charLogprobs(served, plan, r, logprobs, signal, pacer);
          for (const choice of answer.choices) choice.logprobs = await openaiLogprobs(scored[choice.index], promptChars, pacer);
          return jsonInSlices(answer, pacer);
        }
        const events = sse();
        const chunk = (texts: string[]) => {
          const choices = texts.flatMap((text, index) => (text ? [{ text, index, logprobs: null, finish_reason: null }] : []));
          return choices.length > 0 ? [{ ...head, choices }] : [];
        };
        let r: GenerationResult;
        if (plan.lines) {
          // A line model's lines are known to be kept only once drawn: they go as one chunk.
          r = await generateLines(scheduler, plan.lines, signal);
          for (const event of chunk(r.texts.map(text => echoed + text))) events.send(event);
        } else {
          if (echoed) for (const event of chunk(new Array<string>(plan.settings.count).fill(echoed))) events.send(event);
          r = await generation(
            scheduler.start(plan.settings, pieces => events.pieces(pieces, chunk)),
            signal,
          );
        }
        events.send({
          ...head,
          choices: r.finishReasons.map((finish_reason, index) => ({ text: '', index, logprobs: null, finish_reason })),
        });
        if (asked.stream_options?.include_usage) events.send({ ...head, choices: [], usage: usage(r) });
        events.done();
        return undefined;
      });
    },
  );
}

/**
 * OpenAI's `logprobs` of a choice: a token is a character; `top_logprobs` holds
 * the k most likely characters and the chosen one (OpenAI's "up to logprobs + 1"),
 * null where nothing predicted the character; `text_offset` counts characters
 * (code points) from the start of the prompt, as OpenAI counts them.
 */
async function openaiLogprobs(c: CharLogprobs, promptChars: number, pacer: Pacer) {
  const first = promptChars - c.primeChars;
  return {
    tokens: c.chars,
    token_logprobs: c.logprobs,
    top_logprobs: await mapInSlices(
      c.top,
      (top, i) => {
        if (top === null) return null;
        const entries: Record<string, number> = Object.fromEntries(top.map(t => [t.char, t.logprob]));
        if (!Object.hasOwn(entries, c.chars[i])) entries[c.chars[i]] = c.logprobs[i]!;
        return entries;
      },
      pacer,
    ),
    text_offset: c.chars.map((_, i) => first + i),
  };
}

const completionLogprobs: JsonSchema = {
  type: ['object', 'null'],
  description: "With `logprobs`: each token's (character's) natural-log probability and the most likely ones at each position.",
  properties: {
    tokens: { type: 'array', items: { type: 'string' } },
    token_logprobs: { type: 'array', items: { type: ['number', 'null'] } },
    top_logprobs: { type: 'array', items: { type: ['object', 'null'], additionalProperties: { type: 'number' } } },
    text_offset: { type: 'array', items: { type: 'integer' } },
  },
};

const completionResponse: JsonSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    object: { type: 'string' },
    created: { type: 'integer' },
    model: { type: 'string' },
    choices: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          text: { type: 'string' },
          index: { type: 'integer' },
          logprobs: completionLogprobs,
          finish_reason: { type: 'string', enum: ['stop', 'length'] },
        },
      },
    },
    usage: {
      type: 'object',
      properties: { prompt_tokens: { type: 'integer' }, completion_tokens: { type: 'integer' }, total_tokens: { type: 'integer' } },
    },
  },
};
