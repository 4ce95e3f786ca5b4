// A page's client of `charrnn serve`: the models it has and generation as a
// stream of Server-Sent Events. Uses fetch alone, so it runs in any browser
// (or Node 20); an error answer becomes a CharrnnError with the server's sentence.
import { CharrnnError } from '../errors.js';

/** One model of GET /v1/models (charrnn's fields beside OpenAI's). */
export interface ServerModel {
  id: string;
  cell: string;
  layers: number;
  hidden: number;
  vocab_size: number;
  line_model: boolean;
}

/** What a page may ask of POST /v1/generate (stream is always on here). */
export interface ServerGenerateRequest {
  model: string;
  prime?: string;
  length?: number;
  temperature?: number;
  top_p?: number;
  top_k?: number;
  seed?: number;
  /** Characters of the prime the model has never seen: refused ('error', the default) or dropped ('skip'). */
  unknown?: 'error' | 'skip';
  /** A line model (ServerModel.line_model) writes whole lines: it takes max_length and novel, and refuses length. */
  max_length?: number;
  novel?: boolean;
}

/**
 * The models of the charrnn server at `base` (the page's own origin by
 * default), or null when nothing there answers like one (a static host).
 */
export async function serverModels(base = ''): Promise<ServerModel[] | null> {
  let response: Response;
  try {
    response = await fetch(`${base}/v1/models`, { headers: { accept: 'application/json' } });
  } catch {
    return null;
  }
  if (!response.ok || !(response.headers.get('content-type') ?? '').includes('application/json')) return null;
  const body = (await response.json()) as { object?: string; data?: ServerModel[] };
  return body.object === 'list' && Array.isArray(body.data) ? body.data : null;
}

/**
 * Streams one generation from the server: yields text pieces as the server
 * sends them. Aborting `signal` (or leaving the loop) closes the connection,
 * which stops the generation on the server.
 */
export async function* serverStream(
  request: ServerGenerateRequest,
  options: { base?: string; signal?: AbortSignal } = {},
): AsyncGenerator<string, void, undefined> {
  const controller = new AbortController();
  const abort = (): void => controller.abort();
  options.signal?.addEventListener('abort', abort, { once: true });
  try {
    let response: Response;
    try {
      response = await fetch(`${options.base ?? ''}/v1/generate`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
        body: JSON.stringify({ ...request, stream: true }),
        signal: controller.signal,
      });
    } catch (e) {
      if (controller.signal.aborted) return;
      throw new CharrnnError(`Could not reach the server (${e instanceof Error ? e.message : String(e)}).`);
    }
    if (!response.ok || response.body === null) throw new CharrnnError(await errorSentence(response));
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffered = '';
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        buffered += value;
        let end: number;
        // Events end with a blank line; each data line holds one JSON object, or [DONE].
        while ((end = buffered.indexOf('\n\n')) >= 0) {
          const event = buffered.slice(0, end);
          buffered = buffered.slice(end + 2);
          for (const line of event.split('\n')) {
            if (!line.startsWith('data:')) continue;
            const data = line.slice(5).trim();
            if (data === '[DONE]') return;
            const piece = JSON.parse(data) as { text?: string; error?: { message?: string } };
            if (piece.error) throw new CharrnnError(piece.error.message ?? 'The server stopped the generation.');
            if (typeof piece.text === 'string') yield piece.text;
          }
        }
      }
    } catch (e) {
      if (controller.signal.aborted) return;
      throw e;
    } finally {
      reader.cancel().catch(() => {});
    }
  } finally {
    options.signal?.removeEventListener('abort', abort);
    controller.abort();
  }
}

/** The server's own sentence from an error answer ({error: {message}}), else its status. */
async function errorSentence(response: Response): Promise<string> {
  try {
    const body = (await response.json()) as { error?: { message?: string } };
    if (typeof body.error?.message === 'string') return body.error.message;
  } catch {
    /* not JSON */
  }
  return `The server answered ${response.status} ${response.statusText}.`.replace(' .', '.');
}
