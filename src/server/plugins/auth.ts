import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { createHash, timingSafeEqual } from 'node:crypto';
import { ApiError } from '../api-error.js';

/** The `Authorization` header's parts: the scheme, case-insensitive (RFC 7235), then the token after one or more spaces. */
const CREDENTIALS = /^([A-Za-z][A-Za-z0-9!#$%&'*+.^_`|~-]*)(?: +(.*))?$/;

/**
 * Every /v1 request must carry `Authorization: Bearer <token>`; /healthz, the
 * OpenAPI document and the page need none. A missing header, another scheme
 * and a wrong token are each told apart, so a client knows what to fix.
 */
export const authPlugin = fp<{ token: string }>(
  async (app: FastifyInstance, { token }) => {
    // Compared as digests: equal lengths for timingSafeEqual, and the time taken says nothing of the token.
    const expected = createHash('sha256').update(token).digest();
    const refuse = (message: string) => new ApiError(401, message, 'authentication_error', { 'www-authenticate': 'Bearer' });
    app.addHook('onRequest', async request => {
      // The route matched, not the raw URL: a path spelled another way (percent-encoded) reaches the same route.
      if (!request.routeOptions.url?.startsWith('/v1/')) return;
      const header = request.headers.authorization;
      if (header === undefined || header.trim() === '') {
        throw refuse('This server needs an API key: send the header Authorization: Bearer <token>, with the token it was started with.');
      }
      const parts = CREDENTIALS.exec(header.trim());
      if (!parts || parts[1].toLowerCase() !== 'bearer' || !parts[2]) {
        throw refuse('The Authorization header must be Bearer <token>, with the token this server was started with.');
      }
      if (!timingSafeEqual(createHash('sha256').update(parts[2]).digest(), expected)) {
        throw refuse('The token in the Authorization header is not the one this server was started with.');
      }
    });
  },
  { name: 'charrnn-auth' },
);
