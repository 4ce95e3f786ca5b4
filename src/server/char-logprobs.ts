// Per-character log-probabilities of the texts a request generated (OpenAI's
// `logprobs`, /v1/generate's `char_logprobs`): worked out after the generation,
// by tracing each text with what the model read before it (one forward pass,
// src/explain/trace.ts), so the generation itself, and every request that does
// not ask for them, runs as it always does. The values are the model's own
// distribution (temperature 1, no top-k or top-p), as OpenAI reports them.
import { encodePrime } from '../generate/encode-prime.js';
import type { GenerationResult } from '../generate/generator.js';
import { traceChunks } from '../explain/trace.js';
import { Vocabulary } from '../text/vocabulary.js';
import { ApiError } from './api-error.js';
import type { ServerLimits } from './limits.js';
import type { RequestPlan } from './request-settings.js';
import { GenerationCancelled } from './scheduler.js';
import type { ServedModel } from './served-models.js';
import { Pacer } from './pacing.js';

/** One of the most likely characters at a position. */
export interface CharChoice {
  char: string;
  /** Its natural-log probability. */
  logprob: number;
}

/** The log-probabilities of one text's characters. */
export interface CharLogprobs {
  /** The characters scored: [n] (with the prime's first, when it is scored too). */
  chars: string[];
  /** ln p of each character given all before it: [n]; null where nothing predicted it (a text's very first character). */
  logprobs: (number | null)[];
  /** The k most likely characters at each position, most likely first (ties by id): [n][k]; null where nothing was predicted. */
  top: (CharChoice[] | null)[];
  /** How many of `chars` are the prime's (0 when only the generated text is scored). */
  primeChars: number;
}

/** What a request asks to be scored. */
export interface LogprobsRequest {
  /** The most likely characters listed per position (at most the server's maxLogprobs; the model's vocabulary caps it). */
  k: number;
  /** Score the prime's characters too (OpenAI's `echo`). */
  prime: boolean;
}

/** How a face names its fields in sentences: completions' `logprobs` and `prompt`, generate's `char_logprobs` and `prime`. */
export interface LogprobsNames {
  logprobs: string;
  prime: string;
}

/** What a request's texts were generated from: the prime as the model read it, and what it read before the prime. */
export interface ScoredPrime {
  /** The prime as the model read it: in its normalisation form, unknown characters dropped or its unknown symbol (what echo returns). */
  prime: string;
  /** What a stream read before the prime from its fresh state: a line model's end-of-line; without a prime the newline it starts from. */
  lead: string;
}

/** The prime as read, and what came before it, for a request's plan. */
export function scoredPrime(served: ServedModel, plan: RequestPlan): ScoredPrime {
  if (plan.lines) return { prime: plan.lines.draws.prime, lead: plan.lines.request.eol };
  const s = plan.settings;
  const prime = served.vocab.decode(encodePrime(served.vocab, s.prime, s.unknown));
  // Without a prime a stream starts from a newline (startOf); a model that knows
  // none starts from a random first character, which nothing predicted.
  const lead = prime.length === 0 && served.vocab.id('\n') !== undefined ? '\n' : '';
  return { prime, lead };
}

/**
 * Refuses (400, one sentence naming --max-trace-length) a request whose texts
 * could trace more characters than the limit: every text at its longest, its
 * prime and what came before it included. Judged before generating, so a
 * refused request costs nothing.
 */
export function checkTraceLength(served: ServedModel, plan: RequestPlan, limits: ServerLimits, names: LogprobsNames): void {
  const { prime, lead } = scoredPrime(served, plan);
  const texts = plan.lines ? plan.lines.request.count : Math.max(plan.settings.count, plan.settings.beam);
  const longest = plan.lines ? plan.lines.request.maxLength : plan.settings.length;
  const traced = texts * (Array.from(lead + prime).length + longest);
  if (traced > limits.maxTraceLength)
    throw new ApiError(
      400,
      `${names.logprobs} would trace up to ${traced} characters (${texts === 1 ? '1 text' : `${texts} texts`}, each its ${names.prime} ` +
        `and up to ${longest} characters), more than the ${limits.maxTraceLength} this server traces per request (--max-trace-length).`,
      'invalid_request_error',
      {},
      names.logprobs,
    );
}

// A model's vocabulary read as is: what a trace here reads is already in the
// model's form (the prime as read, and characters the model wrote), so it must
// not be normalised again, which could join a prime's last character with the
// first one written (e and a combining acute into é).
const asRead = new WeakMap<Vocabulary, Vocabulary>();
function vocabAsRead(vocab: Vocabulary): Vocabulary {
  let v = asRead.get(vocab);
  if (!v) asRead.set(vocab, (v = new Vocabulary(vocab.chars, 'none')));
  return v;
}

/**
 * Characters traced between two pauses: some milliseconds of a small model's
 * forward pass (one stream), some tens of a 2x1024 one's.
 */
export const TRACE_CHUNK = 64;

/**
 * The log-probabilities of each generated text (and of the prime before it,
 * when asked): each text is traced from a fresh state as its stream read it
 * (the lead, the prime, the text), TRACE_CHUNK characters at a time, `pacer`
 * pausing after each chunk so the schedulers' steps go on. Throws
 * GenerationCancelled once `signal` aborts.
 */
export async function charLogprobs(
  served: ServedModel,
  plan: RequestPlan,
  result: GenerationResult,
  request: LogprobsRequest,
  signal: AbortSignal,
  pacer = new Pacer(),
): Promise<CharLogprobs[]> {
  const { prime, lead } = scoredPrime(served, plan);
  const chars = served.vocab.chars;
  const k = Math.min(request.k, chars.length);
  const before = Array.from(request.prime ? lead : lead + prime).length;
  const primeChars = request.prime ? Array.from(prime).length : 0;
  const out: CharLogprobs[] = result.texts.map(() => ({ chars: [], logprobs: [], top: [], primeChars }));
  // An empty sequence has nothing to trace (and the trace would skip it): only the others go, in order.
  const traced = result.texts.map((text, i) => ({ i, text: lead + prime + text })).filter(t => t.text.length > 0);
  if (traced.length === 0) return out;
  const chunks = traceChunks(
    served.model,
    vocabAsRead(served.vocab),
    traced.map(t => t.text),
    false,
    { topK: k, batch: 1, chunk: TRACE_CHUNK },
  );
  const seqStart: number[] = [];
  for (const c of chunks) {
    if (signal.aborted) throw new GenerationCancelled();
    if (seqStart.length === c.sequence) seqStart.push(c.start);
    const into = out[traced[c.sequence].i];
    for (let j = 0; j < c.chars.length; j++) {
      if (c.start + j - seqStart[c.sequence] < before) continue;
      const s = c.surprise[j];
      into.chars.push(c.chars[j]);
      into.logprobs.push(Number.isNaN(s) ? null : -s);
      if (Number.isNaN(s)) into.top.push(null);
      else {
        const top: CharChoice[] = [];
        for (let m = 0; m < k; m++) top.push({ char: chars[c.topIds[j * k + m]], logprob: Math.log(c.topP[j * k + m]) });
        into.top.push(top);
      }
    }
    await pacer.pause();
  }
  if (signal.aborted) throw new GenerationCancelled();
  return out;
}
