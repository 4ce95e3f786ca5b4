// Charts of texts in scripts DejaVu lacks (issue 18, item 14): CJK and Thai in
// an inspect chart's labels and in a loss plot's title. Every text of the drawn
// SVG is checked the way a reader sees it: each of its characters is drawn alone
// by resvg and compared with the empty box resvg draws for a character no font
// has, so a test that passed on today's code would have to see no tofu at all.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, test } from 'node:test';
import { corpusPlotSpec } from '../src/report/corpus-plot.js';
import { corpusReport } from '../src/report/corpus-report.js';
import { lossPlotData, lossPlotSpec } from '../src/report/loss-plot.js';
import { baseFontFiles, chartFonts, drawableText } from '../src/node/chart-fonts.js';
import { fontCoverage } from '../src/node/font-coverage.js';
import { renderSvg, svgToPng, type RenderOptions } from '../src/node/render.js';
import { decodePng } from './png.js';
import { CONFIG, syntheticRun } from './report-fixtures.js';

const POEM = '床前明月光，疑是地上霜。\nสวัสดีครับ ภาษาไทย\n舉頭望明月，低頭思故鄉。\nhello world\n'.repeat(20);
const SOURCE = 'd/漢字.txt';
/** A code point of plane 16's private use area: no font has it, so resvg draws its .notdef box. */
const NO_FONT_HAS = '\u{10FFFD}';
/** No machine fonts: only the DejaVu that charrnn ships with. */
const DEJAVU_ONLY: RenderOptions = { fontDirs: [] };

const decode = (s: string): string =>
  s
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&');

interface SvgText {
  text: string;
  family: string;
  weight: string;
}

/** Every <text> of an SVG (its <tspan> lines each one text) with the font it asks for. */
function svgTexts(svg: string): SvgText[] {
  return [...svg.matchAll(/<text([^>]*)>(.*?)<\/text>/g)].flatMap(m => {
    const family = /font-family="([^"]*)"/.exec(m[1])?.[1] ?? 'sans-serif';
    const weight = /font-weight="([^"]*)"/.exec(m[1])?.[1] ?? 'normal';
    const lines = m[2].includes('<tspan') ? [...m[2].matchAll(/<tspan[^>]*>([^<]*)<\/tspan>/g)].map(t => t[1]) : [m[2]];
    return lines.map(l => ({ text: decode(l), family: decode(family), weight }));
  });
}

const escape = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** One character drawn alone, large, in a text's font, as resvg draws it: its pixels. */
async function glyphPixels(c: string, font: SvgText, options: RenderOptions): Promise<Uint8Array> {
  const svg =
    `<svg xmlns="http://www.w3.org/2000/svg" width="48" height="48"><rect width="48" height="48" fill="white"/>` +
    `<text x="8" y="36" font-family="${escape(font.family)}" font-weight="${font.weight}" font-size="32" fill="#000">${escape(c)}</text></svg>`;
  return decodePng(await svgToPng(svg, 1, options)).pixels;
}

const same = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && a.every((v, i) => v === b[i]);

/**
 * The characters of the SVG's texts that resvg draws as the box it draws for a
 * character no font has, or not at all (a font whose glyphs resvg cannot draw).
 */
async function tofu(svg: string, options: RenderOptions): Promise<string[]> {
  const found = new Set<string>();
  const checked = new Set<string>();
  for (const t of svgTexts(svg)) {
    const box = await glyphPixels(NO_FONT_HAS, t, options);
    const blank = await glyphPixels(' ', t, options);
    for (const c of new Set(t.text)) {
      const key = `${c}\0${t.family}\0${t.weight}`;
      if (/\s/.test(c) || checked.has(key)) continue;
      checked.add(key);
      const glyph = await glyphPixels(c, t, options);
      if (same(glyph, box) || same(glyph, blank)) found.add(c);
    }
  }
  return [...found];
}

const lossEvents = () => {
  const events = syntheticRun(5);
  events[0] = { ...CONFIG, corpus: { ...CONFIG.corpus, source: SOURCE } };
  return events;
};

describe('charts of CJK and Thai text', () => {
  test('the control: DejaVu alone draws 漢 and ก as the box of a character no font has', async () => {
    const font = { family: 'DejaVu Sans', weight: 'normal' } as SvgText;
    const box = await glyphPixels(NO_FONT_HAS, font, DEJAVU_ONLY);
    assert.ok(!same(box, await glyphPixels(' ', font, DEJAVU_ONLY)), 'the box is not blank');
    assert.ok(!same(await glyphPixels('A', font, DEJAVU_ONLY), box));
    // Drawn as SVG text, unreplaced, these are the empty boxes of the issue.
    assert.ok(same(await glyphPixels('漢', font, DEJAVU_ONLY), box));
    assert.ok(same(await glyphPixels('ก', font, DEJAVU_ONLY), box));
  });

  for (const [name, options] of [
    ['DejaVu alone', DEJAVU_ONLY],
    ["the machine's fonts", {}],
  ] as const) {
    test(`an inspect chart and a loss plot draw no empty boxes (${name})`, async () => {
      const charts = {
        inspect: await renderSvg(corpusPlotSpec(corpusReport(POEM), SOURCE), options),
        loss: await renderSvg(lossPlotSpec(lossPlotData(lossEvents())), options),
      };
      for (const [chart, svg] of Object.entries(charts)) {
        const texts = svgTexts(svg).map(t => t.text);
        assert.ok(texts.length > 10, `${chart}: ${texts.length} texts`);
        assert.deepEqual(await tofu(svg, options), [], `${chart}: ${JSON.stringify(texts.slice(0, 40))}`);
        // The title names the source, in its characters or by their code points.
        const fonts = chartFonts(SOURCE, options.fontDirs);
        const title = drawableText(SOURCE, fonts);
        assert.ok(texts.includes(chart === 'inspect' ? title : `LSTM 2×128 on ${title}`), `${chart}: no title ${title}`);
      }
      if (options === DEJAVU_ONLY) {
        const texts = svgTexts(charts.inspect).map(t => t.text);
        assert.ok(texts.includes('d/<U+6F22><U+5B57>.txt'), JSON.stringify(texts.slice(0, 5)));
        assert.ok(texts.includes("'<U+0E2A>' U+0E2A"), JSON.stringify(texts)); // ส, the Thai label
        assert.ok(!texts.some(t => /[\u0E00-\u0E7F\u3000-\u9FFF\uFF00-\uFFEF]/u.test(t)), 'a CJK or Thai character left in the SVG');
      }
    });
  }

  test('a font found on the machine draws what DejaVu lacks, and the text keeps its characters', async t => {
    const require = createRequire(import.meta.url);
    let icons: string;
    try {
      icons = join(dirname(require.resolve('playwright-core/package.json')), 'lib/vite/recorder/assets/codicon-DCmgc-ay.ttf');
    } catch {
      icons = '';
    }
    if (!existsSync(icons)) return t.skip("no font with characters DejaVu lacks (playwright-core's codicon.ttf) to search for");
    // The icon font maps private-use code points from U+EA60: a stand-in for a CJK font in a folder.
    const dir = mkdtempSync(join(tmpdir(), 'charrnn-fonts-'));
    after(() => rmSync(dir, { recursive: true, force: true }));
    copyFileSync(icons, join(dir, 'icons.ttf'));
    const options = { fontDirs: [dir] };
    const icon = '\uEA60';
    const fonts = chartFonts(`x${icon}`, options.fontDirs);
    assert.deepEqual(fonts.files, [...baseFontFiles(), join(dir, 'icons.ttf')]);
    const spec = lossPlotSpec(
      lossPlotData(lossEvents().map(e => (e.type === 'config' ? { ...e, corpus: { ...e.corpus, source: `d/${icon}.txt` } } : e))),
    );
    const svg = await renderSvg(spec, options);
    assert.ok(svgTexts(svg).some(t => t.text === `LSTM 2×128 on d/${icon}.txt`));
    assert.deepEqual(await tofu(svg, options), []);
    // Without the folder the same character is a code point.
    assert.ok(svgTexts(await renderSvg(spec, DEJAVU_ONLY)).some(t => t.text === 'LSTM 2×128 on d/<U+EA60>.txt'));
  });
});

describe('font coverage', () => {
  const fcQuery = (path: string): Set<number> | null => {
    let out: string;
    try {
      out = execFileSync('fc-query', ['--format', '%{charset}\n', path], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    } catch {
      return null;
    }
    const set = new Set<number>();
    for (const range of out.trim().split(/\s+/)) {
      const [a, b = a] = range.split('-').map(x => parseInt(x, 16));
      for (let c = a; c <= b; c++) set.add(c);
    }
    return set;
  };

  test("the code points of the DejaVu files: fontconfig's fc-query as the reference", t => {
    for (const file of baseFontFiles()) {
      const ours = fontCoverage(file);
      assert.ok(ours.has(0x41) && ours.has(0xe9) && ours.has(0x416) && !ours.has(0x6f22) && !ours.has(0xe01), file);
      const reference = fcQuery(file);
      if (!reference) return t.skip('no fc-query on this machine');
      assert.deepEqual(
        [...ours].filter(c => !reference.has(c)),
        [],
        file,
      );
      assert.deepEqual(
        [...reference].filter(c => !ours.has(c)),
        [],
        file,
      );
    }
  });

  test('a file that is not a font is an error', () => {
    assert.throws(() => fontCoverage(new URL(import.meta.url).pathname), /not a TrueType or OpenType font/);
  });
});
