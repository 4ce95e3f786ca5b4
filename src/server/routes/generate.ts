import type { FastifyInstance } from 'fastify';
import type { GenerationResult } from '../../generate/generator.js';
import { ApiError, errorResponses } from '../api-error.js';
import { charLogprobs, checkTraceLength, type CharLogprobs, type LogprobsRequest } from '../char-logprobs.js';
import { answerGeneration, generation } from '../generation-reply.js';
import { serverPacer } from '../pacing.js';
import { jsonInSlices } from '../json-slices.js';
import { generateLines } from '../line-generation.js';
import { requestPlan, servedModel } from '../request-settings.js';
import { GENERATE_NAMES, generateBody, generateOptions, type GenerateBody, type JsonSchema } from '../schemas.js';
import '../state.js';

/** POST /v1/generate: the options of `charrnn sample` over HTTP, answered as JSON or as Server-Sent Events. */
export async function generateRoute(app: FastifyInstance): Promise<void> {
  const body = generateBody(app.charrnn.limits);
  app.post(
    '/v1/generate',
    {
      config: { body },
      schema: {
        summary: 'Generate text',
        description:
          'Continues `prime` with `count` sampled texts (or the `beam` most likely ones); from a line model, `count` whole lines ' +
          '(`max_length`, `novel`). With `stream: true` the answer is Server-Sent Events: `data: {"index", "text"}` per piece (a line model\'s: per line), ' +
          'then `data: {"finish_reasons", "usage"}` and `data: [DONE]`. `char_logprobs: k` adds each text\'s characters with their ' +
          "natural-log probabilities under the model's own distribution (temperature 1) and the k most likely characters at each " +
          "position (streamed: in the last event); `score_prime` scores the prime's characters too.",
        body: body.schema,
        response: { 200: generateResponse, ...errorResponses },
      },
    },
    async (request, reply) => {
      const asked = request.body as GenerateBody;
      const served = servedModel(app, asked.model);
      const plan = requestPlan(served, generateOptions(asked), GENERATE_NAMES, '"unknown": "skip" drops them');
      const scheduler = app.charrnn.schedulers.get(served.name)!;
      if (asked.score_prime === true && asked.char_logprobs === undefined)
        throw new ApiError(
          400,
          "score_prime scores the prime's characters in char_logprobs, so it needs char_logprobs.",
          'invalid_request_error',
          {},
          'score_prime',
        );
      const logprobs: LogprobsRequest | null =
        asked.char_logprobs === undefined ? null : { k: asked.char_logprobs, prime: asked.score_prime === true };
      if (logprobs) checkTraceLength(served, plan, app.charrnn.limits, { logprobs: 'char_logprobs', prime: 'prime' });
      const pacer = logprobs ? serverPacer(app.charrnn) : undefined;
      const scored = async (r: GenerationResult, signal: AbortSignal) =>
        logprobs ? { char_logprobs: wireLogprobs(await charLogprobs(served, plan, r, logprobs, signal, pacer)) } : {};
      const usage = (r: GenerationResult) => ({
        prompt_chars: r.usage.promptChars,
        generated_chars: r.usage.generatedChars,
        total_chars: r.usage.promptChars + r.usage.generatedChars,
      });
      // With char_logprobs an answer may run to megabytes: its JSON is written a slice at a time, so other requests go on meanwhile.
      const answer = async (r: GenerationResult, signal: AbortSignal) => {
        const body = {
          model: served.name,
          text: r.texts[0] ?? '',
          texts: r.texts,
          finish_reasons: r.finishReasons,
          ...(r.logprobs ? { logprobs: r.logprobs } : {}),
          ...(await scored(r, signal)),
          usage: usage(r),
        };
        return logprobs ? jsonInSlices(body, pacer) : body;
      };
      return answerGeneration(request, reply, async (signal, sse) => {
        if (!asked.stream)
          return answer(
            plan.lines ? await generateLines(scheduler, plan.lines, signal) : await generation(scheduler.start(plan.settings), signal),
            signal,
          );
        const events = sse();
        let r: GenerationResult;
        if (plan.lines) {
          // A line is known to be kept (not empty, and with novel not a training line) only once drawn: each goes as one piece.
          r = await generateLines(scheduler, plan.lines, signal);
          r.texts.forEach((text, index) => {
            if (text) events.send({ index, text });
          });
        } else {
          const job = scheduler.start(plan.settings, pieces =>
            events.pieces(pieces, held => held.flatMap((text, index) => (text ? [{ index, text }] : []))),
          );
          r = await generation(job, signal);
        }
        const last = {
          finish_reasons: r.finishReasons,
          ...(r.logprobs ? { logprobs: r.logprobs } : {}),
          ...(await scored(r, signal)),
          usage: usage(r),
        };
        if (logprobs) events.sendJson(await jsonInSlices(last, pacer));
        else events.send(last);
        events.done();
        return undefined;
      });
    },
  );
}

/** char_logprobs on the wire: snake_case, a top list per position most likely first. */
function wireLogprobs(scored: CharLogprobs[]) {
  return scored.map(c => ({ chars: c.chars, logprobs: c.logprobs, top: c.top, prime_chars: c.primeChars }));
}

const charLogprobsSchema: JsonSchema = {
  type: 'array',
  description: "With char_logprobs: per text, its characters (the prime's first with score_prime) and their natural-log probabilities.",
  items: {
    type: 'object',
    properties: {
      chars: { type: 'array', items: { type: 'string' } },
      logprobs: { type: 'array', items: { type: ['number', 'null'] }, description: 'null where nothing predicted the character.' },
      top: {
        type: 'array',
        items: {
          type: ['array', 'null'],
          items: { type: 'object', properties: { char: { type: 'string' }, logprob: { type: 'number' } } },
        },
        description: 'The most likely characters at each position, most likely first.',
      },
      prime_chars: { type: 'integer', description: 'How many of chars are the prime (0 without score_prime).' },
    },
  },
};

const finishReason: JsonSchema = { type: 'string', enum: ['stop', 'length'] };
const generateResponse: JsonSchema = {
  description: 'The texts (JSON), or with stream: true Server-Sent Events.',
  type: 'object',
  properties: {
    model: { type: 'string' },
    text: { type: 'string', description: 'The first text (beam search: the most likely).' },
    texts: { type: 'array', items: { type: 'string' } },
    finish_reasons: { type: 'array', items: finishReason },
    logprobs: { type: 'array', items: { type: 'number' }, description: "Beam search: each text's natural-log probability." },
    char_logprobs: charLogprobsSchema,
    usage: {
      type: 'object',
      properties: { prompt_chars: { type: 'integer' }, generated_chars: { type: 'integer' }, total_chars: { type: 'integer' } },
    },
  },
};
