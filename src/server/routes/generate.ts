import type { FastifyInstance } from 'fastify';
import type { GenerationResult } from '../../generate/generator.js';
import { errorResponses } from '../api-error.js';
import { answerGeneration, generation } from '../generation-reply.js';
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
          'then `data: {"finish_reasons", "usage"}` and `data: [DONE]`.',
        body: body.schema,
        response: { 200: generateResponse, ...errorResponses },
      },
    },
    async (request, reply) => {
      const asked = request.body as GenerateBody;
      const served = servedModel(app, asked.model);
      const plan = requestPlan(served, generateOptions(asked), GENERATE_NAMES, '"unknown": "skip" drops them');
      const scheduler = app.charrnn.schedulers.get(served.name)!;
      const usage = (r: GenerationResult) => ({
        prompt_chars: r.usage.promptChars,
        generated_chars: r.usage.generatedChars,
        total_chars: r.usage.promptChars + r.usage.generatedChars,
      });
      const answer = (r: GenerationResult) => ({
        model: served.name,
        text: r.texts[0] ?? '',
        texts: r.texts,
        finish_reasons: r.finishReasons,
        ...(r.logprobs ? { logprobs: r.logprobs } : {}),
        usage: usage(r),
      });
      return answerGeneration(request, reply, async (signal, sse) => {
        if (!asked.stream)
          return answer(
            plan.lines ? await generateLines(scheduler, plan.lines, signal) : await generation(scheduler.start(plan.settings), signal),
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
        events.send({ finish_reasons: r.finishReasons, ...(r.logprobs ? { logprobs: r.logprobs } : {}), usage: usage(r) });
        events.done();
        return undefined;
      });
    },
  );
}

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
    usage: {
      type: 'object',
      properties: { prompt_chars: { type: 'integer' }, generated_chars: { type: 'integer' }, total_chars: { type: 'integer' } },
    },
  },
};
