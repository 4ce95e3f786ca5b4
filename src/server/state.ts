import type { Admission } from './admission.js';
import type { ServerLimits } from './limits.js';
import type { ServedModel } from './served-models.js';
import type { ModelScheduler } from './scheduler.js';
import type { BodySpec } from './schemas.js';

/** What the app keeps besides its routes, shared by its plugins (as `app.charrnn`), and read by /healthz and tests. */
export interface ServerState {
  /** The models, in the order they were given (the order of /v1/models). */
  models: ServedModel[];
  schedulers: Map<string, ModelScheduler>;
  admission: Admission;
  limits: ServerLimits;
}

declare module 'fastify' {
  interface FastifyInstance {
    charrnn: ServerState;
  }
  interface FastifyContextConfig {
    /** The route's body fields, for error sentences that name a field and say what it must be. */
    body?: BodySpec;
  }
}
