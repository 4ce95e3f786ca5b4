// Line mode from the command line (in-process): training on the embedded names
// corpus, evaluating and sampling the line model, resuming after --steps, and the
// bad inputs of --lines and of sampling whole lines. Resuming after a signal is
// in test/e2e/lines-cli.test.ts.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { lineModelInfo } from '../src/model/line-model.js';
import { decodeModel } from '../src/model/model-file.js';
import { LineSet } from '../src/text/line-set.js';
import { cliRunner, TINY as TINY_RUN } from './cli-runner.js';
import { assertUserError } from './user-error.js';

const ENV = { ...process.env, CHARRNN_BACKEND: 'reference', CHARRNN_DEBUG: '' };
// Line mode has no --seq; 8 streams of lines.
const TINY = [...TINY_RUN, '--batch', '8', '--sample-length', '0'];
/** The stdlib lists' names, as the corpus joins them. */
const NAMES_LINES = 8849;

let dir: string;
const { cli, ok } = cliRunner(() => dir, ENV);
const at = (name: string): string => join(dir, name);

const sha256 = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex');
const jsonLines = (stdout: string): Record<string, unknown>[] =>
  stdout
    .split('\n')
    .filter(l => l !== '')
    .map(l => JSON.parse(l) as Record<string, unknown>);

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'charrnn-lines-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe('charrnn train --lines', () => {
  test('--corpus names trains a line model, and eval scores lines', async () => {
    // Steps rather than seconds, so that a busy machine cannot cut the run short.
    const events = jsonLines(
      await ok(['train', '--corpus', 'names', ...TINY, '--steps', '400', '--val-every', '100', '--out', at('names'), '--json']),
    );
    const config = events[0] as { event: string; settings: Record<string, unknown>; corpus: Record<string, number | boolean | string> };
    assert.equal(config.event, 'config');
    assert.equal(config.settings.lines, true, '--corpus names implies --lines');
    const { corpus } = config;
    assert.equal(corpus.lines, true);
    assert.equal((corpus.train_lines as number) + (corpus.val_lines as number), NAMES_LINES);
    assert.ok((corpus.val_lines as number) >= 884);
    const steps = events.filter(e => e.event === 'step') as { step: number; chars: number; chars_per_second: number }[];
    // chars counts the characters trained on (each line's and its end-of-line), not batch x seq:
    // names average about 6 characters, so a batch of 8 lines is far below 8 x 50 = 400.
    const last = steps.at(-1)!;
    assert.ok(last.chars > 0 && last.chars < last.step * 8 * 20, `${last.chars} characters in ${last.step} steps`);
    const result = events.at(-1)!;
    assert.equal(result.event, 'result');
    // A model that learned something: well under the uniform log(54) = 3.99 nats.
    assert.ok((result.val_loss as number) < 3, `validation loss ${String(result.val_loss)}`);
    for (const file of ['model', 'best']) {
      const { metadata } = decodeModel(new Uint8Array(readFileSync(at(`names/${file}.safetensors`))), file);
      const info = lineModelInfo(metadata);
      assert.ok(info, `${file}.safetensors is marked as a line model`);
      assert.equal(info.eol, '\n');
      assert.ok(info.lineSet.has('Aaren') && info.lineSet.has('Aaron'), 'female and male names');
      assert.ok(!info.lineSet.has('Qwxyzzy'));
    }

    writeFileSync(at('some-names.txt'), 'Anna\nBob\r\n\nZed\n');
    const text = await ok(['eval', at('names/model.safetensors'), at('some-names.txt')]);
    assert.match(text, /nats\/char.* over 13 characters of 3 lines, each from a fresh state with its end-of-line counted/);
    const json = JSON.parse(await ok(['eval', at('names/model.safetensors'), at('some-names.txt'), '--json'])) as Record<string, number>;
    assert.equal(json.lines, 3);
    assert.equal(json.chars, 4 + 1 + 3 + 1 + 3 + 1);
    assert.ok(json.nats_per_char > 0 && json.nats_per_char < 4);
  });

  test('samples while training are whole lines', async () => {
    const list = Array.from({ length: 40 }, (_, i) => `word${i % 5}`).join('\n') + '\n';
    writeFileSync(at('words.txt'), list);
    const events = jsonLines(
      await ok([
        'train',
        at('words.txt'),
        '--lines',
        ...TINY,
        '--sample-length',
        '12',
        '--steps',
        '60',
        '--val-every',
        '30',
        '--out',
        at('words'),
        '--json',
      ]),
    );
    const samples = events.filter(e => e.event === 'sample') as { text: string; lines: boolean }[];
    assert.deepEqual(
      samples.map(e => (e as unknown as { step: number }).step),
      [30, 60],
      'a sample at each validation',
    );
    const result = events.at(-1) as { sample: string };
    for (const text of [...samples.map(e => e.text), result.sample]) {
      const lines = text.split('\n');
      assert.equal(lines.length, 5, JSON.stringify(text));
      for (const l of lines) assert.ok(l.length >= 1 && [...l].length <= 12, `a line of 1 to 12 characters: ${JSON.stringify(l)}`);
    }
    assert.equal(samples[0].lines, true);
    // Printed as text: the final sample's lines each start with the prime, once.
    const plain = await ok([
      'train',
      at('words.txt'),
      '--lines',
      ...TINY,
      '--sample-length',
      '12',
      '--sample-prime',
      'wo',
      '--steps',
      '20',
      '--val-every',
      '0',
      '--out',
      at('words-plain'),
    ]);
    const final = plain.split('\nsample:\n')[1]?.trim().split('\n') ?? [];
    assert.equal(final.length, 5, plain);
    for (const l of final) assert.ok(l.startsWith('wo') && !l.startsWith('wowo'), JSON.stringify(l));
  });

  test('a resumed line run ends exactly where an uninterrupted one does', async () => {
    const list = Array.from({ length: 60 }, (_, i) => `item ${'abcdefg'.slice(0, 1 + (i % 7))} ${i}`).join('\n') + '\n';
    writeFileSync(at('list.txt'), list);
    await ok(['train', at('list.txt'), '--lines', ...TINY, '--steps', '10', '--val-every', '3', '--out', at('whole')]);
    await ok(['train', at('list.txt'), '--lines', ...TINY, '--steps', '4', '--val-every', '3', '--out', at('parts')]);
    await ok(['train', at('list.txt'), '--resume', at('parts'), '--steps', '10']);
    for (const f of ['model', 'best', 'checkpoint']) {
      assert.equal(sha256(at(`parts/${f}.safetensors`)), sha256(at(`whole/${f}.safetensors`)), `${f}.safetensors`);
    }
    // The resumed run's log continues the characters count where it stopped.
    const chars = (name: string) =>
      new Map(
        jsonLines(readFileSync(at(`${name}/log.jsonl`), 'utf8'))
          .filter(e => e.event === 'step')
          .map(e => [e.step, e.chars]),
      );
    const whole = chars('whole');
    const parts = chars('parts');
    assert.equal(parts.get(10), whole.get(10));
    for (const [step, n] of parts) if (whole.has(step)) assert.equal(n, whole.get(step), `characters at step ${step}`);
  });

  test('bad input: no line breaks, only empty lines, a line too long, --lines on resuming a run of running text', async () => {
    writeFileSync(at('one-line.txt'), 'just one line without a break');
    assertUserError(await cli(['train', at('one-line.txt'), '--lines', ...TINY, '--steps', '1', '--out', at('x')]), /has no line breaks/);
    writeFileSync(at('empty-lines.txt'), '\n\r\n\n\n');
    assertUserError(
      await cli(['train', at('empty-lines.txt'), '--lines', ...TINY, '--steps', '1', '--out', at('x')]),
      /^charrnn: .*empty-lines\.txt holds only white space; a run needs some text \(files, standard input or --corpus\) to train on\.$/,
    );
    writeFileSync(at('long-line.txt'), `short\n${'x'.repeat(1001)}\nshort\n`);
    assertUserError(
      await cli(['train', at('long-line.txt'), '--lines', ...TINY, '--steps', '1', '--out', at('x')]),
      /Line 2 of .* has 1001 characters, and --lines takes lines of at most 1000/,
    );
    writeFileSync(at('prose.txt'), 'a few words of running text, on one line and then another.\n'.repeat(20));
    await ok(['train', at('prose.txt'), ...TINY, '--seq', '8', '--steps', '2', '--out', at('prose')]);
    assertUserError(
      await cli(['train', at('prose.txt'), '--resume', at('prose'), '--lines', '--steps', '4']),
      /has --lines false; a resumed run keeps its settings/,
    );
  });
});

describe('charrnn sample on a line model', () => {
  let model: string;
  let seen: LineSet;
  before(async () => {
    // A list whose lines a tiny model learns quickly, with room for new combinations.
    const list = ['ab', 'abc', 'abd', 'ba', 'bad', 'cab', 'dab', 'dac', 'cad', 'bac'].map(w => `${w}\n`).join('');
    writeFileSync(at('short.txt'), list.repeat(3));
    await ok(['train', at('short.txt'), '--lines', ...TINY, '--steps', '150', '--out', at('short')]);
    model = at('short/model.safetensors');
    seen = LineSet.fromLines(list.trimEnd().split('\n'));
  });

  test('--count 20 prints 20 whole lines, one per line, each what its seed gives alone', async () => {
    const out = await ok(['sample', model, '--count', '20', '--seed', '7']);
    const lines = out.split('\n');
    assert.equal(lines.pop(), '', 'ends with a line break');
    assert.equal(lines.length, 20);
    for (const l of lines) assert.match(l, /^[abcd]+$/, `a line of the list's characters: ${JSON.stringify(l)}`);
    // Line i is drawn with seed + i: the third line alone is --seed 9's.
    assert.equal(await ok(['sample', model, '--seed', '9']), `${lines[2]}\n`);
  });

  test('--prime starts every line with it; --max-length bounds what follows', async () => {
    const primed = (await ok(['sample', model, '--count', '10', '--prime', 'da'])).trimEnd().split('\n');
    assert.equal(primed.length, 10);
    for (const l of primed) assert.ok(l.startsWith('da'), JSON.stringify(l));
    const short = (await ok(['sample', model, '--count', '10', '--prime', 'c', '--max-length', '1', '--temperature', '3']))
      .trimEnd()
      .split('\n');
    assert.equal(short.length, 10);
    for (const l of short) assert.match(l, /^c[abcd]?$/, JSON.stringify(l));
  });

  test('--novel gives only lines not in the training text, each once, or says why there are fewer', async () => {
    const json = JSON.parse(await ok(['sample', model, '--count', '8', '--novel', '--temperature', '2', '--json'])) as {
      lines: string[];
      drawn: number;
    };
    assert.equal(json.lines.length, 8);
    assert.equal(new Set(json.lines).size, 8, 'no line twice');
    for (const l of json.lines) assert.ok(!seen.has(l), `${l} is in the training text`);
    assert.ok(json.drawn >= 8);
    // Greedy draws one line over and over: at most that one is novel.
    const r = await cli(['sample', model, '--count', '3', '--novel', '--greedy']);
    assert.equal(r.status, 0, r.stderr);
    assert.ok(r.stdout.split('\n').filter(l => l !== '').length <= 1);
    assert.match(
      r.stderr,
      /^charrnn: the model gave only [01] novel lines? of the 3 asked for in 1000 draws .*--greedy draws the same line every time, so leave it out\.\n$/,
    );
  });

  test('bad input: running-text flags on a line model, line flags on a model of running text', async () => {
    assertUserError(await cli(['sample', model, '--length', '20']), /is a line model: it samples whole lines.*leave --length out/);
    assertUserError(await cli(['sample', model, '--beam', '2']), /leave --beam out/);
    assertUserError(await cli(['sample', at('prose/model.safetensors'), '--novel']), /--novel applies to line models .* is not one/);
    assertUserError(await cli(['sample', at('prose/model.safetensors'), '--max-length', '5']), /--max-length applies to line models/);
  });
});
