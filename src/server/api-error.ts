/** The `type` of an error body, as OpenAI's API names them, so its clients read ours. */
export type ApiErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'not_found_error'
  | 'request_too_large'
  | 'rate_limit_error'
  | 'server_error'
  | 'unavailable';

/** A request the server refuses: the status, and one sentence for `{error: {message, type}}`. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly type: ApiErrorType,
    readonly headers: Record<string, string> = {},
    readonly param: string | null = null,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** The body of every error answer. */
export function errorBody(
  message: string,
  type: ApiErrorType,
  param: string | null = null,
): { error: { message: string; type: ApiErrorType; param: string | null; code: null } } {
  return { error: { message, type, param, code: null } };
}

/** A value as an error sentence shows it: short strings quoted, long ones cut, objects by kind. */
export function showValue(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  if (typeof v === 'number' || typeof v === 'boolean' || v === null || v === undefined) return String(v);
  if (Array.isArray(v)) return 'a list';
  return 'an object';
}

const errorSchema = {
  type: 'object',
  properties: {
    error: {
      type: 'object',
      properties: { message: { type: 'string' }, type: { type: 'string' }, param: { type: ['string', 'null'] }, code: { type: 'null' } },
    },
  },
};

/** The error answers' response schemas of a route that takes a body: for the OpenAPI document, and fastify's serializer. */
export const errorResponses = Object.fromEntries([400, 401, 404, 413, 415, 429].map(s => [s, errorSchema]));
