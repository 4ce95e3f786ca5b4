// `charrnn plot` and `charrnn inspect` as a user runs them: the CLI runs in-process
// on files in a fresh temp folder, and what it prints and writes is
// checked: the SVG's marks and text, and the PNG decoded by an independent
// reader (test/png.ts) down to the pixels of its text.
import assert from 'node:assert/strict';

import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { svgToPng } from '../src/node/render.js';
import { darkPixels, decodePng, PNG_SIGNATURE } from './png.js';
import { syntheticRun, toLog } from './report-fixtures.js';
import { cliRunner } from './cli-runner.js';
import { assertUserError } from './user-error.js';

const ENV = { ...process.env, CHARRNN_DEBUG: '' };

let dir: string;
const { cli, ok } = cliRunner(() => dir, ENV);
const at = (...names: string[]): string => join(dir, ...names);

/** One line on stderr, "charrnn: ..." saying `says`, a non-zero exit that is not an internal error (70). */
/** The texts of an SVG's <text> elements, and of each <tspan> line of the ones with several lines. */
const svgTexts = (svg: string): string[] =>
  [...svg.matchAll(/<text[^>]*>(.*?)<\/text>/g)]
    .flatMap(m => [m[1], ...[...m[1].matchAll(/<tspan[^>]*>([^<]*)<\/tspan>/g)].map(t => t[1])])
    .map(t => t.replace(/<[^>]*>/g, '').replace(/&amp;/g, '&'));

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'charrnn-report-'));
});

after(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('charrnn plot', () => {
  let svg: string;
  let pngBytes: Uint8Array;

  before(async () => {
    mkdirSync(at('run'));
    // A log as kill -9 leaves it: the last line cut in the middle.
    const log = toLog(syntheticRun());
    writeFileSync(at('run', 'log.jsonl'), log.slice(0, log.length - 30));
    const out = await ok(['plot', 'run']);
    assert.equal(out, `${join('run', 'loss.svg')}\n${join('run', 'loss.png')}\n`);
    svg = readFileSync(at('run', 'loss.svg'), 'utf8');
    pngBytes = readFileSync(at('run', 'loss.png'));
  });

  test('the SVG has the three loss lines, the validation points and the best one circled and labelled', async () => {
    const marks = (cls: string) =>
      [...svg.matchAll(new RegExp(`<g class="mark-${cls} role-mark [^"]*"[^>]*>(.*?)</g>`, 'g'))].map(m => m[1]);
    const lines = marks('line');
    assert.equal(lines.length, 3);
    for (const l of lines) assert.match(l, /<path [^>]*d="M[\d.]+,[\d.]+L/);
    const symbols = marks('symbol');
    assert.equal(symbols.length, 2); // the validation points, the best circle
    assert.equal((symbols[0].match(/<path /g) ?? []).length, 5);
    // The circle sits where the validation point of step 300 is, 300/500 of the 720-pixel-wide axis.
    const where = (s: string) =>
      [...s.matchAll(/aria-label="step: (\d+); loss \(nats\/char\): ([\d.]+)[^"]*"[^>]*transform="translate\(([\d.]+),([\d.]+)\)"/g)].map(
        m => m.slice(1).map(Number),
      );
    const [circle] = where(symbols[1]);
    assert.deepEqual(circle.slice(0, 3), [300, 1.5, 432]);
    assert.deepEqual(where(symbols[0])[2], circle);
    const texts = svgTexts(svg);
    for (const t of [
      'LSTM 2×128 on tiny.txt',
      'best validation 1.5000 at step 300',
      'loss (nats/char)',
      'step',
      'validation',
      'training (smoothed)',
      'training (per step)',
    ]) {
      assert.ok(texts.includes(t), `no text '${t}' in the SVG: ${JSON.stringify(texts.slice(0, 40))}`);
    }
    assert.ok(texts.some(t => /^best validation 1\.5000 nats\/char at step 300 · 500 steps/.test(t)));
  });

  test("the PNG decodes to twice the SVG's size, with its text drawn", async () => {
    assert.deepEqual([...pngBytes.subarray(0, 8)], PNG_SIGNATURE);
    const png = decodePng(pngBytes);
    const [, w, h] = /<svg [^>]*width="(\d+)" height="(\d+)"/.exec(svg)!.map(Number);
    assert.deepEqual([png.width, png.height], [2 * w, 2 * h]);
    // The title is the only thing in the top-left corner: dark pixels there are its glyphs.
    const titleBox = [0, 0, 500, 50] as const;
    assert.ok(darkPixels(png, ...titleBox) > 500, `${darkPixels(png, ...titleBox)} dark pixels where the title is`);
    // The control: the same SVG without its <text> elements leaves that corner blank.
    const bare = decodePng(await svgToPng(svg.replace(/<text[^>]*>[^<]*<\/text>/g, '')));
    assert.equal(darkPixels(bare, ...titleBox), 0);
  });

  test('a folder without a log, an empty log and a log of garbage are one sentence each', async () => {
    mkdirSync(at('empty-run'));
    assertUserError(
      await cli(['plot', 'empty-run']),
      /^charrnn: empty-run has no log\.jsonl: give the --out folder of a charrnn train run\.$/,
    );
    assertUserError(await cli(['plot', 'no-such-folder']), /no-such-folder has no log\.jsonl/);
    writeFileSync(at('empty-run', 'log.jsonl'), '');
    assertUserError(await cli(['plot', 'empty-run']), /log\.jsonl has no training steps or validations to plot\.$/);
    writeFileSync(at('empty-run', 'log.jsonl'), '\u0000\u0001garbage\n{"event":\n');
    assertUserError(await cli(['plot', 'empty-run']), /log\.jsonl has no training steps or validations to plot\.$/);
    assert.ok(!existsSync(at('empty-run', 'loss.png')));
  });
});

describe('charrnn inspect', () => {
  test('figures of a small text, its warnings, and the pictures next to it', async () => {
    mkdirSync(at('texts'));
    writeFileSync(at('texts', 'small.txt'), 'abc\nab\n\na\u0007\n');
    const out = await ok(['inspect', join('texts', 'small.txt')]);
    const lines = out.split('\n');
    assert.equal(lines[0], join('texts', 'small.txt'));
    assert.equal(lines[1], 'characters      11 (5 distinct)');
    assert.equal(lines[2], 'lines           4 (1 empty); non-empty length 2–3, median 2, mean 2.3');
    assert.equal(lines[3], "most frequent   \\n (line break) 36.4%, 'a' 27.3%, 'b' 18.2%, bell U+0007 9.1%, 'c' 9.1%");
    assert.equal(lines[4], "least frequent  'c' ×1, bell U+0007 ×1, 'b' ×2, 'a' ×3, \\n (line break) ×4");
    assert.deepEqual(lines.slice(5, 8), ['line lengths', '  2  ████████████████████████████████████████ 2', '  3  ████████████████████ 1']);
    assert.ok(lines.some(l => /^warning: Tiny text: 11 characters \(under 100,000\)/.test(l)));
    assert.ok(lines.some(l => /^warning: Control characters: 1 \(bell U\+0007 ×1\)/.test(l)));
    const svgPath = join('texts', 'small.inspect.svg'),
      pngPath = join('texts', 'small.inspect.png');
    assert.ok(out.endsWith(`pictures        ${svgPath}, ${pngPath}\n`), out);
    const texts = svgTexts(readFileSync(at(svgPath), 'utf8'));
    assert.ok(texts.includes('All 5 characters'), JSON.stringify(texts));
    assert.ok(texts.includes('bell U+0007'));
    assert.ok(texts.some(t => t.startsWith('⚠ Tiny text')));
    const png = decodePng(readFileSync(at(pngPath)));
    assert.ok(darkPixels(png, 0, 0, 300, 50) > 200);
  });

  test('--lines and --out: a sorted list is called sorted; the pictures go to --out', async () => {
    writeFileSync(at('texts', 'list.txt'), 'ab\n'.repeat(900) + 'abababababab\n'.repeat(100));
    const out = await ok(['inspect', join('texts', 'list.txt'), '--lines', '--out', 'pictures']);
    assert.match(out, /^list order +the last 10% of the lines: .*mean line length 12\.0 against 2\.0$/m);
    assert.match(out, /^warning: Sorted list: /m);
    // Lengths 2 and 12 only: the empty bars between them are one row.
    assert.match(out, /^line lengths\n {5}2 {2}█{40} 900\n {2}3–11 {2}0\n {4}12 {2}████ 100\n/m);
    assert.ok(existsSync(at('pictures', 'list.inspect.png')));
  });

  test('a binary file, a missing file and files with --corpus are one sentence each', async () => {
    writeFileSync(at('texts', 'image.bin'), new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0, 0, 1, 2]));
    assertUserError(
      await cli(['inspect', join('texts', 'image.bin')]),
      /image\.bin looks like a binary file, not text: it has a NUL byte at byte offset 4 \(if it is UTF-16 without a byte order mark, give --encoding utf-16le or utf-16be\)\.$/,
    );
    assert.ok(!existsSync(at('texts', 'image.inspect.png')));
    assertUserError(await cli(['inspect', 'missing.txt']), /No such file or folder: missing\.txt\./);
    assertUserError(await cli(['inspect', join('texts', 'small.txt'), '--corpus', 'moby-dick']), /either text files or --corpus, not both/);
    assertUserError(await cli(['inspect', join('texts', 'small.txt'), '--val-frac', '1']), /--val-frac/);
  });

  test('--encoding, --invalid and --normalize read the text as train does; no text says what inspect needs', async () => {
    // "Chère à" in Latin-1: è is 0xE8, à is 0xE0, neither valid UTF-8.
    writeFileSync(
      at('texts', 'latin1.txt'),
      Uint8Array.from('Chère à\n', c => c.charCodeAt(0)),
    );
    assertUserError(
      await cli(['inspect', join('texts', 'latin1.txt')]),
      /latin1\.txt is not valid UTF-8 text: the byte 0xE8 at offset 2 .*give --encoding/,
    );
    const decoded = await ok(['inspect', join('texts', 'latin1.txt'), '--encoding', 'latin1']);
    assert.match(decoded, /^characters {6}8 \(8 distinct\)$/m);
    assert.match(decoded, /'è' ×1/);
    const replaced = await ok(['inspect', join('texts', 'latin1.txt'), '--invalid', 'replace']);
    assert.match(replaced, /^characters {6}8 \(7 distinct\)$/m);
    assert.match(replaced, /'\ufffd' ×2/);
    // e + combining grave: two characters as written, one in NFC (train's default), two with --normalize none.
    writeFileSync(at('texts', 'nfd.txt'), 'e\u0300e\u0300\n');
    assert.match(await ok(['inspect', join('texts', 'nfd.txt')]), /^characters {6}3 \(2 distinct\)$/m);
    assert.match(await ok(['inspect', join('texts', 'nfd.txt'), '--normalize', 'none']), /^characters {6}5 \(3 distinct\)$/m);
    assertUserError(
      await cli(['inspect']),
      /^charrnn: Nothing to inspect: give one or more text files or folders, or --corpus moby-dick\.$/,
    );
    assert.doesNotMatch(await ok(['inspect', '--help']), /UTF-8 text files/);
    assert.doesNotMatch(await ok(['--help']), /UTF-8 text files/);
    assert.doesNotMatch(await ok(['train', '--help']), /UTF-8 text files/);
  });
});
