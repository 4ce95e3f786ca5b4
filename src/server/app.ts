import fastifyStatic from '@fastify/static';
import fastifySwagger from '@fastify/swagger';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { CharrnnError } from '../errors.js';
import type { GenerationResult } from '../generate/generator.js';
import { parseGenerateOptions, type GenerateOptions, type GenerateSettings, type OptionNames } from '../generate/options.js';
import { encodePrime } from '../generate/encode-prime.js';
import { Admission, ServerBusy } from './admission.js';
import { ApiError, errorBody, showValue } from './errors.js';
import { DEFAULT_LIMITS, type ServerLimits } from './limits.js';
import type { ServedModel } from './models.js';
import { GenerationCancelled, ModelScheduler } from './scheduler.js';
import {
  COMPLETIONS_NAMES, GENERATE_NAMES, completionsBody, completionsOptions, generateBody, generateOptions,
  type BodySpec, type CompletionsBody, type GenerateBody, type JsonSchema,
} from './schemas.js';
import { SseWriter } from './sse.js';

export interface ServerOptions {
  models: ServedModel[];
  limits?: Partial<ServerLimits>;
  /** When set, every /v1 request must carry `Authorization: Bearer <token>`. */
  token?: string;
  /** Continuous batching (default true); false runs each request on a batch of its own. */
  batching?: boolean;
  /** A folder of static files served at / (the playground's build) with the headers that make the page cross-origin isolated; unused when it does not exist. */
  staticDir?: string;
  /** Fastify's request log (default off). */
  logger?: boolean;
}

/** What the app keeps besides its routes, for /healthz and for tests. */
export interface ServerState {
  schedulers: Map<string, ModelScheduler>;
  admission: Admission;
  limits: ServerLimits;
}

declare module 'fastify' {
  interface FastifyInstance {
    charrnn: ServerState;
  }
  interface FastifyContextConfig {
    /** The route's body fields, for error sentences that name a field and say what it must be. */
    body?: BodySpec;
  }
}

/** The headers that let the page use SharedArrayBuffer (wasm threads): it must be cross-origin isolated. */
export const ISOLATION_HEADERS = {
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-embedder-policy': 'require-corp',
} as const;

/**
 * The HTTP app of `charrnn serve`: /v1/generate, /v1/completions (OpenAI's),
 * /v1/models, /healthz and /openapi.json, and the page's static files at / when
 * their folder exists. Every body is checked against its JSON schema; every
 * refusal is `{error: {message, type}}` with one sentence. Call `listen` on it.
 */
export async function buildServer(options: ServerOptions): Promise<FastifyInstance> {
  const limits: ServerLimits = { ...DEFAULT_LIMITS, ...options.limits };
  const models = new Map(options.models.map(m => [m.name, m]));
  const schedulers = new Map(options.models.map(m => [m.name, new ModelScheduler(m.model, m.vocab, options.batching ?? true)]));
  const admission = new Admission(limits.maxInFlight, limits.maxQueue);

  const app = Fastify({
    logger: options.logger ?? false,
    bodyLimit: limits.bodyLimit,
    // Values are taken as sent: "10" is not a number, and an unknown field is an error, not dropped.
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, useDefaults: false, allErrors: false, verbose: true } },
    forceCloseConnections: 'idle',
    return503OnClosing: false, // our own 503, in the error shape every other refusal has
  });
  app.decorate('charrnn', { schedulers, admission, limits });
  // JSON bodies parsed plainly: a "__proto__" key is then an own field like any other, which every
  // schema refuses by name (additionalProperties: false at every level), rather than "not valid JSON".
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    const text = String(body);
    if (text.trim() === '') return done(new ApiError(400, 'The request body is empty; send a JSON object.', 'invalid_request_error'), undefined);
    try {
      done(null, JSON.parse(text));
    } catch {
      done(new ApiError(400, 'The request body is not valid JSON.', 'invalid_request_error'), undefined);
    }
  });

  await app.register(fastifySwagger, {
    openapi: {
      info: { title: 'charrnn', version: '0.1.0', description: 'Character-level recurrent language models. A token is a character.' },
      components: options.token ? { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } } : {},
      security: options.token ? [{ bearer: [] }] : [],
    },
  });

  app.setErrorHandler((error: FastifyError, request, reply) => {
    const e = toApiError(error, request);
    if (e.status >= 500) request.log.error(error);
    void reply.code(e.status).headers(e.headers).send(errorBody(e.message, e.type, e.param));
  });
  app.setNotFoundHandler((request, reply) => {
    void reply.code(404).send(errorBody(`There is nothing at ${request.method} ${request.url.split('?')[0]}.`, 'not_found_error'));
  });

  // Draining (SIGTERM): requests already in flight finish; a new one on a kept-alive connection is told to go elsewhere.
  let closing = false;
  app.addHook('preClose', async () => { closing = true; });
  app.addHook('onRequest', async () => {
    if (closing) throw new ApiError(503, 'The server is shutting down; try again in a moment.', 'unavailable', { connection: 'close', 'retry-after': '1' });
  });

  if (options.token !== undefined) {
    const expected = createHash('sha256').update(options.token).digest();
    app.addHook('onRequest', async request => {
      // The route matched, not the raw URL: a path spelled another way (percent-encoded) reaches the same route.
      if (!request.routeOptions.url?.startsWith('/v1/')) return;
      const m = /^Bearer (.+)$/.exec(request.headers.authorization ?? '');
      const given = createHash('sha256').update(m ? m[1] : '').digest();
      if (!m || !timingSafeEqual(given, expected)) {
        throw new ApiError(401, 'This server needs an API key: send the header Authorization: Bearer <token>, with the token it was started with.',
          'authentication_error', { 'www-authenticate': 'Bearer' });
      }
    });
  }

  const modelFor = (name: string | undefined): ServedModel => {
    const names = [...models.keys()].join(', ');
    if (name === undefined) {
      if (models.size === 1) return models.values().next().value!;
      throw new ApiError(400, `Say which model with "model": this server has ${names}.`, 'invalid_request_error', {}, 'model');
    }
    const m = models.get(name);
    if (!m) throw new ApiError(404, `There is no model '${name}' here (the models are ${names}).`, 'not_found_error', {}, 'model');
    return m;
  };

  /**
   * The settings of a request, checked by the generation schemas. A line model
   * writes a line, as it was trained to: from a state fed its end-of-line (put
   * before the prime, so it is counted in the prompt's characters) up to the
   * next one, unless the request says end_of_line: false.
   */
  const settingsFor = (served: ServedModel, options: GenerateOptions, names: OptionNames, unknownHint: string): GenerateSettings => {
    const eol = served.lineEol;
    if (eol !== null && options.endOfLine !== false && options.beam === undefined) {
      const stop = options.stop === undefined ? [] : typeof options.stop === 'string' ? [options.stop] : options.stop;
      options = { ...options, prime: eol + (options.prime ?? ''), stop: [...stop, eol] };
    }
    const settings = parseGenerateOptions(options, names);
    encodePrime(served.vocab, settings.prime, settings.unknown, unknownHint);
    return settings;
  };

  const generate = generateBody(limits);
  app.post('/v1/generate', {
    config: { body: generate },
    schema: {
      summary: 'Generate text',
      description: 'Continues `prime` with `count` sampled texts (or the `beam` most likely ones). With `stream: true` the answer is Server-Sent Events: ' +
        '`data: {"index", "text"}` per piece, then `data: {"finish_reasons", "usage"}` and `data: [DONE]`.',
      body: generate.schema,
      response: { 200: generateResponse, ...errorResponses },
    },
  }, async (request, reply) => {
    const body = request.body as GenerateBody;
    const served = modelFor(body.model);
    const settings = settingsFor(served, generateOptions(body), GENERATE_NAMES, "\"unknown\": \"skip\" drops them");
    const scheduler = schedulers.get(served.name)!;
    const usage = (r: GenerationResult) => ({
      prompt_chars: r.usage.promptChars, generated_chars: r.usage.generatedChars, total_chars: r.usage.promptChars + r.usage.generatedChars,
    });
    const answer = (r: GenerationResult) => ({
      model: served.name, text: r.texts[0] ?? '', texts: r.texts, finish_reasons: r.finishReasons,
      ...(r.logprobs ? { logprobs: r.logprobs } : {}), usage: usage(r),
    });
    return run(request, reply, admission, async (signal, sse) => {
      if (!body.stream) return answer(await generation(scheduler.start(settings), signal));
      const events = sse();
      const job = scheduler.start(settings, pieces => events.pieces(pieces, held => held.flatMap((text, index) => (text ? [{ index, text }] : []))));
      const r = await generation(job, signal);
      events.send({ finish_reasons: r.finishReasons, ...(r.logprobs ? { logprobs: r.logprobs } : {}), usage: usage(r) });
      events.done();
      return undefined;
    });
  });

  const completions = completionsBody(limits);
  app.post('/v1/completions', {
    config: { body: completions },
    schema: {
      summary: 'OpenAI-compatible completions',
      description: 'As OpenAI\'s /v1/completions; `max_tokens` counts characters (default 16), `temperature: 0` is greedy.',
      body: completions.schema,
      response: { 200: completionResponse, ...errorResponses },
    },
  }, async (request, reply) => {
    const body = request.body as CompletionsBody;
    const served = modelFor(body.model);
    const settings = settingsFor(served, completionsOptions(body), COMPLETIONS_NAMES, 'leave them out of the prompt');
    const scheduler = schedulers.get(served.name)!;
    const id = `cmpl-${randomUUID()}`;
    const created = Math.floor(Date.now() / 1000);
    const head = { id, object: 'text_completion', created, model: served.name };
    const usage = (r: GenerationResult) => ({
      prompt_tokens: r.usage.promptChars, completion_tokens: r.usage.generatedChars, total_tokens: r.usage.promptChars + r.usage.generatedChars,
    });
    return run(request, reply, admission, async (signal, sse) => {
      if (!body.stream) {
        const r = await generation(scheduler.start(settings), signal);
        return {
          ...head,
          choices: r.texts.map((text, index) => ({ text, index, logprobs: null, finish_reason: r.finishReasons[index] })),
          usage: usage(r),
        };
      }
      const events = sse();
      const job = scheduler.start(settings, pieces => events.pieces(pieces, held => {
        const choices = held.flatMap((text, index) => (text ? [{ text, index, logprobs: null, finish_reason: null }] : []));
        return choices.length > 0 ? [{ ...head, choices }] : [];
      }));
      const r = await generation(job, signal);
      events.send({ ...head, choices: r.finishReasons.map((finish_reason, index) => ({ text: '', index, logprobs: null, finish_reason })) });
      if (body.stream_options?.include_usage) events.send({ ...head, choices: [], usage: usage(r) });
      events.done();
      return undefined;
    });
  });

  app.get('/v1/models', { schema: { summary: 'The models this server has', response: { 200: modelsResponse } } }, async () => ({
    object: 'list',
    data: options.models.map(m => ({
      id: m.name, object: 'model', created: m.created, owned_by: 'charrnn',
      cell: m.model.config.cell, layers: m.model.config.layers, hidden: m.model.config.hidden, embedding: m.model.config.emb,
      vocab_size: m.vocab.size, line_model: m.lineEol !== null,
    })),
  }));

  app.get('/healthz', { schema: { summary: 'Liveness and load', response: { 200: healthResponse } } }, async () => ({
    status: 'ok',
    models: options.models.length,
    in_flight: admission.active,
    queued: admission.waiting,
    streams: [...schedulers.values()].reduce((n, s) => n + s.batchSize, 0),
  }));

  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  // The playground (another face, built into web/dist): its files at /, cross-origin isolated so its wasm engine may use threads.
  if (options.staticDir !== undefined && existsSync(options.staticDir) && statSync(options.staticDir).isDirectory()) {
    await app.register(fastifyStatic, {
      root: options.staticDir,
      setHeaders: reply => { void reply.headers(ISOLATION_HEADERS); },
    });
  }
  return app;
}

/**
 * Runs one generating request: waits for a place (429 when the queue is full),
 * cancels the generation when the client goes away, and gives the place back
 * at the end. `work` answers with JSON (its return value) or opens an SSE
 * stream and writes to it (returning undefined).
 */
async function run(request: FastifyRequest, reply: FastifyReply, admission: Admission,
  work: (signal: AbortSignal, sse: () => SseWriter) => Promise<object | undefined>): Promise<object | undefined> {
  const gone = new AbortController();
  reply.raw.on('close', () => { if (!reply.raw.writableFinished) gone.abort(new GenerationCancelled()); });
  let release: () => void;
  try {
    release = await admission.enter(gone.signal);
  } catch (e) {
    if (e instanceof ServerBusy) throw new ApiError(429, e.message, 'rate_limit_error', { 'retry-after': '1' });
    reply.hijack(); // the client left while waiting: there is no one to answer
    return undefined;
  }
  let streaming: SseWriter | null = null;
  try {
    return await work(gone.signal, () => {
      reply.hijack();
      streaming = new SseWriter(reply.raw);
      return streaming;
    });
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
async function generation(job: { result: Promise<GenerationResult>; cancel: () => void }, signal: AbortSignal): Promise<GenerationResult> {
  if (signal.aborted) job.cancel();
  else signal.addEventListener('abort', () => job.cancel(), { once: true });
  return job.result;
}

/** Any failure as the one-sentence answer a client gets. */
function toApiError(error: unknown, request: FastifyRequest): ApiError {
  if (error instanceof ApiError) return error;
  if (error instanceof CharrnnError) return new ApiError(400, error.message, 'invalid_request_error', {}, (error as { option?: string }).option || null);
  const e = error as FastifyError & { validation?: AjvError[] };
  if (e.validation && e.validation.length > 0) return validationError(e.validation[0], request);
  switch (e.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new ApiError(413, `The request body is larger than the ${request.server.charrnn.limits.bodyLimit} bytes this server takes.`, 'request_too_large');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new ApiError(415, 'The request body must be JSON, sent with Content-Type: application/json.', 'invalid_request_error');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new ApiError(400, 'The request body is empty; send a JSON object.', 'invalid_request_error');
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new ApiError(400, 'The request body is not valid JSON.', 'invalid_request_error');
  }
  if (error instanceof SyntaxError && e.statusCode === 400) {
    return new ApiError(400, 'The request body is not valid JSON.', 'invalid_request_error');
  }
  const status = e.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    const message = String(e.message || 'The request was refused').replace(/\.?$/, '.');
    return new ApiError(status, message.charAt(0).toUpperCase() + message.slice(1), 'invalid_request_error');
  }
  if (status === 503) return new ApiError(503, 'The server is shutting down.', 'unavailable');
  return new ApiError(500, 'The server failed on this request; it has been logged.', 'server_error');
}

interface AjvError {
  instancePath: string;
  keyword: string;
  params: Record<string, unknown>;
  message?: string;
  data?: unknown;
}

/** An ajv complaint as a sentence that names the field and says what it must be. */
function validationError(v: AjvError, request: FastifyRequest): ApiError {
  const spec = request.routeOptions.config.body;
  const bad = (message: string, param: string | null = null) => new ApiError(400, message, 'invalid_request_error', {}, param);
  if (v.instancePath === '') {
    if (v.keyword === 'additionalProperties') {
      const key = String(v.params.additionalProperty);
      return bad(`Unknown field '${key}'${spec ? ` (the fields are ${Object.keys(spec.fields).join(', ')})` : ''}.`, key);
    }
    return bad('The request body must be a JSON object.');
  }
  const field = decodeURIComponent(v.instancePath.split('/')[1].replace(/~1/g, '/').replace(/~0/g, '~'));
  const wire = spec?.fields[field];
  const body = request.body as Record<string, unknown> | null;
  const given = body && typeof body === 'object' ? body[field] : v.data;
  if (wire) return bad(`${field} must be ${wire.requirement}, not ${showValue(given)}.`, field);
  return bad(`${field} ${v.message ?? 'is invalid'}.`, field);
}

// Response schemas: for the OpenAPI document, and fastify's serializer.
const usageChars: JsonSchema = {
  type: 'object',
  properties: { prompt_chars: { type: 'integer' }, generated_chars: { type: 'integer' }, total_chars: { type: 'integer' } },
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
    logprobs: { type: 'array', items: { type: 'number' }, description: 'Beam search: each text\'s natural-log probability.' },
    usage: usageChars,
  },
};
const completionResponse: JsonSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' }, object: { type: 'string' }, created: { type: 'integer' }, model: { type: 'string' },
    choices: {
      type: 'array',
      items: {
        type: 'object',
        properties: { text: { type: 'string' }, index: { type: 'integer' }, logprobs: { type: 'null' }, finish_reason: finishReason },
      },
    },
    usage: { type: 'object', properties: { prompt_tokens: { type: 'integer' }, completion_tokens: { type: 'integer' }, total_tokens: { type: 'integer' } } },
  },
};
const modelsResponse: JsonSchema = {
  type: 'object',
  properties: {
    object: { type: 'string' },
    data: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          id: { type: 'string' }, object: { type: 'string' }, created: { type: 'integer' }, owned_by: { type: 'string' },
          cell: { type: 'string', enum: ['lstm', 'gru', 'rnn'] }, layers: { type: 'integer' }, hidden: { type: 'integer' },
          embedding: { type: 'integer' }, vocab_size: { type: 'integer' }, line_model: { type: 'boolean' },
        },
      },
    },
  },
};
const healthResponse: JsonSchema = {
  type: 'object',
  properties: {
    status: { type: 'string' }, models: { type: 'integer' }, in_flight: { type: 'integer' }, queued: { type: 'integer' },
    streams: { type: 'integer', description: 'Streams in the models\' shared batches now.' },
  },
};
const errorSchema: JsonSchema = {
  type: 'object',
  properties: {
    error: {
      type: 'object',
      properties: { message: { type: 'string' }, type: { type: 'string' }, param: { type: ['string', 'null'] }, code: { type: 'null' } },
    },
  },
};
const errorResponses = Object.fromEntries([400, 401, 404, 413, 415, 429].map(s => [s, errorSchema]));
