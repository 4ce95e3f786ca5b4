// Turning a file's bytes into text. Platform-neutral: no Node imports, so the
// same code reads a corpus in a browser.
import { CharrnnError } from '../errors.js';

/**
 * Decodes strict UTF-8 (a leading byte order mark is dropped). Throws a
 * CharrnnError naming `source` when the input is empty, looks binary (has a NUL
 * byte) or is not valid UTF-8.
 */
export function decodeText(bytes: Uint8Array, source: string): string {
  const hasBom = bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf;
  if (bytes.length === (hasBom ? 3 : 0)) throw new CharrnnError(`${source} is empty.`);
  // A NUL is valid UTF-8 but never in a text corpus: it is the usual sign of a binary file or of UTF-16.
  const nul = bytes.indexOf(0);
  if (nul >= 0) {
    throw new CharrnnError(`${source} looks like a binary file, not text: it has a NUL byte at byte offset ${nul}.`);
  }
  try {
    // ignoreBOM: true keeps the BOM in the output, so that stripping it is done once, here, on every platform.
    const text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
    return hasBom ? text.slice(1) : text;
  } catch {
    const at = firstInvalidUtf8(bytes);
    const where = at >= 0 ? ` (first bad byte at offset ${at}: 0x${bytes[at].toString(16).padStart(2, '0')})` : '';
    throw new CharrnnError(`${source} is not valid UTF-8 text${where}.`);
  }
}

/**
 * Offset of the first byte that makes `bytes` invalid UTF-8 (overlong forms,
 * surrogates and code points above U+10FFFF included), or -1 when it is valid.
 * Only run after the fast decoder has already failed.
 */
export function firstInvalidUtf8(bytes: Uint8Array): number {
  const n = bytes.length;
  let i = 0;
  while (i < n) {
    const b = bytes[i];
    if (b < 0x80) { i++; continue; }
    let need: number;
    let lo = 0x80, hi = 0xbf; // allowed range of the first continuation byte
    if (b >= 0xc2 && b <= 0xdf) need = 1;
    else if (b >= 0xe0 && b <= 0xef) {
      need = 2;
      if (b === 0xe0) lo = 0xa0; // overlong
      if (b === 0xed) hi = 0x9f; // surrogates
    } else if (b >= 0xf0 && b <= 0xf4) {
      need = 3;
      if (b === 0xf0) lo = 0x90; // overlong
      if (b === 0xf4) hi = 0x8f; // above U+10FFFF
    } else return i;
    for (let k = 1; k <= need; k++) {
      if (i + k >= n) return i; // truncated sequence: the lead byte is the bad one
      const c = bytes[i + k];
      if (k === 1 ? c < lo || c > hi : c < 0x80 || c > 0xbf) return i + k;
    }
    i += need + 1;
  }
  return -1;
}
