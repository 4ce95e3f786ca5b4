// The HTML report of `charrnn explain` in a real browser: Debian's Chromium,
// driven by playwright-core, opens the file from disk (file://) and is held
// to the library's trace of the same model and text, read here on the same
// engine: each character's colour is its surprise on the documented scale, a
// hover lists the trace's top five guesses and their probabilities, a picked
// unit colours each character by tanh of that cell there, a line model's
// lines start fresh and end with a predicted ⏎, CJK and emoji are one
// character each; the page fetches nothing and logs no error. Skips, saying
// why, where no Chromium is installed. CHARRNN_SCREENSHOTS=DIR keeps pictures.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import type { TextTrace } from '../../src/explain/trace.js';
import { CharRnnModel } from '../../src/generate/char-rnn-model.js';
import { referenceKernels } from '../../src/kernels/reference/index.js';
import { CharRNN } from '../../src/model/charrnn.js';
import { lineModelMetadata } from '../../src/model/line-model.js';
import { encodeModel } from '../../src/model/model-file.js';
import { percentOf, visibleChar } from '../../src/report/explain-reading.js';
import { surpriseColor, unitColor } from '../../src/report/explain-scales.js';
import { Vocabulary } from '../../src/text/vocabulary.js';
import { cliRunner } from '../cli-runner.js';
import { launchChromium, NO_CHROMIUM } from './chromium.js';

const SHOTS = process.env.CHARRNN_SCREENSHOTS;
const skip = NO_CHROMIUM;
if (skip) console.log(`# explain-report.test: skipped: ${skip}`);

const KNOWN = 'the cat sat on the mat. "a dog (a big one) ran far," she said. 猫 🙂\n';
/** A text with a line break, CJK, an emoji (two UTF-16 units), quotes, and characters the model never saw (Z, ë, w). */
const TEXT = `the 猫 sat. "a big dog," she said 🙂\nZoë saw the mat (a cat ran).\n${KNOWN}`;
const NAMES = ['anna', 'ben', 'cat', 'dan', 'emma', 'fred', 'gina'];
const NAMES_TEXT = 'anna\nfred\ngina\n';
const HIDDEN = 16;

let dir: string;
const { ok } = cliRunner(() => dir);

interface SpanFacts {
  text: string;
  background: string;
  classes: string[];
}

/** Every character span of the report's text, in order. */
const spans = (page: Page): Promise<SpanFacts[]> =>
  page.$$eval('.inside-text .ch', els =>
    els.map(e => ({ text: e.textContent ?? '', background: getComputedStyle(e).backgroundColor, classes: Array.from(e.classList) })),
  );

/** The tooltip's guesses as a person reads them and as the rows record them. */
async function hover(page: Page, i: number): Promise<{ head: string; rows: { char: string; p: number; shown: string; guess: string }[] }> {
  await page.locator(`.inside-text .ch[data-i="${i}"]`).hover();
  await page.locator(`.inside-tooltip[data-index="${i}"]:not([hidden])`).waitFor();
  return page.$eval('.inside-tooltip', tip => ({
    head: tip.querySelector('.tip-head')?.textContent ?? '',
    rows: Array.from(tip.querySelectorAll('tr')).map(r => ({
      char: (r as HTMLElement).dataset.char ?? '',
      p: Number((r as HTMLElement).dataset.p),
      shown: r.querySelector('.tip-p')?.textContent ?? '',
      guess: r.querySelector('.tip-guess')?.textContent ?? '',
    })),
  }));
}

/** The trace's top guesses at position i: [char, p]. */
function guesses(model: CharRnnModel, trace: TextTrace, i: number): [string, number][] {
  return Array.from({ length: trace.k }, (_, j) => [model.chars[trace.topIds[i * trace.k + j]], trace.topP[i * trace.k + j]]);
}

const shownChar = (c: string): string => (c === '\n' ? '⏎' : c);

describe('the HTML report of charrnn explain in Chromium', { skip }, () => {
  let browser: Browser;
  let page: Page;
  let model: CharRnnModel;
  let names: CharRnnModel;
  let trace: TextTrace;
  let lineTrace: TextTrace;
  const requests: string[] = [];
  const problems: string[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'charrnn-explain-e2e-'));
    const vocab = Vocabulary.fromText(KNOWN);
    const lstm = new CharRNN(
      { cell: 'lstm', layers: 2, hidden: HIDDEN, emb: 8, dropout: 0, vocabSize: vocab.size },
      referenceKernels('f32'),
      { seed: 11 },
    );
    writeFileSync(join(dir, 'lstm.safetensors'), encodeModel(lstm, vocab));
    const nameVocab = Vocabulary.fromText(NAMES.join('\n') + '\n');
    const gru = new CharRNN(
      { cell: 'gru', layers: 1, hidden: 10, emb: 5, dropout: 0, vocabSize: nameVocab.size },
      referenceKernels('f32'),
      { seed: 2 },
    );
    writeFileSync(join(dir, 'names.safetensors'), encodeModel(gru, nameVocab, lineModelMetadata('\n', NAMES)));
    writeFileSync(join(dir, 'story.txt'), TEXT);
    writeFileSync(join(dir, 'names.txt'), NAMES_TEXT);
    await ok(['explain', join(dir, 'lstm.safetensors'), join(dir, 'story.txt'), '--backend', 'reference']);
    await ok(['explain', join(dir, 'names.safetensors'), join(dir, 'names.txt'), '--backend', 'reference']);
    // The references: the library's trace of the same files and texts, on the engine the reports were made on.
    model = await CharRnnModel.load(readFileSync(join(dir, 'lstm.safetensors')), { kernels: referenceKernels('f32') });
    trace = model.trace(TEXT, { topK: 5, layers: [0, 1], values: ['hidden', 'cell'] });
    names = await CharRnnModel.load(readFileSync(join(dir, 'names.safetensors')), { kernels: referenceKernels('f32') });
    lineTrace = names.trace(NAMES_TEXT, { topK: 5 });

    browser = await launchChromium();
    const context = await browser.newContext({ viewport: { width: 1200, height: 900 } });
    page = await context.newPage();
    page.on('request', r => requests.push(r.url()));
    page.on('console', m => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', e => problems.push(e.message));
    await page.goto(pathToFileURL(join(dir, 'story.explain.html')).href);
    await page.locator('body[data-ready="true"]').waitFor();
  });

  after(async () => {
    await browser?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('every character is drawn, one per code point, coloured by the surprise the trace gives', async () => {
    const drawn = await spans(page);
    assert.deepEqual(
      drawn.map(s => s.text),
      trace.chars.map(shownChar),
    );
    assert.equal(trace.chars.length, [...TEXT].length);
    drawn.forEach((s, i) => {
      const surprise = trace.surprise[i];
      const expected = Number.isNaN(surprise) ? 'rgba(0, 0, 0, 0)' : surpriseColor(surprise);
      assert.equal(s.background, expected, `character ${i} (${trace.chars[i]}): surprise ${surprise}`);
      assert.equal(s.classes.includes('unknown'), trace.unknown[i] === 1, `character ${i} (${trace.chars[i]})`);
    });
    assert.deepEqual(
      drawn.filter(s => s.classes.includes('unknown')).map(s => s.text),
      ['Z', 'ë', 'w'],
    );
    if (SHOTS) await page.screenshot({ path: join(SHOTS, 'explain-report.png'), fullPage: true });
  });

  test('a hover lists the top five guesses of the trace there, with their probabilities', async () => {
    const cjk = trace.chars.indexOf('猫');
    const emoji = trace.chars.indexOf('🙂');
    const newline = trace.chars.indexOf('\n');
    for (const i of [1, 7, cjk, cjk + 1, emoji, newline]) {
      const { head, rows } = await hover(page, i);
      const expected = guesses(model, trace, i);
      assert.deepEqual(
        rows.map(r => r.char),
        expected.map(g => g[0]),
        `the guesses at ${i}`,
      );
      rows.forEach((r, j) => {
        assert.ok(Math.abs(r.p - expected[j][1]) < 1e-12, `guess ${j} at ${i}: ${r.p} against ${expected[j][1]}`);
        assert.equal(r.shown, percentOf(expected[j][1]));
        assert.equal(r.guess, visibleChar(expected[j][0]));
      });
      assert.ok(head.includes(`surprise ${trace.surprise[i].toFixed(2)} nats`), head);
    }
    // The first character has nothing before it: no guesses, and it says so.
    const first = await hover(page, 0);
    assert.deepEqual(first.rows, []);
    assert.match(first.head, /nothing before it/);
    if (SHOTS) await page.screenshot({ path: join(SHOTS, 'explain-report-hover.png') });
  });

  test('the keyboard moves the hover from character to character', async () => {
    await page.mouse.move(0, 0);
    await page.locator('.inside-text').focus();
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('ArrowRight');
    await page.locator('.inside-tooltip[data-index="2"]:not([hidden])').waitFor();
    await page.keyboard.press('Escape');
    assert.equal(await page.locator('.inside-tooltip').isHidden(), true);
  });

  test('picking a unit colours each character by tanh of that cell there: red below zero, blue above', async () => {
    await page.locator('.inside-mode').selectOption('unit');
    await page.locator('.inside-layer').selectOption('1');
    await page.locator('.inside-kind').selectOption('cell');
    await page.locator('.inside-unit').fill('3');
    await page.locator('.inside[data-colour="L1 cell 3"]').waitFor();
    const cell = trace.layers.find(l => l.layer === 1)!.cell!; // [n, H]
    const drawn = await spans(page);
    let red = 0,
      blue = 0;
    drawn.forEach((s, i) => {
      const v = Math.tanh(cell[i * HIDDEN + 3]);
      // The report keeps values to 1/127 (int8).
      assert.equal(s.background, unitColor(Math.round(v * 127) / 127), `character ${i}: tanh(c) = ${v}`);
      const [r, , b] = s.background.match(/\d+/g)!.map(Number);
      if (v > 0.2) assert.ok(b > r, `character ${i}: ${v} is not blue: ${s.background}`);
      if (v < -0.2) assert.ok(r > b, `character ${i}: ${v} is not red: ${s.background}`);
      if (v > 0.2) blue++;
      if (v < -0.2) red++;
    });
    assert.ok(red + blue > 0, 'the unit is near zero everywhere: nothing was compared');
    const { head } = await hover(page, 5);
    assert.ok(head.includes(`L1 cell 3 = `), head);
    if (SHOTS) await page.screenshot({ path: join(SHOTS, 'explain-report-unit.png') });
  });

  test("a feature's shortcut picks its unit, and surprise comes back", async () => {
    const shortcut = page.locator('.unit-shortcut').first();
    const { layer, kind, unit } = await shortcut.evaluate(b => ({ ...(b as HTMLElement).dataset }));
    await shortcut.click();
    await page.locator(`.inside[data-colour="L${layer} ${kind} ${unit}"]`).waitFor();
    const values = trace.layers.find(l => l.layer === Number(layer))![kind as 'hidden' | 'cell']!;
    const v = (i: number): number => {
      const x = values[i * HIDDEN + Number(unit)];
      return kind === 'cell' ? Math.tanh(x) : x;
    };
    const drawn = await spans(page);
    drawn.forEach((s, i) => assert.equal(s.background, unitColor(Math.round(v(i) * 127) / 127), `character ${i}`));
    await page.locator('.inside-mode').selectOption('surprise');
    await page.locator('.inside[data-colour="surprise"]').waitFor();
    assert.equal((await spans(page))[3].background, surpriseColor(trace.surprise[3]));
  });

  test("a line model's report: each line starts fresh, its end ⏎ is predicted with the trace's guesses", async () => {
    const lines = await page.context().newPage();
    lines.on('request', r => requests.push(r.url()));
    lines.on('pageerror', e => problems.push(e.message));
    await lines.goto(pathToFileURL(join(dir, 'names.explain.html')).href);
    await lines.locator('body[data-ready="true"]').waitFor();
    const drawn = await spans(lines);
    assert.equal(drawn.map(s => s.text).join(''), 'anna⏎fred⏎gina⏎');
    assert.deepEqual(
      drawn.flatMap((s, i) => (s.classes.includes('fresh') ? [i] : [])),
      [0, 5, 10],
    );
    // The trace holds each line's start marker too: [\n a n n a \n][\n f r e d \n]...; the report shows none of them.
    assert.deepEqual(lineTrace.starts, [0, 6, 12]);
    const traced = (shown: number): number => shown + 1 + Math.floor(shown / 5);
    for (const shown of [4, 6, 14]) {
      const { rows } = await hover(lines, shown);
      const expected = guesses(names, lineTrace, traced(shown));
      assert.deepEqual(
        rows.map(r => [r.char, r.p]),
        expected,
        `shown ${shown}, traced ${traced(shown)}`,
      );
    }
    const fresh = await hover(lines, 5);
    assert.match(fresh.head, /a new line, read from a fresh state/);
    if (SHOTS) await lines.screenshot({ path: join(SHOTS, 'explain-report-lines.png'), fullPage: true });
    await lines.close();
  });

  test('the report fetched nothing and logged no error', async () => {
    // No request but the file itself, and no resource loaded by the page (what a blocked fetch would leave too).
    const report = [pathToFileURL(join(dir, 'story.explain.html')).href, pathToFileURL(join(dir, 'names.explain.html')).href];
    assert.deepEqual(
      requests.filter(u => !report.includes(u)),
      [],
    );
    assert.deepEqual(await page.evaluate(() => performance.getEntriesByType('resource').map(e => e.name)), []);
    assert.deepEqual(problems, []);
  });
});
