import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { CharrnnError } from '../../errors.js';
import { errorBody } from '../api-error.js';

/** The headers that let the page use SharedArrayBuffer (wasm threads): it must be cross-origin isolated. */
export const ISOLATION_HEADERS = {
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-embedder-policy': 'require-corp',
} as const;

/** How a user gets the page built, said where it is missing. */
export const PAGE_NOT_BUILT =
  'The page is not built: run npm run build:web in the charrnn package (it writes web/dist), ' + 'or start the server with --static DIR.';

/**
 * A folder of static files as the page's root: resolved against the current
 * directory, and refused in one sentence (`what` names it, e.g. "--static
 * site") when it does not exist or is not a folder.
 */
export function pageFolder(dir: string, what = `The page folder ${dir}`): string {
  const absolute = resolve(dir);
  let stat;
  try {
    stat = statSync(absolute);
  } catch {
    throw new CharrnnError(`${what} does not exist.`);
  }
  if (!stat.isDirectory()) throw new CharrnnError(`${what} is a file, not a folder.`);
  return absolute;
}

/**
 * The playground (another face, built into web/dist): its files at /,
 * cross-origin isolated so its wasm engine may use threads. Without a folder,
 * GET / says how to build the page rather than answering nothing.
 */
export async function pagePlugin(app: FastifyInstance, { dir }: { dir?: string }): Promise<void> {
  if (dir === undefined) {
    app.get('/', { schema: { hide: true } }, async (_request, reply) => reply.code(404).send(errorBody(PAGE_NOT_BUILT, 'not_found_error')));
    return;
  }
  await app.register(fastifyStatic, {
    root: pageFolder(dir),
    setHeaders: reply => {
      void reply.headers(ISOLATION_HEADERS);
    },
  });
}
