// A corpus of any size to ids in one pass over its bytes, without ever holding
// it as one string: each chunk is decoded, normalised and turned into
// provisional ids (in order of first appearance) in a typed array as narrow as
// the alphabet allows — one byte per character while there are at most 256
// distinct ones — and at the end the ids are renumbered in place to the sorted
// vocabulary (Python's sorted(set(text))), the rarest characters folded into
// the unknown symbol first when --max-vocab asks for it. Platform-neutral.
import { CharrnnError, WordedError } from '../errors.js';
import { ChunkDecoder, REPLACEMENT_CHAR, type DecodeOptions } from './decoder.js';
import { ChunkNormalizer, type Normalization } from './normalize.js';
import { Vocabulary } from './vocabulary.js';

/** Ids of a corpus, one per code point: the narrowest array that holds the vocabulary's ids. */
export type CorpusIds = Uint8Array | Uint16Array | Uint32Array;

/** How a {@link CorpusEncoder} turns the text into symbols. */
export interface EncoderOptions {
  /** The Unicode normalisation applied to every file before encoding (stored in the vocabulary). */
  normalize: Normalization;
  /** Keep at most this many symbols, the unknown symbol included (at least 2). */
  maxVocab?: number;
  /** Expected code points, to allocate once (for example the total size in bytes, an upper bound for UTF-8). */
  capacity?: number;
}

/** A whole corpus as ids, what {@link CorpusEncoder.finish} returns. */
export interface EncodedText {
  /** One id per code point of all the files, in order, numbered by `vocab`. */
  ids: CorpusIds;
  /** The corpus's sorted alphabet, with U+FFFD in it when characters were folded. */
  vocab: Vocabulary;
  /** Distinct characters folded into the unknown symbol by maxVocab. */
  foldedChars: number;
  /** Occurrences of the unknown symbol (folded characters, and U+FFFD from --invalid replace or in the text). */
  unknownCount: number;
}

const REPLACEMENT_CP = REPLACEMENT_CHAR.codePointAt(0)!;
const MAX_CODE_POINT = 0x10ffff;

/**
 * Encodes a corpus of one or more files of any size to ids, chunk by chunk,
 * without ever holding the text as a string. Call `beginFile`, `push` each
 * chunk of bytes, `endFile` (or `addFile` for text already decoded), for every
 * file, then `finish` once. Bad input throws a {@link CharrnnError}: the
 * constructor for a `maxVocab` under 2, `beginFile` for an unknown encoding,
 * `push` and `endFile` for bytes that do not decode (a {@link DecodeError}),
 * `endFile` for an empty file, `finish` for an empty corpus.
 */
export class CorpusEncoder {
  private ids: CorpusIds;
  private length = 0;
  private readonly provisional = new Int32Array(MAX_CODE_POINT + 1).fill(-1); // code point -> provisional id
  private readonly codePoints: number[] = []; // provisional id -> code point
  private decoder: ChunkDecoder | null = null;
  private normalizer: ChunkNormalizer;
  private fileStart = 0;
  private newestAt = -1; // where the newest symbol first occurs

  constructor(readonly options: EncoderOptions) {
    if (options.maxVocab !== undefined && !(Number.isInteger(options.maxVocab) && options.maxVocab >= 2)) {
      throw new WordedError<'maxVocab'>(
        n => `${n('maxVocab')} must be at least 2 (one character and the unknown symbol), got ${options.maxVocab}.`,
      );
    }
    this.ids = new Uint8Array(Math.max(1024, options.capacity ?? 0));
    this.normalizer = new ChunkNormalizer(options.normalize);
  }

  /** Code points encoded so far. */
  get size(): number {
    return this.length;
  }

  /** Starts the next file (each file has its own encoding and byte order mark). */
  beginFile(source: string, decode: DecodeOptions = {}): void {
    if (this.decoder !== null) throw new Error('beginFile before endFile');
    this.decoder = new ChunkDecoder(source, decode);
    this.normalizer = new ChunkNormalizer(this.options.normalize);
    this.fileStart = this.length;
  }

  /** The next chunk of the current file's bytes. */
  push(bytes: Uint8Array): void {
    const decoder = this.decoder;
    if (decoder === null) throw new Error('push before beginFile');
    // UTF-8 text is mostly ASCII, whose bytes are its code points: those are encoded straight from the bytes,
    // without a string, up to the first other byte. The last of them goes through the decoder and the
    // normaliser with the rest of the chunk (or into the next chunk), since a combining mark may follow it.
    if (decoder.atUtf8Boundary && bytes.length > 1 && isAsciiText(bytes[0])) {
      this.addText(this.normalizer.end()); // nothing composes with a following ASCII character
      const k = this.addAscii(bytes) - 1;
      this.unaddLast();
      decoder.skip(k);
      bytes = bytes.subarray(k);
    }
    this.addText(this.normalizer.push(decoder.push(bytes)));
  }

  /** Ends the current file; returns its length in code points (an empty file is refused). */
  endFile(): number {
    if (this.decoder === null) throw new Error('endFile before beginFile');
    this.addText(this.normalizer.push(this.decoder.end()));
    this.addText(this.normalizer.end());
    const source = this.decoder.source;
    this.decoder = null;
    const chars = this.length - this.fileStart;
    if (chars === 0) throw new CharrnnError(`${source} is empty.`);
    return chars;
  }

  /** Text that needs no decoding (an embedded corpus), as one more file. */
  addFile(text: string, source: string): number {
    this.beginFile(source);
    this.addText(this.normalizer.push(text));
    return this.endFile();
  }

  /** The ids renumbered to the sorted vocabulary. The encoder is spent afterwards. */
  finish(): EncodedText {
    if (this.decoder !== null) throw new Error('finish before endFile');
    if (this.length === 0) throw new CharrnnError('The text is empty.');
    const n = this.codePoints.length;
    const { keep, foldedChars } = this.chooseSymbols();
    // Final vocabulary: the kept code points sorted, the unknown symbol among them when anything was folded.
    const kept = this.codePoints.filter((_, p) => keep[p]);
    if (foldedChars > 0 && this.provisional[REPLACEMENT_CP] < 0) kept.push(REPLACEMENT_CP);
    kept.sort((a, b) => a - b);
    if (kept.length === 1 && kept[0] === REPLACEMENT_CP) {
      throw new CharrnnError('The text has no character besides U+FFFD, the unknown symbol: there is nothing to learn.');
    }
    const finalId = new Int32Array(MAX_CODE_POINT + 1).fill(-1);
    kept.forEach((cp, id) => {
      finalId[cp] = id;
    });
    const unknownId = finalId[REPLACEMENT_CP];
    const remap = new Uint32Array(n); // [provisional id] -> final id
    let identity = true;
    for (let p = 0; p < n; p++) {
      remap[p] = keep[p] ? finalId[this.codePoints[p]] : unknownId;
      if (remap[p] !== p) identity = false;
    }
    const ids = this.ids.subarray(0, this.length);
    if (!identity) for (let i = 0; i < ids.length; i++) ids[i] = remap[ids[i]];
    // Trimmed by a copy only when much of the array is unused (text that was mostly multi-byte UTF-8).
    const trimmed = ids.length < this.ids.length * 0.75 ? ids.slice() : ids;
    this.ids = new Uint8Array(0);
    return {
      ids: trimmed,
      vocab: new Vocabulary(
        kept.map(cp => String.fromCodePoint(cp)),
        this.options.normalize,
      ),
      foldedChars,
      unknownCount: unknownId >= 0 ? occurrences(ids, unknownId) : 0,
    };
  }

  /** Which provisional symbols keep their own id under maxVocab: the most frequent, ties to the lower code point. */
  private chooseSymbols(): { keep: Uint8Array; foldedChars: number } {
    const n = this.codePoints.length;
    const keep = new Uint8Array(n).fill(1);
    const max = this.options.maxVocab;
    if (max === undefined || n <= max) return { keep, foldedChars: 0 };
    const counts = histogram(this.ids.subarray(0, this.length), n);
    // U+FFFD is the unknown symbol itself, so it is never counted as a character to keep or fold.
    const candidates = [...Array(n).keys()].filter(p => this.codePoints[p] !== REPLACEMENT_CP);
    candidates.sort((a, b) => counts[b] - counts[a] || this.codePoints[a] - this.codePoints[b]);
    const folded = candidates.slice(max - 1);
    for (const p of folded) keep[p] = 0;
    return { keep, foldedChars: folded.length };
  }

  /** Takes back the last code point encoded, and its symbol if it was that symbol's first occurrence. */
  private unaddLast(): void {
    this.length--;
    if (this.newestAt === this.length) {
      this.provisional[this.codePoints.pop()!] = -1;
      this.newestAt = -1;
    }
  }

  /** Encodes the leading ASCII text bytes (not NUL) of `bytes`; returns how many there were. */
  private addAscii(bytes: Uint8Array): number {
    const n = bytes.length;
    if (this.length + n > this.ids.length) this.grow(this.length + n);
    const table = this.provisional;
    let ids = this.ids;
    let len = this.length;
    let i = 0;
    for (; i < n; i++) {
      const c = bytes[i];
      if (!isAsciiText(c)) break;
      let p = table[c];
      if (p < 0) {
        p = this.newSymbol(c, len);
        ids = this.ids;
      }
      ids[len++] = p;
    }
    this.length = len;
    return i;
  }

  private addText(s: string): void {
    const n = s.length;
    if (n === 0) return;
    if (this.length + n > this.ids.length) this.grow(this.length + n);
    const table = this.provisional;
    let ids = this.ids;
    let len = this.length;
    for (let i = 0; i < n; i++) {
      let cp = s.charCodeAt(i);
      if (cp >= 0xd800 && cp <= 0xdbff && i + 1 < n) {
        const lo = s.charCodeAt(i + 1);
        if (lo >= 0xdc00 && lo <= 0xdfff) {
          cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
          i++;
        }
      }
      let p = table[cp];
      if (p < 0) {
        p = this.newSymbol(cp, len);
        ids = this.ids;
      }
      ids[len++] = p;
    }
    this.length = len;
  }

  /** A provisional id for a code point seen for the first time; widens the id array when the alphabet outgrows it. */
  private newSymbol(cp: number, used: number): number {
    const p = this.codePoints.length;
    this.codePoints.push(cp);
    this.newestAt = used;
    this.provisional[cp] = p;
    const limit = this.ids instanceof Uint8Array ? 0x100 : this.ids instanceof Uint16Array ? 0x10000 : Infinity;
    if (p >= limit) {
      const wider = p >= 0x10000 ? new Uint32Array(this.ids.length) : new Uint16Array(this.ids.length);
      wider.set(this.ids.subarray(0, used));
      this.ids = wider;
    }
    return p;
  }

  private grow(needed: number): void {
    const bigger = new (this.ids.constructor as new (n: number) => CorpusIds)(Math.max(needed, Math.ceil(this.ids.length * 1.5)));
    bigger.set(this.ids.subarray(0, this.length));
    this.ids = bigger;
  }
}

/** Above this many symbols a model spends most of its output layer on characters it rarely sees. */
export const LARGE_VOCABULARY = 10_000;

/** The warning for a vocabulary that --max-vocab would be better for, or null. */
export function vocabularyWarning(size: number, maxVocab: number | undefined): string | null {
  if (maxVocab !== undefined || size <= LARGE_VOCABULARY) return null;
  return (
    `the text has ${size.toLocaleString('en')} distinct characters, which makes a large and slow output layer; ` +
    `--max-vocab N keeps the N - 1 most frequent ones and folds the rest into one unknown symbol`
  );
}

/** Any ASCII byte but NUL (which marks a binary file). */
function isAsciiText(b: number): boolean {
  return b !== 0 && b < 0x80;
}

/** Occurrences of each of the ids 0 .. n - 1. */
function histogram(ids: CorpusIds, n: number): Float64Array {
  const counts = new Float64Array(n);
  for (let i = 0; i < ids.length; i++) counts[ids[i]]++;
  return counts;
}

function occurrences(ids: CorpusIds, id: number): number {
  let count = 0;
  for (let i = 0; i < ids.length; i++) if (ids[i] === id) count++;
  return count;
}
