import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { ApiError } from '../api-error.js';

/**
 * Draining (`app.close()`, which `charrnn serve` calls on SIGTERM): requests
 * already in flight finish; a new one on a kept-alive connection is told to go
 * elsewhere, with a 503 in the error shape every other refusal has.
 */
export const drainingPlugin = fp(
  async (app: FastifyInstance) => {
    let closing = false;
    let closeIdle: NodeJS.Timeout | undefined;
    app.addHook('preClose', async () => {
      closing = true;
      // Closing waits for every connection to end. One idle at the start is closed then, but one whose answer
      // finishes while draining would be kept alive for its client (fastify's keepAliveTimeout: 72 s) before the
      // server may exit; it is closed as soon as it is idle instead.
      if (app.server.listening) {
        closeIdle = setInterval(() => app.server.closeIdleConnections(), 50);
        closeIdle.unref();
      }
    });
    app.addHook('onClose', async () => clearInterval(closeIdle));
    app.addHook('onRequest', async () => {
      if (closing)
        throw new ApiError(503, 'The server is shutting down; try again in a moment.', 'unavailable', {
          connection: 'close',
          'retry-after': '1',
        });
    });
  },
  { name: 'charrnn-draining' },
);
