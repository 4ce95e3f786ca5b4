// `charrnn explain` in process: the report holds the explanation the library
// gives for the same model and text (running text and a line model, CJK and
// emoji one character each, unknown characters shown and counted), needs
// nothing outside itself, cannot be broken out of by the text, and comes with
// a real PNG; every bad input is one sentence and writes nothing.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { explainText, type ExplainOptions } from '../src/explain/explain-text.js';
import type { Explanation } from '../src/explain/explanation.js';
import { referenceKernels } from '../src/kernels/reference/index.js';
import { CharRNN } from '../src/model/charrnn.js';
import { lineModelMetadata } from '../src/model/line-model.js';
import { encodeModel, loadModel } from '../src/model/model-file.js';
import { reportAssets } from '../src/node/explain-report.js';
import { Vocabulary } from '../src/text/vocabulary.js';
import { cliRunner } from './cli-runner.js';
import { darkPixels, decodePng } from './png.js';

// Quotes and brackets for the built-in features, CJK and an emoji (two UTF-16 units, one character).
const KNOWN = 'the cat sat on the mat. "a dog (a big one) ran far," she said. 猫 🙂\n';
const TEXT = `${KNOWN}Zoë saw the 猫 🙂 sit. "Then (again) the dog ran," said the cat.\n${KNOWN}`;
const NAMES = ['anna', 'ben', 'cat', 'dan', 'emma', 'fred', 'gina'];
const NAMES_TEXT = 'anna\nfred\n\nzed\ngina\n';

let dir: string;
const { cli, ok } = cliRunner(() => dir);
const at = (name: string): string => join(dir, name);

/** The explanation inside a report: the one JSON script element's text, parsed. */
function reportJson(html: string): Explanation {
  const m = /<script type="application\/json" id="charrnn-explanation">([\s\S]*?)<\/script>/.exec(html);
  assert.ok(m, 'the report has no explanation element');
  return JSON.parse(m[1]) as Explanation;
}

/** What the library gives for the model file and text, as JSON would carry it. */
function libraryExplanation(file: string, text: string, lineModel: boolean, options: ExplainOptions): Explanation {
  const { model, vocab } = loadModel(readFileSync(file), file, referenceKernels('f32'));
  return JSON.parse(JSON.stringify(explainText(model, vocab, text, lineModel, options))) as Explanation;
}

/** The report and summary files in the folder. */
const written = (): string[] => readdirSync(dir).filter(f => /\.(html|png)$/.test(f));

describe('charrnn explain', () => {
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'charrnn-explain-'));
    const vocab = Vocabulary.fromText(KNOWN);
    const lstm = new CharRNN({ cell: 'lstm', layers: 2, hidden: 12, emb: 6, dropout: 0, vocabSize: vocab.size }, referenceKernels('f32'), {
      seed: 4,
    });
    writeFileSync(at('lstm.safetensors'), encodeModel(lstm, vocab));
    const names = Vocabulary.fromText(NAMES.join('\n') + '\n');
    const gru = new CharRNN({ cell: 'gru', layers: 1, hidden: 10, emb: 5, dropout: 0, vocabSize: names.size }, referenceKernels('f32'), {
      seed: 6,
    });
    writeFileSync(at('names.safetensors'), encodeModel(gru, names, lineModelMetadata('\n', NAMES)));
    writeFileSync(at('story.txt'), TEXT);
    writeFileSync(at('names.txt'), NAMES_TEXT);
    writeFileSync(at('empty.txt'), '');
    writeFileSync(at('notes.safetensors'), 'these are my notes, not a model');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('the report holds the explanation the library gives for the same model and text', async () => {
    const out = await ok([
      'explain',
      at('lstm.safetensors'),
      at('story.txt'),
      '--backend',
      'reference',
      '--pattern',
      'vowel=[aeiou]',
      '--show',
      '90',
    ]);
    const html = readFileSync(at('story.explain.html'), 'utf8');
    const expected = libraryExplanation(at('lstm.safetensors'), TEXT, false, {
      show: 90,
      patterns: [{ name: 'vowel', pattern: '[aeiou]' }],
    });
    assert.deepEqual(reportJson(html), expected);
    assert.equal(expected.shown.length, 90);
    assert.ok(expected.features.some(f => f.name === 'vowel' && f.units.length === 5));
    // The terminal's lines: the score, each feature's strongest unit, the two files.
    assert.match(
      out,
      new RegExp(`^${expected.natsPerChar.toFixed(4)} nats/char over ${expected.predicted} predicted of ${expected.chars} characters`),
    );
    const vowel = expected.features.find(f => f.name === 'vowel')!.units[0];
    assert.ok(out.includes(`vowel           L${vowel.layer} ${vowel.kind} ${vowel.unit} (r `), out);
    assert.match(out, /report +story\.explain\.html\nsummary +story\.explain\.png\n$/);
  });

  test("the report is one file: the built view's script and style inline, the charts as SVG, nothing to fetch", () => {
    const html = readFileSync(at('story.explain.html'), 'utf8');
    const { script, style } = reportAssets();
    assert.ok(html.includes(script), "the report's script is not the built dist/explain-report/report.js");
    assert.ok(html.includes(style), "the report's style is not the built dist/explain-report/report.css");
    assert.match(html, /<template id="chart-saturation"><svg[\s\S]*?<\/svg><\/template>/);
    assert.match(html, /<template id="chart-histogram"><svg[\s\S]*?<\/svg><\/template>/);
    assert.doesNotMatch(html, /<script[^>]+src=|<link[^>]+href=|<img[^>]+src="?(?!data:)|url\((?!data:)|@import/i);
    assert.match(html, /<meta http-equiv="Content-Security-Policy" content="default-src 'none';/);
  });

  test('the PNG summary is a PNG of the two charts with the headline drawn', async () => {
    const png = decodePng(readFileSync(at('story.explain.png')));
    assert.ok(png.width >= 1200 && png.width <= 3000 && png.height >= 500 && png.height <= 1600, `${png.width}x${png.height}`);
    // The title's text, at the top left (drawn at twice the size), and the charts below it.
    assert.ok(darkPixels(png, 0, 0, 900, 70) > 500, 'no title drawn');
    assert.ok(darkPixels(png, 0, png.height / 2, png.width, png.height) > 2000, 'no charts drawn');
  });

  test('characters the model never saw are shown, counted and named, not refused', () => {
    const e = reportJson(readFileSync(at('story.explain.html'), 'utf8'));
    // Z, ë, the w of "saw" and the T of "Then": characters the model file's vocabulary (KNOWN's) lacks.
    const unknown = [...TEXT].filter(c => !KNOWN.includes(c));
    assert.deepEqual(unknown, ['Z', 'ë', 'w', 'T']);
    assert.equal(e.unknown, 4);
    assert.deepEqual(e.unknownChars, ['Z', 'ë', 'w', 'T']);
    const shown = e.shown.filter(c => c.unknown);
    assert.deepEqual(
      shown.map(c => c.c),
      unknown,
    );
    assert.ok(shown.every(c => c.s === null));
  });

  test('--text: CJK and emoji are one character each; a </script> in the text cannot end the inline JSON', async () => {
    const text = 'the 猫 sat 🙂</script><script>document.title="owned"</script><!--';
    await ok(['explain', at('lstm.safetensors'), '--text', text, '--backend', 'reference']);
    const html = readFileSync(at('text.explain.html'), 'utf8');
    assert.deepEqual(reportJson(html), libraryExplanation(at('lstm.safetensors'), text, false, {}));
    assert.deepEqual(
      reportJson(html).shown.map(c => c.c),
      [...text],
    );
    assert.ok(!html.includes('document.title="owned"</script>'), 'the text closed the JSON element');
  });

  test("a line model's report: each line from a fresh state, its end of line predicted, empty lines skipped", async () => {
    const out = await ok(['explain', at('names.safetensors'), at('names.txt'), '--backend', 'reference', '--out', 'lines.html']);
    assert.match(out, /report +lines\.html\nsummary +lines\.png\n$/);
    const e = reportJson(readFileSync(at('lines.html'), 'utf8'));
    assert.deepEqual(e, libraryExplanation(at('names.safetensors'), NAMES_TEXT, true, {}));
    assert.equal(e.model.lineModel, true);
    assert.equal(e.model.cell, 'gru');
    // anna, fred, zed, gina: each line's characters then its predicted end of line, no start markers.
    assert.equal(e.shown.map(c => c.c).join(''), 'anna\nfred\nzed\ngina\n');
    assert.deepEqual(
      e.shown.flatMap((c, i) => (c.lineStart ? [i] : [])),
      [0, 5, 10, 14],
    );
    assert.ok(e.shown.filter(c => c.c === '\n').every(c => c.s !== null && c.top.length === 5));
    assert.equal(e.unknown, 1); // the z of zed
    assert.deepEqual(new Set(e.saturation.map(s => s.gate)), new Set(['reset', 'update']));
  });

  describe('bad input: one sentence, and nothing written', () => {
    const refused = async (args: string[], status: number, sentence: RegExp): Promise<void> => {
      const sub = `bad-${Math.random().toString(36).slice(2)}`;
      mkdirSync(at(sub));
      const before = written();
      const r = await cli([...args, '--out', join(sub, 'r.html')]);
      assert.equal(r.status, status, r.stderr);
      assert.match(r.stderr, /^charrnn: [^\n]+[.)]\n$/, 'not one line');
      assert.match(r.stderr, sentence);
      assert.equal(r.stdout, '');
      assert.deepEqual(readdirSync(at(sub)), [], 'it wrote a file');
      assert.deepEqual(written(), before);
    };

    test('a model file that is not one', () =>
      refused(['explain', at('notes.safetensors'), at('story.txt')], 1, /notes\.safetensors is not a valid safetensors file/));
    test('a missing model file, a missing text file', async () => {
      await refused(['explain', at('nothing.safetensors'), at('story.txt')], 1, /nothing\.safetensors/);
      await refused(['explain', at('lstm.safetensors'), at('nothing.txt')], 1, /nothing\.txt/);
    });
    test('an empty text, from a file or --text', async () => {
      await refused(['explain', at('lstm.safetensors'), at('empty.txt')], 1, /^charrnn: \S+empty\.txt is empty\.$/m);
      await refused(
        ['explain', at('lstm.safetensors'), '--text', ''],
        1,
        /^charrnn: The --text text is empty: there is nothing to explain\.$/m,
      );
    });
    test('no text, or both files and --text', async () => {
      await refused(['explain', at('lstm.safetensors')], 1, /Nothing to explain: give one or more text files or folders, or --text\./);
      await refused(['explain', at('lstm.safetensors'), at('story.txt'), '--text', 'x'], 1, /Give either text files or --text, not both\./);
    });
    test('a text with nothing the model can predict', () =>
      refused(
        ['explain', at('lstm.safetensors'), '--text', 'ZZt'],
        1,
        /Nothing to explain: the model predicted none of the text's characters.+\(2 are unknown to it\)\.$/m,
      ));
    test('a bad --show or --units', async () => {
      await refused(
        ['explain', at('lstm.safetensors'), at('story.txt'), '--show', 'lots'],
        2,
        /--show <n>.+It must be a whole number from 0 to 1,000,000\./,
      );
      await refused(['explain', at('lstm.safetensors'), at('story.txt'), '--show', '-3'], 2, /--show <n>/);
      await refused(['explain', at('lstm.safetensors'), at('story.txt'), '--show', '2.5'], 2, /--show <n>/);
      await refused(['explain', at('lstm.safetensors'), at('story.txt'), '--units', '0'], 2, /--units <n>.+from 1 to 100\./);
    });
    test('a bad --pattern: not NAME=REGEX, or a regular expression that does not compile', async () => {
      await refused(
        ['explain', at('lstm.safetensors'), at('story.txt'), '--pattern', 'quotes'],
        2,
        /--pattern <name=regex>.+It must be NAME=REGEX/,
      );
      await refused(
        ['explain', at('lstm.safetensors'), at('story.txt'), '--pattern', '=x'],
        2,
        /--pattern <name=regex>.+It must be NAME=REGEX/,
      );
      await refused(
        ['explain', at('lstm.safetensors'), at('story.txt'), '--pattern', 'open=(a'],
        2,
        /--pattern <name=regex>.+Its regular expression does not compile \(.+\)\./,
      );
    });
  });
});
