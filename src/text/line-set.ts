// The training lines of a line model, compact enough to ride in the model
// file's metadata so that generation can skip what it has seen (`--novel`).
// A set of 32-bit FNV-1a hashes of each line's UTF-8 bytes, sorted, stored as
// LEB128 varints of the gaps between them and written in base64: 4.0 base64
// characters per line for 10 000 lines (40 KB), 2.7 for a million (2.7 MB),
// where the raw hashes would take 5.3. A line not
// in the set is taken for one with probability about n / 2^32 for n lines
// (2.3e-6 for 10 000 lines, 2.3e-4 for a million): a novel line is then
// wrongly skipped, never a seen one printed.
import { CharrnnError } from '../errors.js';

/** The form in which lines are compared: without the CR of a CRLF line end. */
export function normaliseLine(line: string): string {
  return line.endsWith('\r') ? line.slice(0, -1) : line;
}

/** 32-bit FNV-1a of a line's UTF-8 bytes (the same figure any FNV-1a of UTF-8 gives, in any language). */
export function lineHash(line: string): number {
  const bytes = encoder.encode(normaliseLine(line));
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) {
    h ^= bytes[i];
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

const encoder = new TextEncoder();

/**
 * The training lines of a line model, as a set of 32-bit hashes compact
 * enough for the model file's metadata: `has` tells whether a generated line
 * was (almost surely) one of them. A line that was not is taken for one with
 * probability about n / 2^32 for n lines, so a novel line may be wrongly
 * skipped, never a seen one passed as novel.
 */
export class LineSet {
  /** The distinct hashes, ascending. */
  private constructor(private readonly hashes: Uint32Array) {}

  static fromLines(lines: Iterable<string>): LineSet {
    const all: number[] = [];
    for (const l of lines) all.push(lineHash(l));
    const sorted = Uint32Array.from(all).sort();
    let n = 0;
    for (let i = 0; i < sorted.length; i++) if (i === 0 || sorted[i] !== sorted[i - 1]) sorted[n++] = sorted[i];
    return new LineSet(sorted.slice(0, n));
  }

  /** Distinct hashes held (the distinct lines, but for collisions). */
  get size(): number {
    return this.hashes.length;
  }

  /** Whether the line was (almost surely) one of the set's lines. */
  has(line: string): boolean {
    const h = lineHash(line);
    let lo = 0;
    let hi = this.hashes.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.hashes[mid] < h) lo = mid + 1;
      else hi = mid;
    }
    return lo < this.hashes.length && this.hashes[lo] === h;
  }

  /** The set as base64 text: gaps between the sorted hashes as LEB128 varints. */
  encode(): string {
    const bytes = new Uint8Array(this.hashes.length * 5);
    let n = 0;
    let previous = 0;
    for (const h of this.hashes) {
      let gap = h - previous;
      previous = h;
      while (gap >= 0x80) {
        bytes[n++] = (gap & 0x7f) | 0x80;
        gap >>>= 7;
      }
      bytes[n++] = gap;
    }
    return toBase64(bytes.subarray(0, n));
  }

  /** Reads what `encode` wrote; `source` names it in the message when it is damaged. */
  static decode(text: string, source: string): LineSet {
    const fail = (): never => {
      throw new CharrnnError(`${source} has a damaged set of training lines.`);
    };
    let bytes: Uint8Array;
    try {
      bytes = fromBase64(text);
    } catch {
      return fail();
    }
    const hashes: number[] = [];
    let previous = 0;
    for (let i = 0; i < bytes.length;) {
      let gap = 0;
      let shift = 0;
      for (;;) {
        if (i >= bytes.length || shift > 28) fail();
        const b = bytes[i++];
        gap += (b & 0x7f) * 2 ** shift;
        shift += 7;
        if (b < 0x80) break;
      }
      const h = previous + gap;
      // Strictly ascending and 32-bit, as encode writes them.
      if (h > 0xffffffff || (hashes.length > 0 && gap === 0)) fail();
      hashes.push(h);
      previous = h;
    }
    return new LineSet(Uint32Array.from(hashes));
  }
}

// btoa / atob take "binary strings"; built in slices, as a million-line set is megabytes.
function toBase64(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

function fromBase64(text: string): Uint8Array {
  const s = atob(text);
  const bytes = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) bytes[i] = s.charCodeAt(i);
  return bytes;
}
