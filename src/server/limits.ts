/** What one client may ask of the server; each has a `charrnn serve` flag. */
export interface ServerLimits {
  /** Characters one text may be (length, max_tokens). */
  maxLength: number;
  /** Texts one request may ask for (count, n). */
  maxCount: number;
  /** The widest beam search. */
  maxBeam: number;
  /** Requests generating at once, over all models; more wait in the queue. */
  maxInFlight: number;
  /** Requests waiting for a place; past that a request gets 429 with Retry-After. */
  maxQueue: number;
  /** Bytes a request body may be (413 past it). */
  bodyLimit: number;
  /** The most likely characters one position's log-probabilities may list (logprobs, char_logprobs). */
  maxLogprobs: number;
  /** Characters one request's log-probabilities may trace: every text's prompt and completion together, counted before generating. */
  maxTraceLength: number;
}

export const DEFAULT_LIMITS: ServerLimits = {
  maxLength: 10_000,
  maxCount: 16,
  maxBeam: 16,
  maxInFlight: 64,
  maxQueue: 256,
  bodyLimit: 64 * 1024,
  maxLogprobs: 20,
  maxTraceLength: 100_000,
};
