import Fastify, { type FastifyInstance } from 'fastify';
import { Admission } from './admission.js';
import { DEFAULT_LIMITS, type ServerLimits } from './limits.js';
import type { ServedModel } from './served-models.js';
import { authPlugin } from './plugins/auth.js';
import { baseModelsPlugin } from './plugins/base-models.js';
import { drainingPlugin } from './plugins/draining.js';
import { errorsPlugin } from './plugins/error-handler.js';
import { openapiPlugin } from './plugins/openapi.js';
import { pageFolder, pagePlugin } from './plugins/page.js';
import { completionsRoute } from './routes/completions.js';
import { generateRoute } from './routes/generate.js';
import { healthRoute } from './routes/health.js';
import { modelsRoute } from './routes/models.js';
import { ModelScheduler } from './scheduler.js';
import type { ServerState } from './state.js';

export { ISOLATION_HEADERS } from './plugins/page.js';
export type { ServerState } from './state.js';

export interface ServerOptions {
  models: ServedModel[];
  limits?: Partial<ServerLimits>;
  /** When set, every /v1 request must carry `Authorization: Bearer <token>`. */
  token?: string;
  /** Continuous batching (default true); false runs each request on a batch of its own. */
  batching?: boolean;
  /**
   * A folder of static files served at / (the playground's build) with the headers that make the page
   * cross-origin isolated; relative to the current directory; one that is missing is refused. Without
   * it, GET / says how to build the page.
   */
  staticDir?: string;
  /** Fastify's request log (default off). */
  logger?: boolean;
}

/**
 * The HTTP app of `charrnn serve`: /v1/generate, /v1/completions (OpenAI's),
 * /v1/models, /healthz and /openapi.json, and the page's static files at /.
 * Every body is checked against its JSON schema; every refusal is
 * `{error: {message, type}}` with one sentence. Call `listen` on it, or `inject`.
 */
export async function buildServer(options: ServerOptions): Promise<FastifyInstance> {
  const limits: ServerLimits = { ...DEFAULT_LIMITS, ...options.limits };
  const state: ServerState = {
    models: options.models,
    schedulers: new Map(options.models.map(m => [m.name, new ModelScheduler(m.model, m.vocab, options.batching ?? true)])),
    admission: new Admission(limits.maxInFlight, limits.maxQueue),
    limits,
  };
  const pageDir = options.staticDir === undefined ? undefined : pageFolder(options.staticDir);
  const app = Fastify({
    logger: options.logger ?? false,
    bodyLimit: limits.bodyLimit,
    // Values are taken as sent: "10" is not a number, and an unknown field is an error, not dropped.
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, useDefaults: false, allErrors: false, verbose: true } },
    forceCloseConnections: 'idle',
    return503OnClosing: false, // the draining plugin's own 503, in the error shape every other refusal has
  });
  app.decorate('charrnn', state);
  await app.register(errorsPlugin);
  await app.register(drainingPlugin);
  if (options.token !== undefined) await app.register(authPlugin, { token: options.token });
  await app.register(openapiPlugin, { bearer: options.token !== undefined });
  for (const route of [generateRoute, completionsRoute, modelsRoute, healthRoute]) await app.register(route);
  await app.register(baseModelsPlugin);
  await app.register(pagePlugin, { dir: pageDir });
  return app;
}
