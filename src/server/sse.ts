import type { ServerResponse } from 'node:http';

/**
 * Server-Sent Events on a response the app has taken over: the headers at
 * once, then one `data: <json>` event per `send`, and `data: [DONE]` at the
 * end, as OpenAI's streams end. Writes to a client that has gone are dropped.
 *
 * Generated pieces go through `pieces`: while the client reads slower than the
 * model writes (the socket's buffer is full), they are held and joined per
 * text, and go out as one event each when it drains, so a slow reader costs
 * the server the text it has not read, not an event per character.
 */
export class SseWriter {
  private held: string[] | null = null;
  private toEvents: ((pieces: string[]) => object[]) | null = null;
  private waiting = false;

  constructor(private readonly res: ServerResponse) {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
      'x-accel-buffering': 'no', // a proxy in front must not hold the pieces back
    });
    res.flushHeaders();
  }

  private get open(): boolean {
    return !this.res.writableEnded && !this.res.destroyed;
  }

  send(event: object): void {
    this.sendJson(JSON.stringify(event));
  }

  /** An event whose JSON text is already made (one line: JSON text has no raw newline). */
  sendJson(json: string): void {
    this.flush();
    if (this.open) this.res.write(`data: ${json}\n\n`);
  }

  /** One step's pieces (one per text, '' for none), written as the events `toEvents` makes of them, or held while the client is behind. */
  pieces(pieces: string[], toEvents: (pieces: string[]) => object[]): void {
    this.toEvents = toEvents;
    if (this.held === null) this.held = [...pieces];
    else
      pieces.forEach((p, i) => {
        this.held![i] = (this.held![i] ?? '') + p;
      });
    if (!this.res.writableNeedDrain) this.flush();
    else if (!this.waiting) {
      this.waiting = true;
      this.res.once('drain', () => {
        this.waiting = false;
        this.flush();
      });
    }
  }

  done(): void {
    this.flush();
    if (this.open) this.res.end('data: [DONE]\n\n');
  }

  private flush(): void {
    const held = this.held;
    this.held = null;
    if (held === null || !this.open) return;
    for (const e of this.toEvents!(held)) this.res.write(`data: ${JSON.stringify(e)}\n\n`);
  }
}
