// The alphabet of a model: one symbol per Unicode code point (not per UTF-16
// unit, so an emoji or a CJK character outside the BMP is one symbol), sorted by
// code point as Python's sorted(set(text)) sorts them.
import { CharrnnError } from '../errors.js';
import { REPLACEMENT_CHAR } from './decoder.js';
import type { Normalization } from './normalize.js';

const MAX_CODE_POINT = 0x10ffff;
/** How many unknown characters an error message names before it just counts them. */
const NAMED_UNKNOWN = 5;

/** What {@link Vocabulary.encode} returns: the ids and what became of the characters it did not know. */
export interface EncodeResult {
  /** One id per known code point of the text; Uint16Array when every id fits in 16 bits. */
  ids: Uint16Array | Uint32Array;
  /** How many code points were dropped because they are not in the vocabulary ('skip' mode). */
  skipped: number;
  /** The distinct unknown characters, in order of first appearance ('skip' and 'map' modes). */
  unknownChars: string[];
  /** How many code points became the unknown symbol ('map' mode). */
  mapped: number;
}

/**
 * What encode does with a character outside the vocabulary: 'error' refuses,
 * 'skip' drops it, 'map' turns it into the unknown symbol (U+FFFD) when the
 * vocabulary has one, and drops it otherwise.
 */
export type UnknownPolicy = 'error' | 'skip' | 'map';

/**
 * A model's alphabet: its characters in id order, each exactly one Unicode
 * code point, sorted by code point when built from a text. Encodes text to ids
 * and ids back to text; a model file stores it as its list of characters.
 */
export class Vocabulary {
  readonly chars: readonly string[];
  /**
   * The id of U+FFFD, the unknown symbol, or -1. It stands for every character
   * that --max-vocab left out and every byte that --invalid replace could not
   * decode; it is learnt like any character but never generated.
   */
  readonly unknownId: number;
  // Id lookup: a dense table for the BMP (where almost every character of real text is)
  // and a map for the rest, so that encoding a large corpus does no string hashing.
  private readonly bmp: Int32Array;
  private readonly astral: Map<number, number>;

  /**
   * A vocabulary of exactly these characters, in this order (ids are the
   * indices), built from text in Unicode normalisation form `normalization`.
   */
  constructor(
    chars: readonly string[],
    readonly normalization: Normalization = 'none',
  ) {
    if (chars.length === 0) throw new CharrnnError('The vocabulary is empty.');
    this.bmp = new Int32Array(0x10000).fill(-1);
    this.astral = new Map();
    for (let i = 0; i < chars.length; i++) {
      const c = chars[i];
      const cp = typeof c === 'string' ? c.codePointAt(0) : undefined;
      if (cp === undefined || String.fromCodePoint(cp) !== c) {
        throw new CharrnnError(`The vocabulary entry at index ${i} (${JSON.stringify(c)}) is not exactly one character.`);
      }
      if (this.lookup(cp) >= 0) throw new CharrnnError(`The vocabulary has the character ${describeChar(c)} twice.`);
      if (cp < 0x10000) this.bmp[cp] = i;
      else this.astral.set(cp, i);
    }
    this.chars = Object.freeze([...chars]);
    this.unknownId = this.lookup(REPLACEMENT_CHAR.codePointAt(0)!);
  }

  /** The sorted distinct code points of a text. */
  static fromText(text: string): Vocabulary {
    // A presence bitmap over all code points (139 KB) makes one cheap pass over even a 100 MB text.
    const seen = new Uint8Array((MAX_CODE_POINT >> 3) + 1);
    const n = text.length;
    for (let i = 0; i < n; i++) {
      let cp = text.charCodeAt(i);
      if (cp >= 0xd800 && cp <= 0xdbff && i + 1 < n) {
        const lo = text.charCodeAt(i + 1);
        if (lo >= 0xdc00 && lo <= 0xdfff) {
          cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
          i++;
        }
      }
      seen[cp >> 3] |= 1 << (cp & 7);
    }
    const chars: string[] = [];
    for (let byte = 0; byte < seen.length; byte++) {
      const bits = seen[byte];
      if (bits === 0) continue;
      for (let k = 0; k < 8; k++) if (bits & (1 << k)) chars.push(String.fromCodePoint((byte << 3) | k));
    }
    return new Vocabulary(chars);
  }

  get size(): number {
    return this.chars.length;
  }

  /** The id of one character (one code point), or undefined when it is not in the vocabulary. */
  id(char: string): number | undefined {
    const cp = char.codePointAt(0);
    if (cp === undefined || String.fromCodePoint(cp) !== char) return undefined;
    const i = this.lookup(cp);
    return i >= 0 ? i : undefined;
  }

  /**
   * The ids of every code point of `text`. With unknown = 'error' a character
   * outside the vocabulary throws a CharrnnError naming it; with 'skip' it is
   * dropped and counted.
   */
  encode(text: string, unknown: UnknownPolicy = 'error'): EncodeResult {
    const n = text.length;
    // Never more code points than UTF-16 units; trimmed at the end when there were pairs or skips.
    const ids = this.size <= 0x10000 ? new Uint16Array(n) : new Uint32Array(n);
    let m = 0;
    let skipped = 0;
    let mapped = 0;
    const replacement = unknown === 'map' ? this.unknownId : -1;
    const unknownChars: string[] = [];
    const unknownSet = new Set<number>();
    for (let i = 0; i < n; i++) {
      let cp = text.charCodeAt(i);
      if (cp >= 0xd800 && cp <= 0xdbff && i + 1 < n) {
        const lo = text.charCodeAt(i + 1);
        if (lo >= 0xdc00 && lo <= 0xdfff) {
          cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
          i++;
        }
      }
      const id = cp < 0x10000 ? this.bmp[cp] : (this.astral.get(cp) ?? -1);
      if (id >= 0) {
        ids[m++] = id;
      } else {
        if (replacement >= 0) {
          ids[m++] = replacement;
          mapped++;
        } else skipped++;
        if (!unknownSet.has(cp)) {
          unknownSet.add(cp);
          unknownChars.push(String.fromCodePoint(cp));
        }
      }
    }
    if (skipped > 0 && unknown === 'error') {
      const named = unknownChars.slice(0, NAMED_UNKNOWN).map(describeChar).join(', ');
      const more = unknownChars.length > NAMED_UNKNOWN ? `, and ${unknownChars.length - NAMED_UNKNOWN} more` : '';
      const kinds = unknownChars.length === 1 ? '1 character' : `${unknownChars.length} different characters`;
      const times = skipped === 1 ? '1 occurrence' : `${skipped} occurrences in all`;
      throw new CharrnnError(`The text has ${kinds} that the vocabulary does not have, ${times}: ${named}${more}.`);
    }
    return { ids: m === n ? ids : ids.slice(0, m), skipped, unknownChars, mapped };
  }

  /** The text of a sequence of ids. */
  decode(ids: ArrayLike<number>): string {
    const parts: string[] = [];
    const size = this.size;
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      if (!(Number.isInteger(id) && id >= 0 && id < size)) throw new RangeError(`id ${id} is outside the vocabulary of ${size}`);
      parts.push(this.chars[id]);
    }
    return parts.join('');
  }

  /** The characters, in id order: what a model file stores. */
  toJSON(): string[] {
    return [...this.chars];
  }

  private lookup(cp: number): number {
    return cp < 0x10000 ? this.bmp[cp] : (this.astral.get(cp) ?? -1);
  }
}

/**
 * A character as an error message shows it: quoted (with JSON escapes for
 * control characters) and its code point, so that invisible, combining or
 * look-alike characters can still be told apart.
 */
export function describeChar(c: string): string {
  const cp = c.codePointAt(0) ?? 0;
  const hex = cp.toString(16).toUpperCase().padStart(4, '0');
  return `${JSON.stringify(c)} (U+${hex})`;
}
