import type { FastifyError, FastifyRequest } from 'fastify';
import { CharrnnError } from '../errors.js';
import { ApiError, showValue } from './api-error.js';
import './state.js';

/** Any failure as the one-sentence answer a client gets. */
export function toApiError(error: unknown, request: FastifyRequest): ApiError {
  if (error instanceof ApiError) return error;
  if (error instanceof CharrnnError)
    return new ApiError(400, error.message, 'invalid_request_error', {}, (error as { option?: string }).option || null);
  const e = error as FastifyError & { validation?: AjvError[] };
  if (e.validation && e.validation.length > 0) return validationError(e.validation[0], request);
  switch (e.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new ApiError(
        413,
        `The request body is larger than the ${request.server.charrnn.limits.bodyLimit} bytes this server takes.`,
        'request_too_large',
      );
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new ApiError(
        415,
        `The request body must be JSON, sent with Content-Type: application/json (${sentAs(request.headers['content-type'])}).`,
        'invalid_request_error',
      );
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

/** The Content-Type a refused body came with, its media type only (the charset does not matter to the client's fix). */
function sentAs(contentType: string | undefined): string {
  const media = contentType?.split(';')[0].trim();
  return media ? `this one came as ${showValue(media)}` : 'this one came without a Content-Type';
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
