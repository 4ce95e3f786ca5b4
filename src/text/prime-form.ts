// A prime (the text generation starts from) in the form of a model's
// vocabulary. Platform-neutral; src/generate/encode-prime.ts's encodePrime, the one
// reading of a prime for every face, builds on this.
import { normalizeText } from './normalize.js';
import type { Vocabulary } from './vocabulary.js';

export interface PrimeInModelForm {
  /** Ids of the known characters, unknown ones as the unknown symbol when the model has one. */
  ids: Uint16Array | Uint32Array;
  /** The prime in the form the ids were made from. */
  text: string;
  /** The distinct characters the model does not know, in order (dropped from `ids`, or made the unknown symbol). */
  unknownChars: string[];
}

/**
 * `prime` in the vocabulary's normalisation form, so é typed as e + U+0301
 * finds the model's é (and the other way round); for a model trained on text as
 * given ('none') the form as typed, NFC or NFD is taken, whichever leaves fewest
 * unknown characters. Unknown characters become the unknown symbol (U+FFFD)
 * when the model has one and are left out otherwise; the caller decides whether
 * that is an error.
 */
export function primeInModelForm(vocab: Vocabulary, prime: string): PrimeInModelForm {
  const forms =
    vocab.normalization === 'none'
      ? [prime, normalizeText(prime, 'nfc'), normalizeText(prime, 'nfd')]
      : [normalizeText(prime, vocab.normalization)];
  let best: PrimeInModelForm | null = null;
  for (const text of forms) {
    const r = vocab.encode(text, 'map');
    if (best === null || r.unknownChars.length < best.unknownChars.length) best = { ids: r.ids, text, unknownChars: r.unknownChars };
  }
  return best!;
}
