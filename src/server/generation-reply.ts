import type { FastifyReply, FastifyRequest } from 'fastify';
import type { GenerationResult } from '../generate/generator.js';
import { ServerBusy } from './admission.js';
import { ApiError, errorBody } from './api-error.js';
import { GenerationCancelled } from './scheduler.js';
import { SseWriter } from './sse.js';
import './state.js';
import { toApiError } from './to-api-error.js';

/**
 * Answers one generating request: waits for a place (429 when the queue is
 * full), cancels the generation when the client goes away, and gives the place
 * back at the end. `work` answers with JSON (its return value: an object for
 * the route's serializer, or JSON text already made) or opens an SSE stream and
 * writes to it (returning undefined).
 */
export async function answerGeneration(
  request: FastifyRequest,
  reply: FastifyReply,
  work: (signal: AbortSignal, sse: () => SseWriter) => Promise<object | string | undefined>,
): Promise<object | string | undefined> {
  const gone = new AbortController();
  reply.raw.on('close', () => {
    if (!reply.raw.writableFinished) gone.abort(new GenerationCancelled());
  });
  let release: () => void;
  try {
    release = await request.server.charrnn.admission.enter(gone.signal);
  } catch (e) {
    if (e instanceof ServerBusy) throw new ApiError(429, e.message, 'rate_limit_error', { 'retry-after': '1' });
    reply.hijack(); // the client left while waiting: there is no one to answer
    return undefined;
  }
  let streaming: SseWriter | null = null;
  try {
    const answer = await work(gone.signal, () => {
      reply.hijack();
      streaming = new SseWriter(reply.raw);
      return streaming;
    });
    if (typeof answer === 'string') reply.type('application/json; charset=utf-8');
    return answer;
  } catch (e) {
    if (e instanceof GenerationCancelled) {
      // The client is gone (or the server is closing at once): end whatever is left of the answer.
      if (streaming) (streaming as SseWriter).done();
      else {
        reply.hijack();
        reply.raw.destroy();
      }
      return undefined;
    }
    if (streaming) {
      // Headers are out: the error goes as the last event.
      const err = toApiError(e, request);
      (streaming as SseWriter).send(errorBody(err.message, err.type));
      (streaming as SseWriter).done();
      return undefined;
    }
    throw e;
  } finally {
    release();
  }
}

/** A job's result, cancelling it when the client goes away. */
export async function generation(
  job: { result: Promise<GenerationResult>; cancel: () => void },
  signal: AbortSignal,
): Promise<GenerationResult> {
  if (signal.aborted) job.cancel();
  else signal.addEventListener('abort', () => job.cancel(), { once: true });
  return job.result;
}
