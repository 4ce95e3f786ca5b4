// Which characters a font file has glyphs for, read from its cmap table (the
// OpenType specification, "cmap — Character to Glyph Index Mapping Table"), so
// that the renderer knows before drawing which characters would come out as
// empty boxes. TrueType and OpenType files and collections (.ttc) are read; only
// the font's header and its cmap are read from disk, not its glyphs.
import { closeSync, openSync, readSync } from 'node:fs';

/** The code points a font maps to a glyph other than .notdef. */
export type Coverage = ReadonlySet<number>;

/**
 * The union of the Unicode cmaps of every face in a font file. A file that is
 * not a font, or is cut short, is an error (the caller decides whether that matters).
 */
export function fontCoverage(path: string): Coverage {
  const fd = openSync(path, 'r');
  try {
    const read = (offset: number, length: number): DataView => {
      const bytes = new Uint8Array(length);
      const got = readSync(fd, bytes, 0, length, offset);
      if (got !== length) throw new Error(`${path} is cut short: no ${length} bytes at ${offset}`);
      return new DataView(bytes.buffer);
    };
    const covered = new Set<number>();
    for (const face of faceOffsets(read)) addFace(read, face, covered);
    return covered;
  } finally {
    closeSync(fd);
  }
}

type Reader = (offset: number, length: number) => DataView;

const tag = (v: DataView, at: number): string =>
  String.fromCharCode(v.getUint8(at), v.getUint8(at + 1), v.getUint8(at + 2), v.getUint8(at + 3));

/** Where each face's table directory starts: one for a font, each member of a collection. */
function faceOffsets(read: Reader): number[] {
  const head = read(0, 12);
  const kind = tag(head, 0);
  if (kind === 'ttcf') {
    const count = head.getUint32(8);
    const offsets = read(12, 4 * count);
    return Array.from({ length: count }, (_, i) => offsets.getUint32(4 * i));
  }
  if (kind === 'OTTO' || kind === 'true' || head.getUint32(0) === 0x00010000) return [0];
  throw new Error(`not a TrueType or OpenType font (it starts with ${JSON.stringify(kind)})`);
}

function addFace(read: Reader, face: number, covered: Set<number>): void {
  const tables = read(face + 4, 2).getUint16(0);
  const directory = read(face + 12, 16 * tables);
  let cmap: { offset: number; length: number } | null = null;
  for (let i = 0; i < tables; i++) {
    if (tag(directory, 16 * i) === 'cmap') cmap = { offset: directory.getUint32(16 * i + 8), length: directory.getUint32(16 * i + 12) };
  }
  if (!cmap) return;
  const table = read(cmap.offset, cmap.length);
  const records = table.getUint16(2);
  const seen = new Set<number>();
  for (let i = 0; i < records; i++) {
    const platform = table.getUint16(4 + 8 * i),
      encoding = table.getUint16(6 + 8 * i),
      offset = table.getUint32(8 + 8 * i);
    // Unicode subtables only: platform 0 (Unicode) and Windows' BMP (1) and full (10) Unicode encodings.
    const unicode = platform === 0 || (platform === 3 && (encoding === 1 || encoding === 10));
    if (!unicode || seen.has(offset)) continue;
    seen.add(offset);
    const format = table.getUint16(offset);
    if (format === 4) addFormat4(table, offset, covered);
    else if (format === 12) addFormat12(table, offset, covered);
  }
}

/** Segment mapping to delta values: the BMP in segments, each mapped by a delta or through a glyph array. */
function addFormat4(t: DataView, at: number, covered: Set<number>): void {
  const segments = t.getUint16(at + 6) / 2;
  const ends = at + 14,
    starts = ends + 2 * segments + 2,
    deltas = starts + 2 * segments,
    rangeOffsets = deltas + 2 * segments;
  for (let s = 0; s < segments; s++) {
    const end = t.getUint16(ends + 2 * s),
      start = t.getUint16(starts + 2 * s);
    const delta = t.getUint16(deltas + 2 * s),
      rangeOffset = t.getUint16(rangeOffsets + 2 * s);
    for (let c = start; c <= end && c !== 0xffff; c++) {
      let glyph: number;
      if (rangeOffset === 0) glyph = (c + delta) & 0xffff;
      else {
        // The offset counts from where the range offset itself is stored.
        const where = rangeOffsets + 2 * s + rangeOffset + 2 * (c - start);
        if (where + 2 > t.byteLength) continue;
        glyph = t.getUint16(where);
        if (glyph !== 0) glyph = (glyph + delta) & 0xffff;
      }
      if (glyph !== 0) covered.add(c);
    }
  }
}

/** Segmented coverage: groups of consecutive code points mapped to consecutive glyphs. */
function addFormat12(t: DataView, at: number, covered: Set<number>): void {
  const groups = t.getUint32(at + 12);
  for (let g = 0; g < groups; g++) {
    const start = t.getUint32(at + 16 + 12 * g),
      end = t.getUint32(at + 20 + 12 * g),
      firstGlyph = t.getUint32(at + 24 + 12 * g);
    for (let c = start; c <= Math.min(end, 0x10ffff); c++) if (firstGlyph + (c - start) !== 0) covered.add(c);
  }
}
