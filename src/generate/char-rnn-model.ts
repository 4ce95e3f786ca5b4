import { CharrnnError } from '../errors.js';
import type { Kernels } from '../kernels/kernels.js';
import { loadWasmKernels } from '../kernels/wasm/index.js';
import type { CharRNN, ModelState } from '../model/charrnn.js';
import type { ModelConfig } from '../model/config.js';
import { lineModelInfo, type LineModelInfo } from '../model/line-model.js';
import { loadModel } from '../model/model-file.js';
import { scoreLines, scoreText, type TextScore } from '../train/evaluate.js';
import { traceChunks, traceText, type TextTrace, type TraceChunk, type TraceOptions } from '../explain/trace.js';
import { explainText, type ExplainOptions } from '../explain/explain-text.js';
import type { Explanation } from '../explain/explanation.js';
import type { Vocabulary } from '../text/vocabulary.js';
import { GenerationBatch, type GenerationStream } from './generation-batch.js';
import { createGenerator } from './create-generator.js';
import type { FinishReason, GenerationResult, GenerationUsage } from './generator.js';
import { checkLineOptions, DEFAULT_MAX_LINE, type LineOptions } from './line-options.js';
import { lineDraws, lineRequestOf, lineRounds, sampleLines, type LineRequest } from './lines.js';
import { GenerateOptionsError, parseGenerateOptions, type GenerateOptions, type GenerateSettings } from './options.js';
import { encodePrime } from './encode-prime.js';

/** Where a model file comes from: its bytes, a URL to fetch, or (in Node, with charrnn/node imported) a path. */
export type ModelSource = Uint8Array | ArrayBuffer | URL | string;

/** How {@link CharRnnModel.load} reads a model: the engine it runs on, and its name in messages. */
export interface LoadOptions {
  /** The engine to run on; default the platform's choice: in Node (with charrnn/node imported) native when it loads, else WebAssembly. */
  kernels?: Kernels<Float32Array>;
  /** 'auto', 'native', 'wasm' or 'reference', when `kernels` is not given (Node only; elsewhere WebAssembly). */
  backend?: string;
  /** What messages call the model when `source` is bytes (a file's name, say); default "the model bytes". */
  name?: string;
}

/**
 * What a platform adds to model loading: reading a path (or file: URL), and
 * its engine of choice. The Node entry (charrnn/node) sets it when imported;
 * the main entry stays platform-neutral and fetches anything that is not bytes.
 */
export interface ModelLoading {
  readPath(path: string | URL): Uint8Array;
  kernels(backend?: string): Promise<Kernels<Float32Array>>;
}

let platform: ModelLoading | null = null;

/** Installs a platform's model loading (called once by src/node/index.ts). */
export function setModelLoading(loading: ModelLoading): void {
  platform = loading;
}

/** What `generate` gives: the texts and what came with them. */
export interface GenerateOutput {
  /** The (first, or for beam search the best) generated text, the prime not repeated. */
  text: string;
  /** Every text: `count` of them, or `beam` best first. */
  texts: string[];
  finishReasons: FinishReason[];
  /** Beam search: each text's log-probability (natural log). */
  logprobs?: number[];
  usage: GenerationUsage;
}

/** One character of a prediction and its probability. */
export interface CharProbability {
  char: string;
  p: number;
}

/**
 * A trained model, ready to write: the class to reach for first.
 *
 *     const model = await CharRnnModel.load(bytesOrUrl);
 *     const { text } = await model.generate({ prime: 'The ', length: 200, temperature: 0.8 });
 *
 * `generate` and `stream` start from the prime each time (the same options and
 * seed give the same text) and may run many at once. `feed`, `predict`,
 * `reset` and `state` are a separate conversation with the model: one stream
 * kept by the handle, fed text a piece at a time.
 */
export class CharRnnModel {
  private own: { batch: GenerationBatch<Float32Array>; stream: GenerationStream<Float32Array> } | null = null;

  /**
   * A handle on a model already in memory (one just trained, say); `lineModel`
   * is a line model's facts (src/model/line-model.ts), null for running text.
   */
  constructor(
    readonly model: CharRNN<Float32Array>,
    readonly vocab: Vocabulary,
    readonly lineModel: LineModelInfo | null = null,
  ) {
    if (vocab.size !== model.config.vocabSize)
      throw new RangeError(`the vocabulary has ${vocab.size} characters, the model ${model.config.vocabSize}`);
  }

  /**
   * Loads a model file (safetensors, as `charrnn train` writes) from its bytes
   * or a URL (fetched). A file that is not a model, or a URL that cannot be
   * fetched, throws a CharrnnError with one sentence.
   */
  static async load(source: ModelSource, options: LoadOptions = {}): Promise<CharRnnModel> {
    const { bytes, name } = await readSource(source, options.name ?? 'the model bytes');
    const kernels = options.kernels ?? (platform ? await platform.kernels(options.backend) : await loadWasmKernels());
    const { model, vocab, metadata } = loadModel(bytes, name, kernels);
    return new CharRnnModel(model, vocab, lineModelInfo(metadata, name));
  }

  get config(): ModelConfig {
    return this.model.config;
  }

  /**
   * How well the model predicts `text`, as `charrnn eval` reports it: nats and
   * bits per character from a fresh state (a line model scores each line from
   * a fresh state, its end-of-line included); characters it does not know are
   * counted in `unknown` and skipped.
   */
  score(text: string): TextScore {
    return this.lineModel ? scoreLines(this.model, this.vocab, text) : scoreText(this.model, this.vocab, text);
  }

  /**
   * What the model thought at every character of `text`, in one forward pass:
   * how surprised it was (nats; they add up to what `score` reports), its top
   * guesses, and the hidden and cell values and gates of the layers asked for.
   * An array of texts runs as one batch, each from a fresh state; a line model
   * reads each line from a fresh state, as `score` does.
   */
  trace(text: string | readonly string[], options: TraceOptions = {}): TextTrace {
    return traceText(this.model, this.vocab, textsOf(text), this.lineModel !== null, options);
  }

  /**
   * {@link trace} a chunk at a time, in text order: for a text too long to keep
   * every value of, take what you need from each chunk as it comes.
   */
  traceChunks(text: string | readonly string[], options: TraceOptions = {}): Generator<TraceChunk, void, undefined> {
    return traceChunks(this.model, this.vocab, textsOf(text), this.lineModel !== null, options);
  }

  /**
   * What the model does with `text`, as `charrnn explain` reports it and the
   * page's Inside view shows it: the surprise and guesses at each shown
   * character with every unit's value, the units that track quotes, brackets,
   * line position and the other features (and `patterns` of your own), gate
   * saturation, a surprise histogram, the hardest passages and surprise by
   * class of character.
   */
  explain(text: string, options: ExplainOptions = {}): Explanation {
    if (typeof text !== 'string') throw new CharrnnError('The text to explain must be a string.');
    return explainText(this.model, this.vocab, text, this.lineModel !== null, options);
  }

  /** The characters the model knows, in id order. */
  get chars(): readonly string[] {
    return this.vocab.chars;
  }

  /**
   * Generates `count` texts as one batch (or the `beam` most likely ones),
   * continuing `prime`. Options as in GenerateOptions; a bad one throws
   * GenerateOptionsError (one sentence).
   *
   * A line model (`lineModel` not null) writes `count` whole lines, as
   * `charrnn sample` does: each from a fresh state fed the end-of-line, then
   * the prime, up to the end-of-line the model writes (at most `maxLength`
   * characters, default 200), skipping empty lines, and with `novel` only lines
   * not in the training text; the same options and seed give the CLI's lines.
   * As for running text, `text` and `texts` leave the prime out: the CLI prints
   * the prime (as the model read it) before each. Fewer than `count` come back
   * only when `novel` found too few new lines. length, stop, endOfLine and beam
   * are refused for a line model, maxLength and novel for any other
   * (checkLineOptions).
   */
  async generate(options: GenerateOptions & LineOptions = {}): Promise<GenerateOutput> {
    const { settings, line } = this.settingsOf(options);
    if (line) {
      const r = sampleLines(this.model, this.vocab, this.lineRequest(settings, line));
      const texts = r.lines.map(l => l.slice(r.prime.length));
      return { text: texts[0] ?? '', texts, finishReasons: r.finishReasons, usage: r.usage };
    }
    const gen = createGenerator(this.model, this.vocab, settings);
    for (const _ of gen.pieces()) {
      /* runs to the end */
    }
    const r = gen.result();
    return { text: r.texts[0] ?? '', ...r };
  }

  /**
   * One text, piece by piece as it is generated (sampling or greedy; not
   * `count` or `beam`). Leaving the loop early (`break`, `return()`) stops the
   * generation and frees its buffers. Yields to the event loop now and then,
   * so a long generation does not hold up a page or a server. A line model
   * streams the line `generate` gives for the same options (with `novel`, whole,
   * once it is known to be new).
   */
  async *stream(options: GenerateOptions & LineOptions = {}): AsyncGenerator<string, void, undefined> {
    const { settings, line } = this.settingsOf(options);
    if (settings.count !== 1 || settings.beam > 0)
      throw new GenerateOptionsError(
        'stream makes one sampled text; use generate for count or beam.',
        settings.beam > 0 ? 'beam' : 'count',
      );
    if (line === null) {
      yield* this.streamPieces(settings);
      return;
    }
    // lineRounds keeps and skips the draws as generate does (seed after seed, empty lines skipped); each
    // draw is streamed as it is made, except with `novel`, where a line is known to be new only once whole.
    const request = this.lineRequest(settings, line);
    const rounds = lineRounds(lineDraws(this.vocab, request), request);
    for (let round = rounds.next(); ;) {
      if (round.done) {
        const text = (round.value.lines[0] ?? '').slice(round.value.prime.length);
        if (request.novel && text) yield text;
        return;
      }
      round = rounds.next(yield* this.streamPieces(round.value, !request.novel));
    }
  }

  /** The options checked (GenerateOptionsError, one sentence) and, for a line model, its line options. */
  private settingsOf(options: GenerateOptions & LineOptions): { settings: GenerateSettings; line: Required<LineOptions> | null } {
    if (typeof options !== 'object' || options === null || Array.isArray(options))
      throw new GenerateOptionsError('The generation options must be an object.', '');
    const { maxLength, novel, ...generation } = options;
    checkLineOptions(options, this.lineModel !== null);
    const settings = parseGenerateOptions(generation);
    return { settings, line: this.lineModel ? { maxLength: maxLength ?? DEFAULT_MAX_LINE, novel: novel ?? false } : null };
  }

  private lineRequest(settings: GenerateSettings, line: Required<LineOptions>): LineRequest {
    return lineRequestOf(settings, this.lineModel!, line);
  }

  /** Runs one generation, yielding its pieces (when `show`) and now and then to the event loop; returns its result. */
  private async *streamPieces(settings: GenerateSettings, show = true): AsyncGenerator<string, GenerationResult, undefined> {
    const generator = createGenerator(this.model, this.vocab, settings);
    const pieces = generator.pieces();
    try {
      let since = Date.now();
      for (const [piece] of pieces) {
        if (show) yield piece;
        if (Date.now() - since > 10) {
          await new Promise(resolve => setTimeout(resolve, 0));
          since = Date.now();
        }
      }
    } finally {
      pieces.return?.();
    }
    return generator.result();
  }

  /** Reads text into the handle's own stream, carrying its state on. Unknown characters throw a CharrnnError naming them. */
  feed(text: string): void {
    const ids = encodePrime(this.vocab, text, 'error', 'leave them out');
    this.ownStream().feed(ids);
  }

  /**
   * The model's distribution of the next character after what was fed, most
   * likely first (ties by id): softmax of the output layer over the handle's
   * state. After `reset` (or before any feed) that is the zero state.
   */
  predict(options: { temperature?: number } = {}): CharProbability[] {
    const { temperature } = parseGenerateOptions({ temperature: options.temperature });
    const top = this.ownStream().getState().layers[this.config.layers - 1].h; // [H]
    const H = this.config.hidden,
      V = this.vocab.size;
    const w = this.model.params.get('out.weight'),
      b = this.model.params.get('out.bias'); // [V, H], [V]
    const logits = new Float64Array(V);
    let max = -Infinity;
    for (let v = 0; v < V; v++) {
      let s = b[v];
      for (let j = 0; j < H; j++) s += w[v * H + j] * top[j];
      logits[v] = s / temperature;
      if (logits[v] > max) max = logits[v];
    }
    let sum = 0;
    for (let v = 0; v < V; v++) sum += logits[v] = Math.exp(logits[v] - max);
    return Array.from(logits, (e, v) => ({ char: this.vocab.chars[v], p: e / sum, v }))
      .sort((x, y) => y.p - x.p || x.v - y.v)
      .map(({ char, p }) => ({ char, p }));
  }

  /** Back to the zero state, as if nothing had been fed. */
  reset(): void {
    this.own?.stream.close();
    if (this.own) this.own.stream = this.own.batch.open();
  }

  /** A copy of the handle's state (one stream): changing it changes nothing here. */
  get state(): ModelState<Float32Array> {
    return this.ownStream().getState();
  }

  /** Sets the handle's state to a copy of a state from `state` (of this model's shape). */
  set state(value: ModelState<Float32Array>) {
    if (!isStateShaped(value)) {
      throw new CharrnnError(
        `The state must be one like the state property gives ({ B: 1, layers: [{ h, c }, …] }), not ${describeValue(value)}.`,
      );
    }
    try {
      this.ownStream().setState(value);
    } catch (e) {
      if (e instanceof RangeError) throw new CharrnnError(`That state does not fit this model: ${e.message}.`);
      throw e;
    }
  }

  /** Frees the handle's own stream (generate and stream free theirs as they end). */
  dispose(): void {
    this.own?.batch.dispose();
    this.own = null;
  }

  private ownStream(): GenerationStream<Float32Array> {
    if (this.own === null) {
      const batch = new GenerationBatch(this.model);
      this.own = { batch, stream: batch.open() };
    }
    return this.own.stream;
  }
}

/** A text or texts, as the list a trace reads (anything else is the trace's to refuse). */
function textsOf(text: string | readonly string[]): readonly string[] {
  return Array.isArray(text) ? text : [text as string];
}

/** Whether `value` has the shape of a ModelState (its sizes are the stream's to judge): what a JavaScript caller may pass is anything. */
function isStateShaped(value: unknown): value is ModelState<Float32Array> {
  const numbers = (x: unknown): boolean =>
    (ArrayBuffer.isView(x) && !(x instanceof DataView)) || (Array.isArray(x) && x.every(n => typeof n === 'number'));
  if (typeof value !== 'object' || value === null) return false;
  const { B, layers } = value as { B?: unknown; layers?: unknown };
  return (
    typeof B === 'number' &&
    Array.isArray(layers) &&
    layers.every(
      l =>
        typeof l === 'object' &&
        l !== null &&
        numbers((l as { h?: unknown }).h) &&
        ((l as { c?: unknown }).c === null || numbers((l as { c?: unknown }).c)),
    )
  );
}

function describeValue(value: unknown): string {
  if (value === null || value === undefined || typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (typeof value === 'string') return 'a string';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object of another shape' : `a ${typeof value}`;
}

async function readSource(source: ModelSource, bytesName: string): Promise<{ bytes: Uint8Array; name: string }> {
  if (source instanceof Uint8Array) return { bytes: source, name: bytesName };
  if (source instanceof ArrayBuffer) return { bytes: new Uint8Array(source), name: bytesName };
  if (platform && isLocal(source)) return { bytes: platform.readPath(source), name: source.toString() };
  const url = source.toString();
  let response: Response;
  try {
    response = await fetch(url);
  } catch (e) {
    throw new CharrnnError(`Could not fetch the model at ${url} (${e instanceof Error ? e.message : String(e)}).`);
  }
  if (!response.ok)
    throw new CharrnnError(
      `Could not fetch the model at ${url}: the server answered ${response.status} ${response.statusText}.`.replace(' .', '.'),
    );
  return { bytes: new Uint8Array(await response.arrayBuffer()), name: url };
}

/** A path, or a file: URL (anything but a scheme://... string or a non-file URL). */
function isLocal(source: string | URL): boolean {
  return source instanceof URL ? source.protocol === 'file:' : !/^[a-z][a-z0-9+.-]*:\/\//i.test(source);
}
