import type { FastifyInstance } from 'fastify';
import { randomUUID } from 'node:crypto';
import type { GenerationResult } from '../../generate/generator.js';
import { errorResponses } from '../api-error.js';
import { answerGeneration, generation } from '../generation-reply.js';
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
        description: "As OpenAI's /v1/completions; `max_tokens` counts characters (default 16), `temperature: 0` is greedy.",
        body: body.schema,
        response: { 200: completionResponse, ...errorResponses },
      },
    },
    async (request, reply) => {
      const asked = request.body as CompletionsBody;
      const served = servedModel(app, asked.model);
      const plan = requestPlan(served, completionsOptions(asked, served.line !== null), COMPLETIONS_NAMES, 'leave them out of the prompt');
      const scheduler = app.charrnn.schedulers.get(served.name)!;
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
          return {
            ...head,
            choices: r.texts.map((text, index) => ({ text, index, logprobs: null, finish_reason: r.finishReasons[index] })),
            usage: usage(r),
          };
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
          for (const event of chunk(r.texts)) events.send(event);
        } else {
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
          logprobs: { type: 'null' },
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
