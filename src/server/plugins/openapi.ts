import fastifySwagger from '@fastify/swagger';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';

/**
 * GET /openapi.json: the OpenAPI 3 document of every route registered after
 * this plugin, from their JSON schemas. With a token, it says the /v1 routes
 * need a bearer token.
 */
export const openapiPlugin = fp<{ bearer: boolean }>(
  async (app: FastifyInstance, { bearer }) => {
    await app.register(fastifySwagger, {
      openapi: {
        info: { title: 'charrnn', version: '0.1.0', description: 'Character-level recurrent language models. A token is a character.' },
        components: bearer ? { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } } : {},
        security: bearer ? [{ bearer: [] }] : [],
      },
    });
    app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  },
  { name: 'charrnn-openapi' },
);
