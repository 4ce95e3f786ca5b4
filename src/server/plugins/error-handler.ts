import type { FastifyError, FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { ApiError, errorBody } from '../api-error.js';
import { toApiError } from '../to-api-error.js';

/**
 * How the server reads bodies and refuses requests, for every route: a body is
 * JSON sent as application/json (any other Content-Type, text/plain included,
 * is 415), and every failure, a path with nothing at it included, is answered
 * `{error: {message, type, param, code}}` with one sentence.
 */
export const errorsPlugin = fp(
  async (app: FastifyInstance) => {
    // Fastify would also take text/plain, as a string, which the schemas then refuse as "not a JSON object";
    // a client that sent JSON with the wrong Content-Type is better told which one to send.
    app.removeAllContentTypeParsers();
    // JSON bodies parsed plainly: a "__proto__" key is then an own field like any other, which every
    // schema refuses by name (additionalProperties: false at every level), rather than "not valid JSON".
    app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
      const text = String(body);
      if (text.trim() === '')
        return done(new ApiError(400, 'The request body is empty; send a JSON object.', 'invalid_request_error'), undefined);
      try {
        done(null, JSON.parse(text));
      } catch {
        done(new ApiError(400, 'The request body is not valid JSON.', 'invalid_request_error'), undefined);
      }
    });

    app.setErrorHandler((error: FastifyError, request, reply) => {
      const e = toApiError(error, request);
      if (e.status >= 500) request.log.error(error);
      void reply
        .code(e.status)
        .headers(e.headers)
        .send(errorBody(e.message, e.type, e.param));
    });
    app.setNotFoundHandler((request, reply) => {
      void reply.code(404).send(errorBody(`There is nothing at ${request.method} ${request.url.split('?')[0]}.`, 'not_found_error'));
    });
  },
  { name: 'charrnn-errors' },
);
