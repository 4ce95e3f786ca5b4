// Real-world text: encodings decoded a chunk at a time, Unicode normalisation,
// the streaming corpus encoder and its cache, primes, the unknown symbol, model
// files that must not be used, and the memory estimate. References are the
// platform's whole-text TextDecoder and String.prototype.normalize, a naive
// sorted set of code points, hand-written bytes and hand-counted sizes, and
// the bytes the engine really allocates (process.memoryUsage().arrayBuffers).
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CharrnnError } from '../src/errors.js';
import { referenceKernels } from '../src/kernels/reference/index.js';
import { CharRNN } from '../src/model/charrnn.js';
import type { ModelConfig } from '../src/model/config.js';
import { decodeModel, encodeModel, loadModel } from '../src/model/model-file.js';
import { parameterSpecs } from '../src/model/parameters.js';
import { decodeSafetensors, encodeSafetensors } from '../src/model/safetensors.js';
import { readCorpus } from '../src/node/read-corpus.js';
import { sampleTexts } from '../src/generate/sample-texts.js';
import { CorpusEncoder, vocabularyWarning } from '../src/text/corpus-encoder.js';
import { ChunkDecoder, decodeText, encodingName } from '../src/text/decoder.js';
import { ChunkNormalizer, normalizeText } from '../src/text/normalize.js';
import { encodePrime } from '../src/generate/encode-prime.js';
import { Vocabulary } from '../src/text/vocabulary.js';
import { encodeCheckpoint } from '../src/train/checkpoint.js';
import { checkMemory, generationMemory, parameterCount, trainingMemory } from '../src/train/memory-estimate.js';
import { DEFAULT_OPTIMIZER } from '../src/train/optimizer.js';
import { Trainer } from '../src/train/trainer.js';
import { Random } from '../src/util/random.js';

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

function utf16(s: string, bigEndian: boolean, bom = true): Uint8Array {
  const out = new Uint8Array((s.length + (bom ? 1 : 0)) * 2);
  const units = [...(bom ? [0xfeff] : []), ...Array.from({ length: s.length }, (_, i) => s.charCodeAt(i))];
  units.forEach((u, i) => {
    out[2 * i + (bigEndian ? 0 : 1)] = u >> 8;
    out[2 * i + (bigEndian ? 1 : 0)] = u & 0xff;
  });
  return out;
}

/** Asserts that f throws a one-sentence CharrnnError matching every pattern. */
function throwsUserError(f: () => unknown, ...patterns: RegExp[]): void {
  assert.throws(f, (e: unknown) => {
    assert.ok(e instanceof CharrnnError, `expected a CharrnnError, got ${String(e)}`);
    assert.match(e.message, /^[^\n]+\.$/, 'one sentence ending in a full stop');
    for (const p of patterns) assert.match(e.message, p);
    return true;
  });
}

/** Cuts bytes at random places (chunks of 1 to maxChunk bytes). */
function randomChunks(b: Uint8Array, rng: Random, maxChunk: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < b.length;) {
    const n = 1 + rng.int(maxChunk);
    out.push(b.slice(i, i + n));
    i += n;
  }
  return out;
}

function decodeChunked(chunks: Uint8Array[], options = {}): string {
  const d = new ChunkDecoder('f.txt', options);
  return chunks.map(c => d.push(c)).join('') + d.end();
}

const MIXED = 'Ça va? naïve café — 日本語 😀 e\u0301 Å\u030a\r\n\ttab '; // precomposed and decomposed marks, CJK, an emoji

describe('decoding in chunks', () => {
  it('UTF-16 LE and BE are recognised by their byte order mark and decoded (not called binary)', () => {
    assert.equal(decodeText(utf16(MIXED, false), 'le.txt'), MIXED);
    assert.equal(decodeText(utf16(MIXED, true), 'be.txt'), MIXED);
    assert.equal(decodeText(utf16(MIXED, false, false), 'le.txt', { encoding: 'utf-16le' }), MIXED);
  });

  it("gives the whole-text decoder's result however the bytes are cut (UTF-8, UTF-16, windows-1252)", () => {
    const rng = new Random(3);
    const cases: [Uint8Array, object][] = [
      [utf8(MIXED.repeat(20)), {}],
      [utf8('\ufeff' + MIXED.repeat(20)), {}],
      [utf16(MIXED.repeat(20), false), {}],
      [utf16(MIXED.repeat(20), true), {}],
      [Uint8Array.from({ length: 600 }, (_, i) => 0x20 + ((i * 37) % 0xe0)), { encoding: 'cp1252' }],
    ];
    for (const [b, options] of cases) {
      // Stream mode for the reference too: Node 20's one-shot windows-1252 decoding is ISO-8859-1 (0x80 stays U+0080, not €).
      const whole = new TextDecoder(
        (options as { encoding?: string }).encoding ?? (b[0] === 0xff ? 'utf-16le' : b[0] === 0xfe ? 'utf-16be' : 'utf-8'),
      ).decode(b, { stream: true });
      for (const max of [1, 2, 3, 7, 64]) assert.equal(decodeChunked(randomChunks(b, rng, max), options), whole);
    }
  });

  it('windows-1252 (--encoding cp1252 or latin1) maps 0x80-0x9F as that code page does', () => {
    const b = Uint8Array.from([0x80, 0x8b, 0x93, 0x94, 0x9f, 0xe9]);
    assert.equal(decodeText(b, 'w.txt', { encoding: 'cp1252' }), '€‹“”Ÿé');
    assert.equal(decodeText(b, 'w.txt', { encoding: 'latin1' }), '€‹“”Ÿé');
  });

  it('Latin-1 e-mail: refused as UTF-8 naming the é byte, decoded with --encoding latin1', () => {
    const mail = Uint8Array.from([...utf8('Merci, '), 0xe0, 0x20, 0x62, 0x69, 0x65, 0x6e, 0x74, 0xf4, 0x74, 0x21]); // "à bientôt!"
    throwsUserError(
      () => decodeText(mail, 'mail.txt'),
      /^mail\.txt is not valid UTF-8 text: the byte 0xE0 at offset 7 /,
      /give encoding with its encoding/,
      /or invalid replace/,
    );
    assert.equal(decodeText(mail, 'mail.txt', { encoding: 'latin1' }), 'Merci, à bientôt!');
    assert.equal(decodeText(mail, 'mail.txt', { invalid: 'replace' }), 'Merci, \ufffd bient\ufffdt!');
  });

  it('names the byte offset in the whole file when the bad byte comes in a later chunk, or across a cut', () => {
    const b = utf8('x'.repeat(1000) + 'é');
    const bad = Uint8Array.from([...b.subarray(0, 1000), 0xc3, 0x41]); // é's lead byte, then not a continuation
    for (const cut of [999, 1000, 1001]) {
      const d = new ChunkDecoder('big.txt');
      throwsUserError(() => {
        d.push(bad.subarray(0, cut));
        d.push(bad.subarray(cut));
        d.end();
      }, /byte 0xC3 at offset 1000\b/);
    }
    const d = new ChunkDecoder('cut.txt');
    throwsUserError(() => {
      d.push(b.subarray(0, 1001));
      d.end();
    }, /byte 0xC3 at offset 1000 begins a sequence that the end of the file cuts off/);
  });

  it('an unknown encoding label is one sentence', () => {
    throwsUserError(() => encodingName('klingon'), /^Unknown encoding "klingon": /);
    assert.equal(encodingName('latin1'), 'windows-1252');
  });
});

describe('normalisation', () => {
  it('in chunks gives what normalising the whole text gives, a combining mark cut from its letter included', () => {
    const rng = new Random(8);
    const text = Array.from(
      { length: 3000 },
      () => ['e', '\u0301', 'a', '\u030a', 'é', ' ', '한', '\u1100', '\u1161', 'x', '\n'][rng.int(11)],
    ).join('');
    for (const form of ['nfc', 'nfd'] as const) {
      const n = new ChunkNormalizer(form);
      let out = '';
      for (let i = 0; i < text.length;) {
        const k = 1 + rng.int(40);
        out += n.push(text.slice(i, i + k));
        i += k;
      }
      out += n.end();
      assert.equal(out, text.normalize(form.toUpperCase()));
    }
    assert.equal(normalizeText('e\u0301', 'none'), 'e\u0301');
    assert.equal(normalizeText('abc', 'nfc'), 'abc');
  });
});

/** Encodes text given as bytes cut at random places, through the streaming encoder. */
function encodeStreaming(b: Uint8Array, rng: Random, options: { normalize: 'nfc' | 'nfd' | 'none'; maxVocab?: number }, maxChunk = 50) {
  const e = new CorpusEncoder({ ...options, capacity: 16 });
  e.beginFile('t.txt');
  for (const c of randomChunks(b, rng, maxChunk)) e.push(c);
  e.endFile();
  return e.finish();
}

describe('the streaming corpus encoder', () => {
  it('gives the ids and the sorted vocabulary of a naive whole-text encoding (mostly ASCII, and mostly not)', () => {
    const rng = new Random(21);
    const pools = [
      ['a', 'b', ' ', '\n', 'The ', 'quick ', 'fox. '],
      ['a', 'é', 'e\u0301', '😀', '中', '\u0301', 'Z', '𝄞', ' ', 'ß', '\u1100\u1161'],
    ];
    for (const pool of pools) {
      for (const normalize of ['none', 'nfc', 'nfd'] as const) {
        const text = Array.from({ length: 4000 }, () => pool[rng.int(pool.length)]).join('');
        const expected = text.normalize(normalize === 'none' ? 'NFC' : normalize.toUpperCase());
        const reference = normalize === 'none' ? text : expected;
        const naive = [...new Set(Array.from(reference))].sort((a, b) => a.codePointAt(0)! - b.codePointAt(0)!);
        const r = encodeStreaming(utf8(text), rng, { normalize });
        assert.equal(r.vocab.decode(r.ids), reference, `${normalize}`);
        assert.deepEqual(r.vocab.chars, naive);
        assert.deepEqual(
          [...r.ids],
          Array.from(reference).map(c => naive.indexOf(c)),
        );
        assert.equal(r.vocab.normalization, normalize);
      }
    }
  });

  it('keeps one byte per id up to 256 symbols and widens to 16 bits beyond, ids unchanged', () => {
    const rng = new Random(2);
    const small = Array.from({ length: 256 }, (_, i) => String.fromCodePoint(0x100 + i)).join('');
    const r1 = encodeStreaming(utf8(small + small), rng, { normalize: 'none' });
    assert.ok(r1.ids instanceof Uint8Array);
    const big = small + 'A';
    const r2 = encodeStreaming(utf8(big + big), rng, { normalize: 'none' });
    assert.ok(r2.ids instanceof Uint16Array);
    assert.deepEqual(
      [...r2.ids],
      Array.from(big + big).map(c => r2.vocab.id(c)),
    );
    assert.equal(r2.vocab.chars[0], 'A');
  });

  it('--max-vocab keeps the most frequent characters (ties to the lower code point) and folds the rest into U+FFFD', () => {
    // a x5, b x4, c x2, d x2, e x1: with 4 symbols, a, b and c (c beats d on the tie) stay, d and e fold.
    const r = encodeStreaming(utf8('aaaaabbbbccdde'), new Random(1), { normalize: 'none', maxVocab: 4 });
    assert.deepEqual(r.vocab.chars, ['a', 'b', 'c', '\ufffd']);
    assert.deepEqual([...r.ids], [0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 3, 3, 3]);
    assert.equal(r.vocab.unknownId, 3);
    assert.equal(r.foldedChars, 2);
    assert.equal(r.unknownCount, 3);
    throwsUserError(() => new CorpusEncoder({ normalize: 'none', maxVocab: 1 }), /^maxVocab must be at least 2/);
  });

  it('warns about a vocabulary over 10,000 characters, not with --max-vocab', () => {
    assert.match(vocabularyWarning(10_001, undefined)!, /10,001 distinct characters.*--max-vocab/);
    assert.equal(vocabularyWarning(10_000, undefined), null);
    assert.equal(vocabularyWarning(20_000, 5000), null);
  });

  it('refuses an empty file and a NUL byte, naming them', () => {
    const e = new CorpusEncoder({ normalize: 'nfc' });
    e.beginFile('empty.txt');
    throwsUserError(() => e.endFile(), /^empty\.txt is empty\.$/);
    const f = new CorpusEncoder({ normalize: 'nfc' });
    f.beginFile('bin.dat');
    f.push(utf8('x'.repeat(100)));
    throwsUserError(() => f.push(Uint8Array.from([0x41, 0x00])), /^bin\.dat looks like a binary file.*offset 101\b/);
  });
});

describe('primes', () => {
  it("is put in the model's form before unknown characters are looked for", () => {
    const nfc = new Vocabulary(['c', 'f', 'a', 'é'], 'nfc');
    assert.deepEqual(Array.from(encodePrime(nfc, 'cafe\u0301', 'error')), [0, 2, 1, 3]);
    const nfd = new Vocabulary(['e', '\u0301', 'c'], 'nfd');
    assert.deepEqual(Array.from(encodePrime(nfd, 'cé', 'error')), [2, 0, 1]);
    // A model of text as given takes the prime in whichever form it knows.
    const asGiven = new Vocabulary(['é', 'c'], 'none');
    assert.deepEqual(Array.from(encodePrime(asGiven, 'ce\u0301', 'error')), [1, 0]);
  });

  it('unknown characters: one sentence, or skipped, or the unknown symbol when the model has one', () => {
    const v = new Vocabulary(['a', 'b'], 'nfc');
    throwsUserError(
      () => encodePrime(v, 'abz', 'error', '--unknown skip drops them'),
      /a character the model has never seen: "z" \(U\+007A\)/,
      /--unknown skip/,
    );
    assert.deepEqual(Array.from(encodePrime(v, 'abz', 'skip')), [0, 1]);
    const withUnknown = new Vocabulary(['a', 'b', '\ufffd'], 'nfc');
    assert.deepEqual(Array.from(encodePrime(withUnknown, 'azb', 'error')), [0, 2, 1]);
  });
});

const TINY: ModelConfig = { cell: 'lstm', layers: 1, hidden: 8, emb: 4, vocabSize: 4, dropout: 0 };

describe('the unknown symbol is never generated', () => {
  it('not even by a model that puts almost all probability on it', () => {
    const vocab = new Vocabulary(['a', 'b', '\n', '\ufffd'], 'nfc');
    const model = new CharRNN(TINY, referenceKernels(), { seed: 1 });
    model.params.get('out.bias').set([0, 0, 0, 30]); // e^30 against e^0: U+FFFD would be drawn every time
    model.params.changed();
    const text = sampleTexts(model, vocab, { length: 300, seed: 4 })[0];
    assert.equal(text.length, 300);
    assert.ok(!text.includes('\ufffd'));
    assert.ok(!sampleTexts(model, vocab, { length: 50, greedy: true })[0].includes('\ufffd'));
    for (const t of sampleTexts(model, vocab, { length: 100, count: 3, seed: 2 })) assert.ok(!t.includes('\ufffd'));
  });
});

describe('model files that must not be used as they are', () => {
  const model = new CharRNN(TINY, referenceKernels(), { seed: 1 });
  const vocab = new Vocabulary(['a', 'b', 'c', 'd'], 'nfd');

  it('a tensor holding NaN or Infinity is named', () => {
    const bytes = encodeModel(model, vocab);
    const { tensors, metadata } = decodeSafetensors(bytes, 'm');
    const broken = [...tensors].map(([name, t]) => ({ name, ...t }));
    broken.find(t => t.name === 'rnn.weight_hh_l0')!.data[5] = NaN;
    throwsUserError(
      () => decodeModel(encodeSafetensors(broken, metadata), 'nan.safetensors'),
      /^nan\.safetensors is not a usable charrnn model: tensor rnn\.weight_hh_l0 holds NaN at index 5 /,
    );
    broken.find(t => t.name === 'rnn.weight_hh_l0')!.data[5] = 0;
    broken.find(t => t.name === 'out.bias')!.data[0] = -Infinity;
    throwsUserError(
      () => decodeModel(encodeSafetensors(broken, metadata), 'inf.safetensors'),
      /tensor out\.bias holds -Infinity at index 0/,
    );
  });

  it('the normalisation form is stored; a file without one is read as text kept as given', () => {
    assert.equal(decodeModel(encodeModel(model, vocab), 'm').vocab.normalization, 'nfd');
    const { tensors, metadata } = decodeSafetensors(encodeModel(model, vocab), 'm');
    const { normalize: _, ...old } = metadata;
    assert.equal(
      decodeModel(
        encodeSafetensors(
          [...tensors].map(([name, t]) => ({ name, ...t })),
          old,
        ),
        'old',
      ).vocab.normalization,
      'none',
    );
  });

  it('a training checkpoint is read as the model it holds', () => {
    const trainer = new Trainer(
      model,
      new Uint8Array(200).map((_, i) => i % 4),
      {
        batch: 2,
        seq: 4,
        clip: 5,
        lrDecay: 1,
        lrDecayEvery: 0,
        optimizer: { ...DEFAULT_OPTIMIZER, name: 'adam', lr: 1e-2 },
      },
    );
    trainer.step();
    const loaded = loadModel(
      encodeCheckpoint(trainer, vocab, { settings: {}, textHash: 'x', bestValLoss: null }),
      'checkpoint.safetensors',
      referenceKernels(),
    );
    assert.deepEqual(loaded.model.params.data, model.params.data);
    assert.deepEqual(loaded.vocab.chars, vocab.chars);
  });
});

describe('readCorpus (files, folders, standard input, the cache)', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'charrnn-corpus-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));
  const options = { invalid: 'error' as const, normalize: 'nfc' as const };

  it('reads a folder recursively in code-point order of names, skipping binary and hidden files with one note', async () => {
    const root = join(dir, 'tree');
    mkdirSync(join(root, 'b', 'deep'), { recursive: true });
    mkdirSync(join(root, '.git'));
    writeFileSync(join(root, 'b', 'deep', 'z.txt'), 'Z');
    writeFileSync(join(root, 'b', 'a.txt'), 'B');
    writeFileSync(join(root, 'a.txt'), 'A');
    writeFileSync(join(root, 'B.txt'), 'U'); // "B" sorts before "a" by code point
    writeFileSync(join(root, 'img.png'), Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x00, 0x01]));
    writeFileSync(join(root, 'utf16.txt'), utf16('W', false));
    writeFileSync(join(root, '.git', 'HEAD'), 'ref');
    symlinkSync(root, join(root, 'b', 'loop')); // a link back up: not followed, so the walk ends
    const notes: string[] = [];
    const c = await readCorpus([root], undefined, options, { note: m => notes.push(m) });
    assert.equal(c.vocab.decode(c.ids), 'UABZW');
    assert.deepEqual(
      c.files.map(f => f.slice(root.length + 1)),
      ['B.txt', 'a.txt', 'b/a.txt', 'b/deep/z.txt', 'utf16.txt'],
    );
    assert.deepEqual(notes, [`skipped 1 binary file: ${join(root, 'img.png')}`]);
  });

  it('reads standard input as "-", the same ids and hash as the same bytes in a file', async () => {
    const text = utf8('from a pipe é\n'.repeat(50));
    writeFileSync(join(dir, 'pipe.txt'), text);
    async function* stdin(): AsyncGenerator<Uint8Array> {
      for (let i = 0; i < text.length; i += 7) yield text.slice(i, i + 7);
    }
    const piped = await readCorpus(['-'], undefined, options, { stdin: stdin() });
    const file = await readCorpus([join(dir, 'pipe.txt')], undefined, options);
    assert.deepEqual(piped.ids, file.ids);
    assert.equal(piped.hash, file.hash);
    await assert.rejects(readCorpus(['-', '-'], undefined, options, { stdin: stdin() }), /only once/);
  });

  it('the cache is reused while the text is unchanged, and not once it changed', async () => {
    const path = join(dir, 'cached.txt');
    const cache = join(dir, 'cache');
    writeFileSync(path, 'the first text\n'.repeat(100));
    const io = { cacheDir: cache, cacheMinBytes: 0 };
    const first = await readCorpus([path], undefined, options, io);
    assert.equal(first.cached, false);
    const again = await readCorpus([path], undefined, options, io);
    assert.equal(again.cached, true);
    assert.deepEqual(again.ids, first.ids);
    assert.equal(again.hash, first.hash);
    assert.deepEqual(again.vocab.chars, first.vocab.chars);
    // Touched: same bytes, new time — the hash settles it.
    utimesSync(path, new Date(2001, 1, 1), new Date(2001, 1, 1));
    assert.equal((await readCorpus([path], undefined, options, io)).cached, true);
    // Other options are another corpus.
    assert.equal((await readCorpus([path], undefined, { ...options, normalize: 'nfd' }, io)).cached, false);
    // Same size, other bytes, new time: encoded afresh.
    writeFileSync(path, 'the other text\n'.repeat(100));
    const changed = await readCorpus([path], undefined, { ...options, normalize: 'nfd' }, io);
    assert.equal(changed.cached, false);
    assert.notEqual(changed.hash, first.hash);
    assert.equal(changed.vocab.decode(changed.ids), 'the other text\n'.repeat(100));
  });
});

describe('the memory estimate', () => {
  it('counts the parameters as parameterSpecs lays them out', () => {
    for (const cell of ['lstm', 'gru', 'rnn'] as const) {
      for (const [layers, hidden, emb, vocabSize] of [
        [1, 8, 4, 5],
        [3, 16, 7, 65],
        [2, 128, 64, 300],
      ]) {
        const c: ModelConfig = { cell, layers, hidden, emb, vocabSize, dropout: 0 };
        assert.equal(
          parameterCount(c),
          parameterSpecs(c).reduce((a, s) => a + s.size, 0),
        );
      }
    }
  });

  it('matches hand-counted bytes for a 1x2 RNN (H 2, E 3, V 4, B 2, T 3, SGD, one thread)', () => {
    const e = trainingMemory({
      config: { cell: 'rnn', layers: 1, hidden: 2, emb: 3, vocabSize: 4, dropout: 0 },
      batch: 2,
      seq: 3,
      optimizer: 'sgd',
    });
    // P = 4*3 (emb) + 2*3 + 2*2 + 2 + 2 (layer) + 4*2 + 4 (out) = 38
    assert.equal(e.parts.weights, 38 * 4);
    assert.equal(e.parts['optimizer state'], 38 * 4);
    // rows 6: per layer gates 12 + h 12 + dgates 12 + 6 * B*H 4 = 60; + embedded 18 + gradA/B 2*18 + ids 24 = 138 floats
    assert.equal(e.parts.activations, 138 * 4);
    assert.equal(e.parts.logits, 2 * 6 * 4 * 4);
    assert.equal(e.parts['engine scratch'], (38 + 6 * 2) * 4);
    assert.equal(e.parts['averaged weights'], undefined);
    // --ema keeps one more copy of the 38 weights.
    const averaged = trainingMemory({
      config: { cell: 'rnn', layers: 1, hidden: 2, emb: 3, vocabSize: 4, dropout: 0 },
      batch: 2,
      seq: 3,
      optimizer: 'sgd',
      ema: true,
    });
    assert.equal(averaged.parts['averaged weights'], 38 * 4);
    assert.equal(averaged.bytes, e.bytes + 38 * 4);
  });

  it("refuses with the estimate and the machine's memory, and names the JavaScript array limit", () => {
    const big = trainingMemory({
      config: { cell: 'lstm', layers: 2, hidden: 100_000, emb: 64, vocabSize: 65, dropout: 0 },
      batch: 50,
      seq: 50,
      optimizer: 'adam',
    });
    throwsUserError(
      () => checkMemory(big, { total: 16e9, available: 12e9 }, 'a 2x100000 LSTM', 'use a smaller --hidden'),
      /^A 2x100000 LSTM needs about 2\.\d TB of memory \(mostly optimizer state .*\), and this machine has 16\.0 GB \(12\.0 GB available\); use a smaller --hidden\.$/,
    );
    // B*T*V logits: 1000 * 1000 * 5000 numbers in one array.
    const wide = trainingMemory({
      config: { cell: 'rnn', layers: 1, hidden: 8, emb: 4, vocabSize: 5000, dropout: 0 },
      batch: 1000,
      seq: 1000,
      optimizer: 'sgd',
    });
    throwsUserError(() => checkMemory(wide, { total: 1e15, available: 1e15 }, 'x', 'less'), /one buffer of 5,000,000,000 numbers/);
    const texts = generationMemory({ cell: 'lstm', layers: 1, hidden: 8, emb: 4, vocabSize: 4, dropout: 0 }, 10_000, 1e8, 1);
    assert.equal(texts.parts.texts, 10_000 * 1e8 * 4);
    const fits = trainingMemory({
      config: { cell: 'lstm', layers: 2, hidden: 1024, emb: 64, vocabSize: 65, dropout: 0 },
      batch: 50,
      seq: 50,
      optimizer: 'adam',
    });
    throwsUserError(
      () => checkMemory(fits, { total: 16e9, available: 12e9, engineLimit: { bytes: 1e6, engine: 'wasm' } }, 'x', 'less'),
      /the wasm backend can use at most 1\.0 MB/,
    );
    assert.doesNotThrow(() => checkMemory(fits, { total: 16e9, available: 12e9 }, 'x', 'less'));
  });
});
