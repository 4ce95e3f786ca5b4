// Bytes to text a chunk at a time, so that a file of any size is decoded without
// ever being one string. The platform's TextDecoder does the decoding (so every
// label of the WHATWG Encoding Standard works); this adds the choice of
// encoding, the binary-file check and error messages that say where.
// Platform-neutral: no Node imports.
import { CharrnnError, WordedError } from '../errors.js';
import { firstInvalidUtf8, incompleteUtf8Tail } from './utf8.js';

/** What to do with bytes the encoding cannot decode. */
export type InvalidPolicy = 'error' | 'replace';
export const INVALID_POLICIES: readonly InvalidPolicy[] = ['error', 'replace'];

/** How bytes become text: their encoding, and what to do with bytes that do not decode. */
export interface DecodeOptions {
  /** Any label the platform's TextDecoder accepts (utf-8, utf-16le, latin1, cp1252, shift_jis, ...); default: UTF-8, or UTF-16 by its byte order mark. */
  encoding?: string;
  /** 'replace' turns undecodable bytes into U+FFFD instead of refusing the file. */
  invalid?: InvalidPolicy;
}

/** U+FFFD, what undecodable bytes become with --invalid replace. */
export const REPLACEMENT_CHAR = '\ufffd';

/** The advice for bytes that do not decode, naming the text settings encoding and invalid (the CLI's --encoding and --invalid). */
const HINT = (n: (setting: 'encoding' | 'invalid') => string): string =>
  `; give ${n('encoding')} with its encoding (for example latin1, cp1252 or utf-16le), or ${n('invalid')} replace to turn the bad bytes into U+FFFD`;

/**
 * Bytes that cannot be decoded as the text settings ask. `problem` is what is
 * wrong, without the advice the message ends in, for callers whose advice differs
 * (a run's text is read with the run's own settings, which the user cannot change).
 * The advice names the text settings the library's way; `in(names)` a face's.
 */
export class DecodeError extends WordedError<'encoding' | 'invalid'> {
  constructor(
    readonly problem: string,
    advice: (name: (setting: 'encoding' | 'invalid') => string) => string,
  ) {
    super(n => `${problem}${advice(n)}.`);
  }
}

/** The platform's canonical name for an encoding label, or one sentence saying it is unknown. */
export function encodingName(label: string): string {
  try {
    return new TextDecoder(label).encoding;
  } catch {
    throw new CharrnnError(
      `Unknown encoding ${JSON.stringify(label)}: give a label of the WHATWG Encoding Standard, such as utf-8, utf-16le, utf-16be, latin1, cp1252, iso-8859-15, shift_jis or gb18030.`,
    );
  }
}

/** The encoding a byte order mark announces, or null. */
export function encodingOfBom(bytes: Uint8Array): string | null {
  if (bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) return 'utf-8';
  if (bytes.length >= 2 && bytes[0] === 0xff && bytes[1] === 0xfe) return 'utf-16le';
  if (bytes.length >= 2 && bytes[0] === 0xfe && bytes[1] === 0xff) return 'utf-16be';
  return null;
}

/**
 * Decodes one file given as consecutive chunks of bytes: `push` each chunk, then
 * `end`; the concatenated results are the file's text, its byte order mark
 * dropped. A CharrnnError naming `source` and the byte offset says why a file
 * is refused.
 */
export class ChunkDecoder {
  /** The encoding in use, once the first bytes have been seen. */
  encoding: string | null = null;
  private decoder: TextDecoder | null = null;
  private readonly given: string | null;
  private readonly replace: boolean;
  private head: Uint8Array = new Uint8Array(0); // the first bytes, held until the byte order mark is known
  private offset = 0; // bytes of the file decoded before the current chunk
  private pending: Uint8Array = new Uint8Array(0); // UTF-8 only: the start of a sequence the next chunk completes

  constructor(
    readonly source: string,
    options: DecodeOptions = {},
  ) {
    this.given = options.encoding === undefined ? null : encodingName(options.encoding);
    this.replace = options.invalid === 'replace';
  }

  push(bytes: Uint8Array): string {
    if (this.decoder === null) {
      this.head = concat(this.head, bytes);
      if (this.head.length < 3) {
        this.head = this.head.slice(); // the caller may reuse its buffer
        return '';
      }
      bytes = this.head;
      this.start();
    }
    return this.decode(bytes);
  }

  /**
   * Whether the next bytes, when they begin with ASCII, may be taken as they are
   * (and passed over with `skip`): UTF-8 decoding has started and no sequence
   * is left open.
   */
  get atUtf8Boundary(): boolean {
    return this.decoder !== null && this.encoding === 'utf-8' && this.pending.length === 0;
  }

  /** Passes over `n` bytes of ASCII text (no NUL) that the caller took as they are. */
  skip(n: number): void {
    if (!this.atUtf8Boundary) throw new Error('skip outside a UTF-8 sequence boundary');
    this.offset += n;
  }

  end(): string {
    let text = '';
    if (this.decoder === null) {
      const head = this.head;
      this.start();
      text = this.decode(head);
    }
    try {
      return text + this.decoder!.decode();
    } catch {
      // The file ends inside a sequence.
      throw this.invalid(this.pending, this.offset - this.pending.length, true);
    }
  }

  private start(): void {
    const bom = encodingOfBom(this.head);
    this.encoding = this.given ?? bom ?? 'utf-8';
    this.head = new Uint8Array(0);
    // ignoreBOM false: the decoder drops a leading byte order mark of its own encoding.
    this.decoder = new TextDecoder(this.encoding, { fatal: !this.replace, ignoreBOM: false });
  }

  private decode(bytes: Uint8Array): string {
    // A NUL byte is valid UTF-8 but never in text: it is the sign of a binary file (or UTF-16 without a BOM).
    if (this.given === null && this.encoding === 'utf-8') {
      const nul = bytes.indexOf(0);
      if (nul >= 0) {
        throw new DecodeError(
          `${this.source} looks like a binary file, not text: it has a NUL byte at byte offset ${this.offset + nul}`,
          n => ` (if it is UTF-16 without a byte order mark, give ${n('encoding')} utf-16le or utf-16be)`,
        );
      }
    }
    let text: string;
    try {
      text = this.decoder!.decode(bytes, { stream: true });
    } catch {
      throw this.invalid(concat(this.pending, bytes), this.offset - this.pending.length, false);
    }
    if (this.encoding === 'utf-8') {
      const recent = bytes.length >= 3 ? bytes.subarray(bytes.length - 3) : concat(this.pending, bytes).subarray(-3);
      this.pending = recent.slice(recent.length - incompleteUtf8Tail(recent));
    }
    this.offset += bytes.length;
    return text;
  }

  /** The sentence for undecodable bytes in `region`, which starts at file offset `base`. */
  private invalid(region: Uint8Array, base: number, atEnd: boolean): DecodeError {
    if (this.encoding !== 'utf-8') {
      if (atEnd)
        return new DecodeError(
          `${this.source} is not valid ${this.encoding} text: it ends in the middle of a character, after ${this.offset} bytes`,
          HINT,
        );
      return new DecodeError(
        `${this.source} is not valid ${this.encoding} text: the bytes from offset ${base} to ${base + region.length} ` +
          'hold something that encoding cannot decode',
        HINT,
      );
    }
    const i = atEnd ? 0 : Math.max(0, firstInvalidUtf8(region));
    const shown = [...region.subarray(i, i + 4)].map(b => b.toString(16).toUpperCase().padStart(2, '0')).join(' ');
    const why = atEnd ? 'begins a sequence that the end of the file cuts off' : 'does not begin a valid UTF-8 sequence';
    return new DecodeError(
      `${this.source} is not valid UTF-8 text: the byte 0x${shown.slice(0, 2)} at offset ${base + i} ${why} ` + `(bytes there: ${shown})`,
      HINT,
    );
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b;
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/**
 * Decodes a whole file: UTF-8 by default (a leading byte order mark is dropped),
 * UTF-16 when it starts with a UTF-16 byte order mark, or `options.encoding`.
 * Throws a CharrnnError naming `source` when the input is empty, looks binary
 * (a NUL byte in what should be UTF-8) or cannot be decoded (unless
 * `options.invalid` is 'replace').
 */
export function decodeText(bytes: Uint8Array, source: string, options: DecodeOptions = {}): string {
  const decoder = new ChunkDecoder(source, options);
  const text = decoder.push(bytes) + decoder.end();
  if (text.length === 0) throw new CharrnnError(`${source} is empty.`);
  return text;
}
