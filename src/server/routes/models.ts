import type { FastifyInstance } from 'fastify';
import type { JsonSchema } from '../schemas.js';
import '../state.js';

/** GET /v1/models: OpenAI's list shape, with what each model is. */
export async function modelsRoute(app: FastifyInstance): Promise<void> {
  app.get('/v1/models', { schema: { summary: 'The models this server has', response: { 200: modelsResponse } } }, async () => ({
    object: 'list',
    data: app.charrnn.models.map(m => ({
      id: m.name,
      object: 'model',
      created: m.created,
      owned_by: 'charrnn',
      cell: m.model.config.cell,
      layers: m.model.config.layers,
      hidden: m.model.config.hidden,
      embedding: m.model.config.emb,
      vocab_size: m.vocab.size,
      line_model: m.line !== null,
    })),
  }));
}

const modelsResponse: JsonSchema = {
  type: 'object',
  properties: {
    object: { type: 'string' },
    data: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          id: { type: 'string' },
          object: { type: 'string' },
          created: { type: 'integer' },
          owned_by: { type: 'string' },
          cell: { type: 'string', enum: ['lstm', 'gru', 'rnn'] },
          layers: { type: 'integer' },
          hidden: { type: 'integer' },
          embedding: { type: 'integer' },
          vocab_size: { type: 'integer' },
          line_model: { type: 'boolean' },
        },
      },
    },
  },
};
