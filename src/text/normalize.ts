// Unicode normalisation of a corpus and of a prime. The files are never changed:
// the form is applied when the text is encoded, and stored in the model file,
// so that what a user types (é as one code point, or e + U+0301) reaches the
// model in the form its vocabulary was built from. Platform-neutral.

/**
 * The Unicode normalisation form text is put in before it is encoded: 'nfc'
 * (composed: é is one code point), 'nfd' (decomposed: e + U+0301), or 'none'
 * (the text as it is). A model stores its form and applies it to every prime.
 */
export type Normalization = 'nfc' | 'nfd' | 'none';
export const NORMALIZATIONS: readonly Normalization[] = ['nfc', 'nfd', 'none'];

/**
 * NFC: the form nearly all text is already in (keyboards, the web, most files),
 * so it changes nothing for most corpora, and it makes é one symbol however a
 * file spelled it, rather than two symbols that share the model's probability.
 */
export const DEFAULT_NORMALIZATION: Normalization = 'nfc';

// Below these code units a string is already in the form: nothing under U+0300
// composes in NFC (combining marks start there), and nothing under U+00C0
// decomposes in NFD. Checked by a regular expression, which is far cheaper than
// String.prototype.normalize on text (the usual case) that needs no change.
const MAY_CHANGE: Record<Exclude<Normalization, 'none'>, RegExp> = { nfc: /[\u0300-\uffff]/, nfd: /[\u00c0-\uffff]/ };

/** `text` in the form (unchanged for 'none'). */
export function normalizeText(text: string, form: Normalization): string {
  if (form === 'none' || !MAY_CHANGE[form].test(text)) return text;
  return text.normalize(form === 'nfc' ? 'NFC' : 'NFD');
}

/**
 * Normalises text that arrives in pieces without ever joining them: each piece
 * is cut before its last ASCII character (a character never composed with the
 * one before it), and the rest is carried to the next piece, so a combining
 * mark at the start of a piece still meets the letter it belongs to. A piece
 * of more than a million code units with no ASCII at all is normalised as it is.
 */
export class ChunkNormalizer {
  private carry = '';

  constructor(readonly form: Normalization) {}

  push(text: string): string {
    if (this.form === 'none') return text;
    const s = this.carry + text;
    let cut = s.length - 1;
    while (cut >= 0 && s.charCodeAt(cut) >= 0x80) cut--;
    if (cut < 0) cut = s.length > 1 << 20 ? s.length : 0;
    this.carry = s.slice(cut);
    return normalizeText(s.slice(0, cut), this.form);
  }

  end(): string {
    const rest = this.carry;
    this.carry = '';
    return normalizeText(rest, this.form);
  }
}
