import type { FastifyInstance } from 'fastify';
import type { JsonSchema } from '../schemas.js';
import '../state.js';

/** GET /healthz: liveness and load, without a token (for load balancers and probes). */
export async function healthRoute(app: FastifyInstance): Promise<void> {
  const { models, admission, schedulers } = app.charrnn;
  app.get('/healthz', { schema: { summary: 'Liveness and load', response: { 200: healthResponse } } }, async () => ({
    status: 'ok',
    models: models.length,
    in_flight: admission.active,
    queued: admission.waiting,
    streams: [...schedulers.values()].reduce((n, s) => n + s.batchSize, 0),
  }));
}

const healthResponse: JsonSchema = {
  type: 'object',
  properties: {
    status: { type: 'string' },
    models: { type: 'integer' },
    in_flight: { type: 'integer' },
    queued: { type: 'integer' },
    streams: { type: 'integer', description: "Streams in the models' shared batches now." },
  },
};
