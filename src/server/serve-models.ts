import type { FastifyInstance } from 'fastify';
import { fileURLToPath } from 'node:url';
import { CharrnnError } from '../errors.js';
import { buildServer } from './app.js';
import type { ServerLimits } from './limits.js';
import { loadServedModels } from './served-models.js';
import { pageFolder } from './plugins/page.js';

export interface ServeOptions {
  models: string[];
  names?: string[];
  port: number;
  host: string;
  token?: string;
  batching: boolean;
  backend?: string;
  limits?: Partial<ServerLimits>;
  /** The page's folder (--static), relative to the current directory; default the package's web/dist, when it is built. */
  staticDir?: string;
  log?: (line: string) => void;
}

/** The playground's build folder in this package (web/dist), next to dist/. */
export const DEFAULT_STATIC_DIR = fileURLToPath(new URL('../../../web/dist', import.meta.url));

/**
 * `charrnn serve`: loads the models, listens, and drains on SIGTERM or SIGINT
 * (stops accepting, lets the requests in flight finish, then exits 0).
 */
export async function serve(options: ServeOptions): Promise<FastifyInstance> {
  const log = options.log ?? (() => {});
  // Checked first: a mistyped flag is said before the models take their time to load.
  if (options.port > 65535) throw new CharrnnError(`--port must be from 0 to 65535, not ${options.port}.`);
  const staticDir = options.staticDir !== undefined ? pageFolder(options.staticDir, `--static ${options.staticDir}`) : builtPage();
  const models = await loadServedModels(options.models, options.names, options.backend, m => log(`charrnn: ${m}`));
  const app = await buildServer({ models, token: options.token, batching: options.batching, limits: options.limits, staticDir });
  let closing = false;
  const drain = (signal: string) => {
    if (closing) return;
    closing = true;
    log(`charrnn: ${signal}: finishing the requests in flight, accepting no more`);
    app.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  const onSigterm = () => drain('SIGTERM');
  const onSigint = () => drain('SIGINT');
  // A server closed another way (a test, a program calling serve) leaves no handler behind to exit its process.
  app.addHook('onClose', async () => {
    process.off('SIGTERM', onSigterm);
    process.off('SIGINT', onSigint);
  });
  let address: string;
  try {
    address = await app.listen({ port: options.port, host: options.host });
  } catch (e) {
    await app.close().catch(() => {}); // what it holds (its schedulers) goes with it; the sentence below is what matters
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') throw new CharrnnError(`Port ${options.port} on ${options.host} is in use; choose another with --port.`);
    if (code === 'EACCES')
      throw new CharrnnError(
        `Port ${options.port} on ${options.host} needs privileges this user does not have; choose one above 1023 with --port.`,
      );
    if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND')
      throw new CharrnnError(`${options.host} is not an address of this machine (--host).`);
    throw e;
  }
  log(`charrnn: serving ${models.map(m => m.name).join(', ')} at ${address}${options.batching ? '' : ' (batching off)'}`);
  process.once('SIGTERM', onSigterm);
  process.once('SIGINT', onSigint);
  return app;
}

/** The page's build folder (by default the package's web/dist) when it is built, else none: GET / then says how to build it. */
export function builtPage(dir = DEFAULT_STATIC_DIR): string | undefined {
  try {
    return pageFolder(dir);
  } catch {
    return undefined;
  }
}
