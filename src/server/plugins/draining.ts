import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { ApiError } from '../errors.js';

/**
 * Draining (`app.close()`, which `charrnn serve` calls on SIGTERM): requests
 * already in flight finish; a new one on a kept-alive connection is told to go
 * elsewhere, with a 503 in the error shape every other refusal has.
 */
export const drainingPlugin = fp(async (app: FastifyInstance) => {
  let closing = false;
  app.addHook('preClose', async () => { closing = true; });
  app.addHook('onRequest', async () => {
    if (closing) throw new ApiError(503, 'The server is shutting down; try again in a moment.', 'unavailable', { connection: 'close', 'retry-after': '1' });
  });
}, { name: 'charrnn-draining' });
