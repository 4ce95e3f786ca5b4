import { GenerationBatch, type GenerationStream } from '../generate/generation-batch.js';
import { createGenerator } from '../generate/create-generator.js';
import type { GenerationResult, TextGenerator } from '../generate/generator.js';
import type { GenerateSettings } from '../generate/options.js';
import type { CharRNN } from '../model/charrnn.js';
import type { Vocabulary } from '../text/vocabulary.js';

/** A generation that was stopped before its end (its client went away, or the server is closing at once). */
export class GenerationCancelled extends Error {
  constructor() {
    super('the generation was cancelled');
    this.name = 'GenerationCancelled';
  }
}

/** One request's generation in a scheduler. */
export interface Job {
  /** The result once every text is finished; rejects with GenerationCancelled after `cancel`. */
  readonly result: Promise<GenerationResult>;
  /** Stops the generation now: its streams leave the batch before the next step. */
  cancel(): void;
}

interface Running {
  gen: TextGenerator;
  batch: GenerationBatch;
  onPieces?: (pieces: string[]) => void;
  resolve: (r: GenerationResult) => void;
  reject: (e: unknown) => void;
  ended: boolean;
}

/**
 * Runs the requests of one model, a character per step, with continuous
 * batching: every request in flight has its streams in one shared GenerationBatch,
 * so one engine step of B streams advances them all. A request joins when it
 * is started (its prime is read at once) and leaves when done or cancelled,
 * always between steps. One loop per scheduler steps the batch while any request
 * is live and yields to the event loop after every step (setImmediate), so new
 * requests join, streamed pieces are written and disconnects are noticed.
 *
 * With `batching: false` each request gets a batch of its own, stepped on its
 * own in the same loop: the same texts, for comparing throughput.
 */
export class ModelScheduler {
  private readonly running: Running[] = [];
  private shared: GenerationBatch | null = null;
  /** Streams of the shared batch that belong to no request: they round its size up to a bucket (see `pad`). */
  private readonly padding: GenerationStream[] = [];
  private looping = false;

  constructor(
    readonly model: CharRNN<Float32Array>,
    readonly vocab: Vocabulary,
    readonly batching = true,
  ) {}

  /** Requests generating now. */
  get active(): number {
    return this.running.length;
  }

  /** Streams the shared batch steps now (0 without batching). */
  get batchSize(): number {
    return (this.shared?.size ?? 0) - this.padding.length;
  }

  /**
   * Starts a generation; `onPieces` gets each step's non-empty pieces (one per
   * text, '' for none) as they come. Throws at once for a prime the model cannot read.
   */
  start(settings: GenerateSettings, onPieces?: (pieces: string[]) => void): Job {
    const streams = Math.max(settings.count, settings.beam);
    const batch = this.batching
      ? (this.shared ??= new GenerationBatch(this.model, { capacity: 16 }))
      : new GenerationBatch(this.model, { capacity: streams });
    let gen: TextGenerator;
    try {
      gen = createGenerator(this.model, this.vocab, settings, batch);
    } catch (e) {
      if (!this.batching) batch.dispose();
      throw e;
    }
    let run!: Running;
    const result = new Promise<GenerationResult>((resolve, reject) => {
      run = { gen, batch, onPieces, resolve, reject, ended: false };
    });
    result.catch(() => {
      /* a cancelled request's client is gone: nobody need hear of it */
    });
    this.running.push(run);
    if (!this.looping) void this.loop();
    return { result, cancel: () => this.end(run, new GenerationCancelled()) };
  }

  /** Cancels every generation (the server is closing without draining). */
  cancelAll(): void {
    for (const r of [...this.running]) this.end(r, new GenerationCancelled());
  }

  private async loop(): Promise<void> {
    this.looping = true;
    try {
      while (this.running.length > 0) {
        for (const r of [...this.running]) {
          if (r.ended) continue;
          try {
            const pieces = r.gen.advance();
            if (r.onPieces && pieces.some(p => p.length > 0)) r.onPieces(pieces);
            if (r.gen.done) this.end(r);
          } catch (e) {
            this.end(r, e);
          }
        }
        // Every live stream has its next input now: one step per batch (the shared one, or each request's own).
        if (this.shared) this.pad(this.shared);
        const batches = new Set(this.running.map(r => r.batch));
        for (const b of batches) {
          try {
            if (b.size > 0) b.step();
          } catch (e) {
            // Not expected (every live stream has an input): the requests on that batch fail, the server goes on.
            for (const r of this.running.filter(r => r.batch === b)) this.end(r, e);
          }
        }
        await new Promise(resolve => setImmediate(resolve));
      }
    } finally {
      this.looping = false;
    }
  }

  /**
   * Rounds the shared batch up to a bucket size with idle streams: 1 to 8
   * exactly, then multiples of 8. A batch binds one step plan per size and
   * keeps 16; with requests coming and going the size wanders over every value
   * up to the number of clients, and rebinding a plan per step costs more than
   * stepping up to 7 idle streams. The idle streams read character 0 and their
   * outputs are never looked at (every stream's row is computed on its own).
   */
  private pad(batch: GenerationBatch): void {
    const live = batch.size - this.padding.length;
    const target = live === 0 ? 0 : live <= 8 ? live : Math.ceil(live / 8) * 8;
    while (this.padding.length > target - live) this.padding.pop()!.close();
    while (this.padding.length < target - live) this.padding.push(batch.open());
    for (const p of this.padding) p.input(0);
  }

  /** Takes a request out of the loop: its streams close (the batch stays packed for the others). */
  private end(r: Running, error?: unknown): void {
    if (r.ended) return;
    r.ended = true;
    this.running.splice(this.running.indexOf(r), 1);
    const result = error === undefined ? r.gen.result() : null;
    r.gen.dispose();
    if (!this.batching) r.batch.dispose();
    if (result) r.resolve(result);
    else r.reject(error);
  }
}
