// The platform-neutral layers' messages name settings the library's way
// (maxVocab, lines, encoding), never a CLI flag, and the CLI says the same
// sentences with its flags (--max-vocab, --lines, --encoding): each sentence
// once in each face's words, the CLI's through the in-process runner.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { flagName, FLAG_NAMES } from '../src/cli/flag-names.js';
import { splitLines } from '../src/data/line-examples.js';
import { CharrnnError, WordedError } from '../src/errors.js';
import { torchSettings } from '../src/export/torch-settings.js';
import { checkLineOptions } from '../src/generate/line-options.js';
import { corpusReport } from '../src/report/corpus-report.js';
import { checkTrainingMemory } from '../src/run/plan-run.js';
import { SettingError } from '../src/run/setting-error.js';
import { DEFAULT_SETTINGS } from '../src/run/settings.js';
import { CorpusEncoder } from '../src/text/corpus-encoder.js';
import { decodeText } from '../src/text/decoder.js';
import { checkMemory, trainingMemory } from '../src/train/memory-estimate.js';
import { checkSchedule } from '../src/train/schedule.js';
import { cliRunner, TINY } from './cli-runner.js';
import { assertUserError } from './user-error.js';

/** The error `fn` throws, which must be a CharrnnError. */
function refusal(fn: () => unknown): CharrnnError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof CharrnnError, `not a CharrnnError: ${String(e)}`);
    return e;
  }
  assert.fail('expected a refusal');
}

/** A refusal's sentence in the library's words and in the CLI's, which must differ only in the names. */
function bothWays(fn: () => unknown): { library: string; cli: string } {
  const e = refusal(fn);
  assert.ok(e instanceof WordedError, `a sentence the CLI cannot reword: ${e.message}`);
  assert.doesNotMatch(e.message, /--/, 'the library names no flag');
  return { library: e.message, cli: e.in(flagName) };
}

/** A Latin-1 "à bientôt!": not UTF-8. */
const LATIN1 = Uint8Array.from([0x61, 0x20, 0xe0, 0x20, 0x62, 0x69, 0x65, 0x6e, 0x74, 0xf4, 0x74, 0x21, 0x0a]);
const DECODE_ADVICE = (encoding: string, invalid: string): string =>
  `give ${encoding} with its encoding (for example latin1, cp1252 or utf-16le), or ${invalid} replace to turn the bad bytes into U+FFFD.`;
/** A text of running prose long enough for the tiny settings, with no line of its own too long. */
const PROSE = 'the cat sat on the mat and the dog ran to the log\n'.repeat(80);

describe("the library's words and the CLI's, sentence by sentence", () => {
  test('maxVocab below 2', () => {
    const { library, cli } = bothWays(() => new CorpusEncoder({ normalize: 'none', maxVocab: 1 }));
    assert.equal(library, 'maxVocab must be at least 2 (one character and the unknown symbol), got 1.');
    assert.equal(cli, '--max-vocab must be at least 2 (one character and the unknown symbol), got 1.');
  });

  test('lrMin above the learning rate', () => {
    const cosine = { name: 'cosine', lr: 1e-3, lrMin: 1, warmup: 0, totalSteps: 10, decay: 1, decayEvery: 0 } as const;
    const { library, cli } = bothWays(() => checkSchedule(cosine));
    assert.equal(library, 'lrMin must be between 0 and the learning rate 0.001, got 1.');
    assert.equal(cli, '--lr-min must be between 0 and the learning rate 0.001, got 1.');
  });

  test('line mode: no line breaks, a line too long, no lines at all', () => {
    const none = bothWays(() => splitLines('one line', 'list.txt'));
    assert.equal(
      none.library,
      'lines reads one example per line, and list.txt has no line breaks; train without lines, or put one example on each line.',
    );
    assert.equal(
      none.cli,
      '--lines reads one example per line, and list.txt has no line breaks; train without --lines, or put one example on each line.',
    );
    const long = bothWays(() => splitLines('ab\nabcdef\n', 'list.txt', 5));
    assert.equal(
      long.library,
      'Line 2 of list.txt has 6 characters, and lines takes lines of at most 5 (each line is one sequence to backpropagate through); split it, or train without lines.',
    );
    assert.equal(
      long.cli,
      'Line 2 of list.txt has 6 characters, and --lines takes lines of at most 5 (each line is one sequence to backpropagate through); split it, or train without --lines.',
    );
    const empty = bothWays(() => splitLines('\n\n', 'list.txt'));
    assert.equal(empty.library, 'lines found no examples: every line of list.txt is empty.');
    assert.equal(empty.cli, '--lines found no examples: every line of list.txt is empty.');
  });

  test('undecodable bytes and a NUL byte: the advice names encoding and invalid', () => {
    const bad = bothWays(() => decodeText(LATIN1, 'mail.txt'));
    const problem =
      'mail.txt is not valid UTF-8 text: the byte 0xE0 at offset 2 does not begin a valid UTF-8 sequence (bytes there: E0 20 62 69); ';
    assert.equal(bad.library, problem + DECODE_ADVICE('encoding', 'invalid'));
    assert.equal(bad.cli, problem + DECODE_ADVICE('--encoding', '--invalid'));
    const nul = bothWays(() => decodeText(Uint8Array.from([0x61, 0x00]), 'u16.txt'));
    const binary =
      'u16.txt looks like a binary file, not text: it has a NUL byte at byte offset 1 (if it is UTF-16 without a byte order mark, give ';
    assert.equal(nul.library, `${binary}encoding utf-16le or utf-16be).`);
    assert.equal(nul.cli, `${binary}--encoding utf-16le or utf-16be).`);
  });

  test('a line option on a model of running text names the setting that makes line models', () => {
    const e = refusal(() => checkLineOptions({ novel: true }, false));
    assert.equal(e.message, 'novel applies to line models (trained with lines), and the model is not one.');
  });

  test("the memory check's engine advice", () => {
    const machine = { total: 16e9, available: 12e9, engineLimit: { bytes: 1e6, engine: 'wasm' } };
    const e = refusal(() => checkTrainingMemory({ ...DEFAULT_SETTINGS, hidden: 1024 }, 65, machine));
    assert.ok(e instanceof SettingError);
    assert.match(
      e.message,
      /the wasm backend can use at most 1\.0 MB; use a smaller hidden, layers, emb, batch or seq, or use backend native\.$/,
    );
    assert.doesNotMatch(e.message, /--/);
    assert.match(
      e.in(FLAG_NAMES),
      /the wasm backend can use at most 1\.0 MB; use a smaller --hidden, --layers, --emb, --batch or --seq, or use --backend native\.$/,
    );
    // Called directly, the engine advice is the library's unless the caller gives its own.
    const estimate = trainingMemory({
      config: { cell: 'lstm', layers: 2, hidden: 1024, emb: 64, vocabSize: 65, dropout: 0 },
      batch: 4,
      seq: 8,
      optimizer: 'adam',
    });
    assert.match(refusal(() => checkMemory(estimate, machine, 'x', 'less')).message, /; less, or use the native backend\.$/);
    assert.match(
      refusal(() => checkMemory(estimate, machine, 'x', 'less', '--backend native')).message,
      /; less, or use --backend native\.$/,
    );
  });

  test("the corpus report's advice names hidden and lines, or the face's names", () => {
    const tiny = corpusReport('a tiny text\n');
    assert.ok(
      tiny.warnings.some(w => w.includes('use a small one (hidden 64 or so)')),
      tiny.warnings.join('\n'),
    );
    const tinyList = corpusReport('ann\nbob\n', { lines: true });
    assert.ok(
      tinyList.warnings.some(w => w.includes('use a small model (hidden 64 or so)')),
      tinyList.warnings.join('\n'),
    );
    const flags = corpusReport('a tiny text\n', { names: flagName });
    assert.ok(
      flags.warnings.some(w => w.includes('use a small one (--hidden 64 or so)')),
      flags.warnings.join('\n'),
    );
    // A text whose last tenth is unlike the rest: the advice to train a list in line mode.
    const unlike = corpusReport('abcd'.repeat(3000) + 'xyzw'.repeat(400), { valFraction: 0.1 });
    const split = unlike.warnings.find(w => w.startsWith('Validation split unlike the rest'));
    assert.ok(split?.endsWith('(reorder the text, or train a list with lines).'), unlike.warnings.join('\n'));
    for (const w of [...tiny.warnings, ...tinyList.warnings, ...unlike.warnings]) assert.doesNotMatch(w, /--/);
  });

  test("export-torch's refusals of a saved run", () => {
    const base = { cell: 'lstm', layers: 1, hidden: 32, emb: 16, batch: 4, seq: 8, lr: 2e-3 };
    const cases: [Record<string, unknown>, string, string][] = [
      [
        { lines: true, valSplit: 'spread' },
        "The run's settings break a rule of charrnn train, so it is not exported: valSplit spread holds out windows of running text; line mode holds out whole lines chosen at random already, so leave valSplit out.",
        "The run's settings break a rule of charrnn train, so it is not exported: --val-split spread holds out windows of running text; line mode holds out whole lines chosen at random already, so leave --val-split out.",
      ],
      [
        { lrSchedule: 'cosine', scheduleSteps: 3, warmup: 3 },
        "The run's cosine schedule has no steps after its warm-up (scheduleSteps 3), so it is not exported.",
        "The run's cosine schedule has no steps after its warm-up (--schedule-steps 3), so it is not exported.",
      ],
      [
        { warmupSteps: 100 },
        'The run in r uses warmupSteps 100, which export-torch cannot carry over to PyTorch yet, so it is not exported.',
        'The run in r uses --warmup-steps 100, which export-torch cannot carry over to PyTorch yet, so it is not exported.',
      ],
    ];
    for (const [settings, library, cli] of cases) {
      assert.deepEqual(
        bothWays(() => torchSettings({ ...base, ...settings }, 'r')),
        { library, cli },
      );
    }
  });
});

describe('the CLI says them with its flags', () => {
  let dir: string;
  const { cli, ok } = cliRunner(() => dir);
  const at = (name: string): string => join(dir, name);
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'charrnn-setting-words-'));
    writeFileSync(at('one-line.txt'), 'ann bob cid');
    writeFileSync(at('mail.txt'), LATIN1);
    writeFileSync(at('prose.txt'), PROSE);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('train --lines on a text without line breaks', async () => {
    assertUserError(
      await cli(['train', at('one-line.txt'), '--lines', ...TINY, '--steps', '1', '--out', at('x')]),
      /has no line breaks; train without --lines, or put one example on each line\.$/,
    );
  });

  // The run layer's range and conflict rules reach these first (src/run/setting-ranges.ts, check-settings.ts), in flags;
  // the text and schedule layers' own sentences for the same values are checked word for word above.
  test('train --max-vocab 1', async () => {
    assertUserError(
      await cli(['train', at('prose.txt'), ...TINY, '--max-vocab', '1', '--steps', '1', '--out', at('x')]),
      /^charrnn: --max-vocab must be a whole number, 2 or more, not 1\.$/,
    );
  });

  test('train --lr-min above --lr', async () => {
    assertUserError(
      await cli(['train', at('prose.txt'), ...TINY, '--lr-schedule', 'cosine', '--lr-min', '1', '--steps', '5', '--out', at('x')]),
      /^charrnn: --lr-min 1 is above --lr 0\.002, and a cosine schedule falls from --lr to --lr-min; give a --lr-min of 0\.002 or less\.$/,
    );
  });

  test('inspect an undecodable file, and a tiny one', async () => {
    assertUserError(
      await cli(['inspect', at('mail.txt'), '--out', dir]),
      new RegExp(`; ${DECODE_ADVICE('--encoding', '--invalid').replace(/[.()+]/g, '\\$&')}$`),
    );
    const report = await ok(['inspect', at('prose.txt'), '--out', dir]);
    assert.match(report, /use a small one \(--hidden 64 or so\)/);
  });

  test('sample --novel from a model of running text', async () => {
    await ok(['train', at('prose.txt'), ...TINY, '--steps', '1', '--sample-length', '0', '--out', at('prose')]);
    assertUserError(
      await cli(['sample', at('prose/model.safetensors'), '--novel']),
      /^charrnn: --novel applies to line models \(trained with --lines\), and .* is not one\.$/,
    );
  });
});
