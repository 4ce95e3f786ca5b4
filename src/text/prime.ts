// A prime (the text generation starts from) as ids of a model's vocabulary.
// Platform-neutral; generation calls this and nothing else to encode a prime.
import { CharrnnError } from '../errors.js';
import { normalizeText } from './normalize.js';
import { describeChar, type Vocabulary } from './vocabulary.js';

/** What to do with prime characters the model has never seen. */
export type PrimeUnknownPolicy = 'error' | 'skip';

export interface EncodedPrime {
  ids: number[];
  /** The prime in the form the ids were made from. */
  text: string;
  /** The distinct characters the model does not know, in order (dropped, or made the unknown symbol). */
  unknownChars: string[];
}

/**
 * The ids of `prime` for a model with this vocabulary. The prime is first put
 * in the vocabulary's normalisation form, so é typed as e + U+0301 finds the
 * model's é (and the other way round); for a model trained on text as given
 * ('none'), the form as typed, NFC or NFD is taken, whichever leaves fewest
 * unknown characters. Characters still unknown become the unknown symbol when
 * the model has one (--max-vocab); otherwise 'error' refuses with one sentence
 * naming them and 'skip' drops them.
 */
export function encodePrime(vocab: Vocabulary, prime: string, unknown: PrimeUnknownPolicy = 'error'): EncodedPrime {
  const forms = vocab.normalization === 'none'
    ? [prime, normalizeText(prime, 'nfc'), normalizeText(prime, 'nfd')]
    : [normalizeText(prime, vocab.normalization)];
  let best: EncodedPrime | null = null;
  for (const text of forms) {
    const r = vocab.encode(text, 'map');
    const candidate = { ids: Array.from(r.ids), text, unknownChars: r.unknownChars };
    if (best === null || candidate.unknownChars.length < best.unknownChars.length) best = candidate;
  }
  const { unknownChars } = best!;
  if (unknownChars.length > 0 && vocab.unknownId < 0 && unknown === 'error') {
    throw new CharrnnError(`The prime has ${unknownChars.length === 1 ? 'a character' : `${unknownChars.length} characters`} the model has never seen: ` +
      `${unknownChars.slice(0, 5).map(describeChar).join(', ')}${unknownChars.length > 5 ? ', …' : ''} (--unknown skip drops them).`);
  }
  return best!;
}
