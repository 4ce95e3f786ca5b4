// The page's words for what the library and the server say. Their sentences
// end in the advice of their own face ("unknown: 'skip'", "\"unknown\":
// \"skip\""); the page's user has the page's controls, so a sentence whose
// advice names another face's is said again naming the page's.
import { CharrnnError } from '../errors.js';
import { UnknownCharactersError } from '../generate/encode-prime.js';

/** The label of the page's checkbox that drops a prime's unknown characters (web/index.html has the same words). */
export const SKIP_UNKNOWN_LABEL = 'Skip characters the model has never seen';

/** The page's way to drop a prime's unknown characters, as the end of the sentence that refuses them. */
export const PAGE_SKIP_ADVICE = `tick “${SKIP_UNKNOWN_LABEL}” to drop them`;

/**
 * How the server ends the same sentence (its advice to an API client). The
 * server's answer carries only the sentence, so its ending is what is recognised.
 */
const SERVER_SKIP_ADVICE = ' ("unknown": "skip" drops them).';

/** The one sentence the page shows for an error: a CharrnnError's, in the page's words; anything else is a bug, said as such. */
export function pageSentence(error: unknown): string {
  if (error instanceof UnknownCharactersError) return error.withAdvice(PAGE_SKIP_ADVICE).message;
  if (error instanceof CharrnnError) {
    const m = error.message;
    return m.endsWith(SERVER_SKIP_ADVICE) ? `${m.slice(0, -SERVER_SKIP_ADVICE.length)} (${PAGE_SKIP_ADVICE}).` : m;
  }
  const message = error instanceof Error ? error.message : String(error);
  return `Something went wrong in the page: ${message}${/[.!?]$/.test(message) ? '' : '.'}`;
}
