import type { ServerResponse } from 'node:http';

/**
 * Server-Sent Events on a response the app has taken over: the headers at
 * once, then one `data: <json>` event per `send`, and `data: [DONE]` at the
 * end, as OpenAI's streams end. Writes to a client that has gone are dropped.
 */
export class SseWriter {
  constructor(private readonly res: ServerResponse) {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
      'x-accel-buffering': 'no', // a proxy in front must not hold the pieces back
    });
    res.flushHeaders();
  }

  send(event: object): void {
    if (!this.res.writableEnded && !this.res.destroyed) this.res.write(`data: ${JSON.stringify(event)}\n\n`);
  }

  done(): void {
    if (!this.res.writableEnded && !this.res.destroyed) this.res.end('data: [DONE]\n\n');
  }
}
