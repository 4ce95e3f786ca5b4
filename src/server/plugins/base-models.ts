import type { FastifyInstance } from 'fastify';
import { readFileSync } from 'node:fs';
import { baseModelFile, baseModelNames, baseModelsFolder } from '../../node/base-models.js';
import { errorBody } from '../api-error.js';

/** Where the page finds the base models: GET /base-models/ lists them, GET /base-models/NAME.safetensors is one. */
export const BASE_MODELS_PATH = '/base-models/';

/**
 * The base models charrnn ships, as files the page can start a fine-tune from
 * (src/node/base-models.ts says which there are): their names, and each file's
 * bytes. Public, as the page's own files are; not part of the /v1 API.
 */
export async function baseModelsPlugin(app: FastifyInstance): Promise<void> {
  app.get(BASE_MODELS_PATH, { schema: { hide: true } }, async () => ({ models: baseModelNames(baseModelsFolder()) }));
  app.get<{ Params: { file: string } }>(`${BASE_MODELS_PATH}:file`, { schema: { hide: true } }, async (request, reply) => {
    const name = request.params.file.replace(/\.safetensors$/, '');
    const file = request.params.file.endsWith('.safetensors') ? baseModelFile(name, baseModelsFolder()) : null;
    if (file === null) {
      return reply
        .code(404)
        .send(errorBody(`There is no base model ${request.params.file}; GET ${BASE_MODELS_PATH} lists them.`, 'not_found_error'));
    }
    return reply.header('content-type', 'application/octet-stream').header('cache-control', 'no-cache').send(readFileSync(file));
  });
}
