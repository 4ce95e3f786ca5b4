import { CharrnnError } from '../errors.js';
import { primeInModelForm } from '../text/prime-form.js';
import { describeChar, type Vocabulary } from '../text/vocabulary.js';
import type { Random } from '../util/random.js';

/**
 * A prime with characters the model has never seen. `problem` names them
 * without advice, so a face whose way to skip them differs says its own: the
 * CLI's --unknown skip, the server's "unknown": "skip", the page's checkbox.
 */
export class UnknownCharactersError extends CharrnnError {
  constructor(
    readonly problem: string,
    readonly chars: readonly string[],
    advice: string,
  ) {
    super(`${problem} (${advice}).`);
    this.name = 'UnknownCharactersError';
  }

  /** The same sentence ending in a face's own advice. */
  withAdvice(advice: string): UnknownCharactersError {
    return new UnknownCharactersError(this.problem, this.chars, advice);
  }
}

/**
 * The one place a prime text becomes character ids: every generator (sampling,
 * beam search, the handle's feed) and every face reads its prime through here,
 * so a change to how primes are read is made once: the prime is put in the
 * model's Unicode normalisation form first (src/text/prime-form.ts). 'error' throws a CharrnnError naming up to five characters the model
 * has never seen, ending with `skipHint` (how the caller's face asks to drop
 * them); 'skip' drops them.
 */
export function encodePrime(
  vocab: Vocabulary,
  prime: string,
  unknown: 'error' | 'skip',
  skipHint = "unknown: 'skip' drops them",
): ArrayLike<number> {
  // In the model's normalisation form; with the unknown symbol (--max-vocab) an unknown character is that symbol, not an error.
  const { ids, unknownChars } = primeInModelForm(vocab, prime);
  if (unknownChars.length > 0 && unknown === 'error' && vocab.unknownId < 0) {
    throw new UnknownCharactersError(
      `The prime has ${unknownChars.length === 1 ? 'a character' : `${unknownChars.length} characters`} the model has never seen: ` +
        `${unknownChars.slice(0, 5).map(describeChar).join(', ')}${unknownChars.length > 5 ? ', …' : ''}`,
      unknownChars,
      skipHint,
    );
  }
  return ids;
}

/**
 * Primes up to this many characters are read by the batch's steps, a character
 * per step beside the other streams' characters (a server's requests read their
 * primes batched, as they generate); a longer prime is read by one forward pass
 * of its own, so its first character does not wait for as many batch steps.
 * A stream's numbers depend on which way it read its prime, never on the batch.
 */
export const PRIME_STEPS_MAX = 64;

/**
 * What a stream starts from: the prime's ids, or without a prime a newline (the
 * start of a line is a natural beginning for most corpora), or when the model
 * knows no newline a random character, which is then also the first character
 * generated (`output`).
 */
export function startOf(vocab: Vocabulary, primeIds: ArrayLike<number>, rng: Random): { ids: ArrayLike<number>; output: boolean } {
  if (primeIds.length > 0) return { ids: primeIds, output: false };
  const nl = vocab.id('\n');
  if (nl !== undefined) return { ids: [nl], output: false };
  // A random character other than the unknown symbol, which is never generated.
  const unknown = vocab.unknownId;
  let id = rng.int(vocab.size - (unknown >= 0 ? 1 : 0));
  if (unknown >= 0 && id >= unknown) id++;
  return { ids: [id], output: true };
}
