// UTF-8 decoding and the code-point vocabulary, against hand-written bytes and
// code points.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CharrnnError } from '../src/errors.js';
import { decodeText } from '../src/text/decoder.js';
import { firstInvalidUtf8 } from '../src/text/utf8.js';
import { Vocabulary } from '../src/text/vocabulary.js';
import { Random } from '../src/util/random.js';

const bytes = (...b: number[]): Uint8Array => new Uint8Array(b);

/** Asserts that f throws a one-sentence CharrnnError matching every pattern. */
function throwsUserError(f: () => unknown, ...patterns: RegExp[]): void {
  assert.throws(f, (e: unknown) => {
    assert.ok(e instanceof CharrnnError, `expected a CharrnnError, got ${String(e)}`);
    assert.match(e.message, /^[^\n]+\.$/, 'one sentence ending in a full stop');
    for (const p of patterns) assert.match(e.message, p);
    return true;
  });
}

describe('decodeText', () => {
  it('decodes 1- to 4-byte sequences (bytes written by hand)', () => {
    // "a" U+0061, "é" U+00E9 = C3 A9, "€" U+20AC = E2 82 AC, "😀" U+1F600 = F0 9F 98 80
    const text = decodeText(bytes(0x61, 0xc3, 0xa9, 0xe2, 0x82, 0xac, 0xf0, 0x9f, 0x98, 0x80), 'x');
    assert.deepEqual(
      [...text].map(c => c.codePointAt(0)),
      [0x61, 0xe9, 0x20ac, 0x1f600],
    );
  });

  it('strips a leading byte order mark, and only a leading one', () => {
    assert.equal(decodeText(bytes(0xef, 0xbb, 0xbf, 0x68, 0x69), 'x'), 'hi');
    assert.equal(decodeText(bytes(0x68, 0xef, 0xbb, 0xbf), 'x'), 'h\ufeff');
  });

  it('rejects empty input, a BOM alone counting as empty', () => {
    throwsUserError(() => decodeText(bytes(), 'corpus.txt'), /^corpus\.txt is empty\.$/);
    throwsUserError(() => decodeText(bytes(0xef, 0xbb, 0xbf), 'corpus.txt'), /^corpus\.txt is empty\.$/);
  });

  it('rejects a NUL byte as binary, with its offset and the UTF-16 hint', () => {
    throwsUserError(() => decodeText(bytes(0x61, 0x62, 0x00, 0x63), 'img.png'), /^img\.png /, /binary/, /offset 2\b/);
    // UTF-16 without a byte order mark, the usual way a NUL gets into a "text" file.
    throwsUserError(() => decodeText(bytes(0x61, 0x00, 0x62, 0x00), 'u16.txt'), /binary/, /offset 1\b/, /give encoding utf-16le/);
  });

  const invalid: [string, number[], number][] = [
    ['a lone continuation byte', [0x61, 0x80], 1],
    // The sequence's first byte is named, not the byte after it that gave it away.
    ['a lead byte followed by ASCII', [0x41, 0xe2, 0x82, 0x41], 1],
    ['an overlong 2-byte form (C0 80)', [0x61, 0x62, 0xc0, 0x80], 2],
    ['an overlong 3-byte form (E0 80 80)', [0xe0, 0x80, 0x80], 0],
    ['an encoded surrogate (ED A0 80)', [0x61, 0xed, 0xa0, 0x80], 1],
    ['a code point above U+10FFFF (F4 90 80 80)', [0xf4, 0x90, 0x80, 0x80], 0],
    ['a byte that never appears (F5)', [0x61, 0xf5, 0x80, 0x80, 0x80], 1],
    ['a sequence cut off by the end', [0x61, 0x62, 0xf0, 0x9f, 0x98], 2],
    ['Latin-1 text ending in é', [0x63, 0x61, 0x66, 0xe9], 3],
    // The case that used to name the wrong byte: Latin-1 é (E9) followed by "s" was reported as "0x73 at offset 4".
    ['Latin-1 "cafés" (é followed by a letter)', [0x63, 0x61, 0x66, 0xe9, 0x73], 3],
  ];
  for (const [what, b, at] of invalid) {
    it(`rejects ${what} as invalid UTF-8 at byte ${at}, naming that byte`, () => {
      const hex = b[at].toString(16).toUpperCase();
      throwsUserError(
        () => decodeText(bytes(...b), 'data.txt'),
        /^data\.txt /,
        /not valid UTF-8/,
        new RegExp(`byte 0x${hex} at offset ${at}\\b`),
      );
    });
  }

  it('finds a bad byte exactly when the platform decoder rejects the input (random bytes)', () => {
    const rng = new Random(11);
    const strict = new TextDecoder('utf-8', { fatal: true });
    let bad = 0;
    for (let trial = 0; trial < 3000; trial++) {
      // Mostly valid multi-byte material with some damage, so that both outcomes are common.
      const chars = Array.from({ length: 1 + rng.int(6) }, () =>
        String.fromCodePoint(rng.int(4) === 0 ? 0x10000 + rng.int(0xfffff) : rng.int(0xd000)),
      );
      const b = new TextEncoder().encode(chars.join(''));
      if (rng.int(2) === 0 && b.length > 0) b[rng.int(b.length)] = rng.int(256);
      let valid = true;
      try {
        strict.decode(b);
      } catch {
        valid = false;
      }
      const at = firstInvalidUtf8(b);
      assert.equal(at === -1, valid, `bytes ${[...b].map(x => x.toString(16)).join(' ')}: offset ${at}`);
      if (!valid) {
        bad++;
        // Everything before the offset is valid UTF-8 on its own, and what starts there is not.
        const show = `bytes ${[...b].map(x => x.toString(16)).join(' ')}: offset ${at}`;
        assert.doesNotThrow(() => strict.decode(b.subarray(0, at)), show);
        assert.throws(() => strict.decode(b.subarray(at)), show);
      }
    }
    assert.ok(bad > 300 && bad < 2700, `${bad} invalid cases out of 3000`);
  });
});

describe('Vocabulary', () => {
  it('treats each code point as one symbol: emoji, CJK (BMP and beyond), combining marks', () => {
    // U+1F600 emoji, U+4E2D CJK, U+20000 CJK extension B, "e" + U+0301 combining acute (two code points).
    const text = 'a😀中𠀀e\u0301😀';
    const v = Vocabulary.fromText(text);
    assert.deepEqual(
      v.chars.map(c => c.codePointAt(0)),
      [0x61, 0x65, 0x301, 0x4e2d, 0x1f600, 0x20000],
    );
    assert.equal(v.size, 6);
    const { ids, skipped, unknownChars } = v.encode(text);
    assert.deepEqual([...ids], [0, 4, 3, 5, 1, 2, 4]);
    assert.equal(skipped, 0);
    assert.deepEqual(unknownChars, []);
    assert.equal(v.decode(ids), text);
    assert.equal(v.id('😀'), 4);
    assert.equal(v.id('\u0301'), 2);
    assert.equal(v.id('é'), undefined);
    assert.equal(v.id('ab'), undefined);
    assert.equal(v.id(''), undefined);
  });

  it('sorts by code point as Python does, not by UTF-16 unit', () => {
    // U+FF01 sorts before U+1F600 by code point; by UTF-16 units (D83D DE00) it would come after.
    const v = Vocabulary.fromText('😀！ ');
    assert.deepEqual(v.chars, [' ', '！', '😀']);
  });

  it('builds the same vocabulary as a naive set of code points (random text)', () => {
    const rng = new Random(5);
    const pool = ['a', 'Z', '\n', ' ', 'é', 'ß', '中', '😀', '𝄞', '\u0301', '\uffff', '\u{10ffff}', '\u0000'];
    const text = Array.from({ length: 2000 }, () => pool[rng.int(pool.length)]).join('');
    const naive = [...new Set(Array.from(text))].sort((a, b) => a.codePointAt(0)! - b.codePointAt(0)!);
    const v = Vocabulary.fromText(text);
    assert.deepEqual(v.chars, naive);
    const ids = v.encode(text).ids;
    assert.deepEqual(
      [...ids],
      Array.from(text).map(c => naive.indexOf(c)),
    );
  });

  it('encodes into Uint16Array up to 65536 symbols and Uint32Array beyond', () => {
    const chars = (n: number): string[] => Array.from({ length: n }, (_, i) => String.fromCodePoint(0x20000 + i));
    const at = new Vocabulary(chars(65536));
    const last = String.fromCodePoint(0x20000 + 65535);
    const small = at.encode(last + 'ð' + String.fromCodePoint(0x20000), 'skip');
    assert.ok(small.ids instanceof Uint16Array);
    assert.deepEqual([...small.ids], [65535, 0]);
    const beyond = new Vocabulary(chars(65537));
    const big = beyond.encode(String.fromCodePoint(0x20000 + 65536) + String.fromCodePoint(0x20000));
    assert.ok(big.ids instanceof Uint32Array);
    assert.deepEqual([...big.ids], [65536, 0]);
  });

  it("'error' names the unknown characters readably and counts them", () => {
    const v = Vocabulary.fromText('abc ');
    throwsUserError(() => v.encode('a\tb'), /1 character/, /"\\t" \(U\+0009\)/, /1 occurrence/);
    throwsUserError(
      () => v.encode('aé😀éxyzwq'),
      /7 different characters/,
      /8 occurrences/,
      /"é" \(U\+00E9\), "😀" \(U\+1F600\), "x" \(U\+0078\), "y"/,
      /and 2 more/,
    );
    throwsUserError(() => v.encode('a\u0301'), /"\u0301" \(U\+0301\)/);
  });

  it("'skip' drops unknown characters and reports them once each, in order", () => {
    const v = Vocabulary.fromText('abc');
    const r = v.encode('xa😀bxc', 'skip');
    assert.deepEqual([...r.ids], [0, 1, 2]);
    assert.equal(r.skipped, 3);
    assert.deepEqual(r.unknownChars, ['x', '😀']);
  });

  it('validates its characters', () => {
    throwsUserError(() => new Vocabulary([]), /empty/);
    throwsUserError(() => new Vocabulary(['a', 'bc']), /index 1/, /one character/);
    throwsUserError(() => new Vocabulary(['a', '']), /index 1/);
    throwsUserError(() => new Vocabulary(['e\u0301']), /index 0/);
    throwsUserError(() => new Vocabulary(['😀', 'a', '😀']), /"😀" \(U\+1F600\) twice/);
    assert.equal(new Vocabulary(['😀', 'a']).id('a'), 1); // any order is kept as given
  });

  it('round-trips through toJSON', () => {
    const v = Vocabulary.fromText('hello, 世界 🌍\n');
    const again = new Vocabulary(JSON.parse(JSON.stringify(v)) as string[]);
    assert.deepEqual(again.chars, v.chars);
    assert.deepEqual(v.toJSON(), [...v.chars]);
  });

  it('rejects ids outside the vocabulary when decoding', () => {
    const v = Vocabulary.fromText('ab');
    assert.throws(() => v.decode([0, 2]), RangeError);
    assert.throws(() => v.decode([-1]), RangeError);
  });
});
