import type { Vocabulary } from '../text/vocabulary.js';
import type { Random } from '../util/random.js';

/**
 * The one place a prime text becomes character ids: every generator (sampling,
 * beam search, the handle's feed) reads its prime through here, so a change to
 * how primes are read (such as Unicode normalisation) is made once.
 * 'error' throws a CharrnnError naming characters the model has never seen;
 * 'skip' drops them.
 */
export function encodePrime(vocab: Vocabulary, prime: string, unknown: 'error' | 'skip'): ArrayLike<number> {
  return vocab.encode(prime, unknown).ids;
}

/**
 * What a stream starts from: the prime's ids, or without a prime a newline (the
 * start of a line is a natural beginning for most corpora), or when the model
 * knows no newline a random character, which is then also the first character
 * generated (`output`).
 */
export function startOf(vocab: Vocabulary, primeIds: ArrayLike<number>, rng: Random): { ids: ArrayLike<number>; output: boolean } {
  if (primeIds.length > 0) return { ids: primeIds, output: false };
  const nl = vocab.id('\n');
  return nl === undefined ? { ids: [rng.int(vocab.size)], output: true } : { ids: [nl], output: false };
}
