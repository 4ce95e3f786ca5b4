// The command line end to end, as a user meets it: the CLI runs in-process
// (runCli, test/cli-runner.ts) on small files written to a fresh temp folder,
// and only what a user sees is checked (exit codes, stdout, stderr, files on
// disk). Models are tiny and the reference backend is used throughout, so the
// whole file runs in seconds; a few runs of the real program are a smoke test of
// main.ts. What only a real process shows (signals, a closed pipe, a terminal,
// wall-clock budgets) is in test/e2e/cli.test.ts.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { decodeSafetensors, encodeSafetensors } from '../src/model/safetensors.js';
import { cliRunner, spawnCliRunner, TINY, TINY_MODEL, type CliResult } from './cli-runner.js';
import { assertUserError } from './user-error.js';
import { CLI_ENV, codePoints, CORPUS, jsonLines, LINE, RESUME_MODEL, sha256 } from './cli-fixtures.js';

const ENV = CLI_ENV;

let dir: string;
const { cli, ok } = cliRunner(() => dir, ENV);
const at = (name: string): string => join(dir, name);

const CORPUS_CHARS = new Set(CORPUS); // iterating a string goes by code point

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'charrnn-cli-'));
  writeFileSync(at('corpus.txt'), CORPUS);
  // Sanity of the fixture itself: the code point and UTF-16 counts really differ.
  assert.equal(codePoints(LINE), 28);
  assert.equal(LINE.length, 29);
});

after(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('end to end', () => {
  let model: string;
  const stepsEvery5 = ['--steps', '20', '--print-every', '5', '--val-every', '10'];

  before(async () => {
    // The loss plot is drawn here (TINY turns it off elsewhere).
    await ok(['train', 'corpus.txt', ...TINY_MODEL, '--backend', 'reference', ...stepsEvery5, '--out', 'run', '--sample-length', '0']);
    model = at('run/model.safetensors');
  });

  test('train writes model.safetensors and best.safetensors in --out, and the loss plot refreshed at its validations', async () => {
    assert.ok(existsSync(at('run/model.safetensors')));
    assert.ok(existsSync(at('run/best.safetensors')));
    const svg = readFileSync(at('run/loss.svg'), 'utf8');
    assert.match(svg, /best validation [0-9.]+ at step 20/, 'the plot shows the closing validation');
    assert.deepEqual([...readFileSync(at('run/loss.png')).subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  });

  test('train --json prints one JSON object per event: config, steps, validations, saves, stopped, result', async () => {
    const lines = jsonLines(
      await ok(['train', 'corpus.txt', ...TINY, ...stepsEvery5, '--out', 'run-json', '--json', '--sample-length', '30']),
    );
    const n = codePoints(CORPUS);
    const header = lines[0];
    assert.equal(header.event, 'config');
    const corpus = header.corpus as Record<string, unknown>;
    assert.equal(corpus.chars, n, 'chars counts code points');
    assert.equal(corpus.vocab, CORPUS_CHARS.size);
    assert.equal((header.model as Record<string, unknown>).hidden, 16);
    assert.equal(header.total_steps, 20);
    for (const l of lines) {
      for (const k of ['step', 'epoch', 'chars', 'time']) assert.equal(typeof l[k], 'number', `${k} in ${JSON.stringify(l)}`);
      assert.equal(l.chars, (l.step as number) * 4 * 16, 'characters seen: B * T per step');
    }

    const steps = lines.filter(l => l.event === 'step');
    // Step 1 is always reported, then every --print-every.
    assert.deepEqual(
      steps.map(l => l.step),
      [1, 5, 10, 15, 20],
    );
    for (const l of steps) {
      for (const k of ['loss', 'smooth_loss', 'lr', 'grad_norm', 'chars_per_second'])
        assert.equal(typeof l[k], 'number', `${k} in ${JSON.stringify(l)}`);
      assert.ok((l.loss as number) > 0);
    }
    // The protocol's epoch, computed independently: 90% of the code points train, cut into
    // 4 streams of floor((nTrain - 1) / 4), each pass being floor(L / 16) chunks.
    const nTrain = Math.floor(n * 0.9);
    const perEpoch = Math.floor(Math.floor((nTrain - 1) / 4) / 16);
    assert.ok(Math.abs((steps[4].epoch as number) - 20 / perEpoch) < 1e-4, `epoch ${steps[4].epoch} vs ${20 / perEpoch}`);

    const vals = lines.filter(l => l.event === 'validation');
    assert.deepEqual(
      vals.map(l => l.step),
      [10, 20],
    );
    for (const l of vals) assert.ok(typeof l.loss === 'number' && l.loss > 0);
    // A sample at every validation (the last step was validated on schedule, so there is no closing validation).
    assert.deepEqual(
      lines.filter(l => l.event === 'sample').map(l => l.step),
      [10, 20],
    );
    assert.deepEqual(
      lines.filter(l => l.event === 'stopped').map(l => l.reason),
      ['limit'],
    );

    const result = lines[lines.length - 1];
    assert.equal(result.event, 'result');
    assert.equal(result.step, 20);
    assert.equal(result.reason, 'limit');
    assert.equal(typeof result.sample, 'string');
    assert.equal(codePoints(result.sample as string), 30);
  });

  test('the last step is reported even off the --print-every grid', async () => {
    const lines = jsonLines(
      await ok([
        'train',
        'corpus.txt',
        ...TINY,
        '--steps',
        '12',
        '--print-every',
        '5',
        '--val-every',
        '0',
        '--out',
        'run-12',
        '--json',
        '--sample-length',
        '0',
      ]),
    );
    assert.deepEqual(
      lines.filter(l => l.event === 'step').map(l => l.step),
      [1, 5, 10, 12],
    );
  });

  test('sample prints the prime and then exactly --length code points, all from the corpus', async () => {
    for (const [prime, length] of [
      ['the 猫', 50],
      ['🙂', 7],
      ['', 33],
    ] as const) {
      const out = await ok(['sample', model, '--prime', prime, '--length', String(length), '--seed', '3']);
      assert.ok(out.endsWith('\n'));
      const text = out.slice(0, -1); // the CLI ends the output with one newline of its own
      assert.ok(text.startsWith(prime));
      const generated = text.slice(prime.length);
      assert.equal(codePoints(generated), length, `${JSON.stringify(generated)} should be ${length} code points`);
      for (const c of generated) assert.ok(CORPUS_CHARS.has(c), `generated ${JSON.stringify(c)} is not in the corpus`);
    }
  });

  test('--greedy gives the same text twice, whatever the seed', async () => {
    const a = await ok(['sample', model, '--prime', 'the', '--length', '60', '--greedy', '--seed', '1']);
    const b = await ok(['sample', model, '--prime', 'the', '--length', '60', '--greedy', '--seed', '2']);
    assert.equal(a, b);
  });

  test('the same --seed gives the same text, another seed different text', async () => {
    const args = ['sample', model, '--prime', 'the', '--length', '200'];
    const a = await ok([...args, '--seed', '7']);
    assert.equal(await ok([...args, '--seed', '7']), a);
    // 200 draws from a barely trained model: equal texts would be a ~e^-100 coincidence.
    assert.notEqual(await ok([...args, '--seed', '8']), a);
  });

  test('--count N prints N samples, a blank line between; sample i is what --seed S+i prints alone', async () => {
    const args = ['sample', model, '--prime', 'the', '--length', '40'];
    const out = await ok([...args, '--count', '3', '--seed', '5']);
    const alone: string[] = [];
    for (const seed of [5, 6, 7]) alone.push(await ok([...args, '--seed', String(seed)]));
    assert.equal(out, alone.join('\n'));
    for (const one of alone) {
      assert.ok(one.startsWith('the') && one.endsWith('\n'));
      assert.equal(codePoints(one) - 4, 40);
    }
    assert.equal(new Set(alone).size, 3);
  });

  test('--stop ends each sample before the first occurrence of any stop text (repeatable); --end-of-line at the newline', async () => {
    const args = ['sample', model, '--prime', 'the', '--length', '300', '--seed', '4'];
    const free = (await ok(args)).slice('the'.length, -1);
    const cut = (stops: string[]): string => {
      const at = Math.min(...stops.map(s => free.indexOf(s)).filter(i => i >= 0));
      return Number.isFinite(at) ? free.slice(0, at) : free;
    };
    for (const stops of [['t'], ['at', ' '], ['猫']]) {
      const out = await ok([...args, ...stops.flatMap(s => ['--stop', s])]);
      assert.equal(out, `the${cut(stops)}\n`, `--stop ${stops.join(' --stop ')}`);
    }
    assert.equal(await ok([...args, '--end-of-line']), `the${cut(['\n'])}\n`);
  });

  test('--json: one object with the texts, why each ended, and the character counts', async () => {
    const args = ['sample', model, '--prime', 'the', '--length', '40', '--seed', '5'];
    const one = JSON.parse(await ok([...args, '--json'])) as Record<string, unknown>;
    assert.equal(`the${one.text as string}\n`, await ok(args));
    assert.deepEqual(one.texts, [one.text]);
    assert.deepEqual(one.finish_reasons, ['length']);
    assert.deepEqual(one.usage, { prompt_chars: 3, generated_chars: 40 });
    const many = JSON.parse(await ok([...args, '--count', '2', '--stop', 'a', '--json'])) as {
      texts: string[];
      finish_reasons: string[];
      usage: { generated_chars: number };
    };
    many.texts.forEach((t, i) => assert.equal(many.finish_reasons[i], codePoints(t) < 40 ? 'stop' : 'length'));
    assert.ok(many.usage.generated_chars <= 80);
  });

  test('--beam K: the K most likely continuations, best first; --json gives their log-probabilities in order', async () => {
    const base = ['sample', model, '--prime', 'the ', '--length', '6'];
    const r = JSON.parse(await ok([...base, '--beam', '3', '--json'])) as { texts: string[]; logprobs: number[]; finish_reasons: string[] };
    assert.equal(r.texts.length, 3);
    assert.equal(new Set(r.texts).size, 3);
    for (const t of r.texts) assert.equal(codePoints(t), 6);
    for (let i = 1; i < 3; i++) assert.ok(r.logprobs[i] <= r.logprobs[i - 1] && r.logprobs[i] < 0);
    // Width 1 is greedy decoding; the plain output prints each text after the prime, a blank line between.
    assert.equal(await ok([...base, '--beam', '1']), await ok([...base, '--greedy']));
    assert.equal(await ok([...base, '--beam', '3']), r.texts.map(t => `the ${t}\n`).join('\n'));
  });

  test('eval --json ends with nats, bits (= nats / ln 2), perplexity (= e^nats) and chars (= code points - 1)', async () => {
    const text = 'the cat 🙂 sat on the 猫 mat.\nthe 猫 sat.\n';
    writeFileSync(at('known.txt'), text);
    const lines = (await ok(['eval', model, 'known.txt', '--json'])).trimEnd().split('\n');
    const r = JSON.parse(lines[lines.length - 1]) as Record<string, number>;
    assert.equal(r.chars, 39 - 1); // 28 + 11 code points (40 UTF-16 units)
    assert.equal(r.skipped, 0);
    assert.ok(Number.isFinite(r.nats_per_char) && r.nats_per_char > 0);
    assert.ok(Math.abs(r.bits_per_char - r.nats_per_char / Math.LN2) < 1e-12);
    assert.ok(Math.abs(r.perplexity - Math.exp(r.nats_per_char)) < 1e-9 * r.perplexity);
  });

  test('eval reports characters the model does not know as skipped', async () => {
    // 14 code points; 🐶, Ω and the two z's are not in the corpus: 4 skipped, 10 known left.
    writeFileSync(at('unknown.txt'), 'the 🐶 cat Ωzz\n');
    const lines = (await ok(['eval', model, 'unknown.txt', '--json'])).trimEnd().split('\n');
    const r = JSON.parse(lines[lines.length - 1]) as Record<string, number>;
    assert.equal(r.skipped, 4);
    assert.equal(r.chars, 10 - 1);
    assert.ok(Number.isFinite(r.nats_per_char));
  });
});

describe('bad input: one line on stderr, non-zero exit, nothing saved is lost', () => {
  const saved = (): string => at('saved');
  let snapshot: Record<string, string>;
  let savedLog: string;
  const snap = (): Record<string, string> =>
    Object.fromEntries(
      readdirSync(saved())
        .sort()
        .map(f => [f, sha256(join(saved(), f))]),
    );
  const train = (files: string[], ...flags: string[]): Promise<CliResult> =>
    cli(['train', ...files, ...TINY, '--steps', '20', '--sample-length', '0', '--out', 'saved', ...flags]);
  const model = (): string => join(saved(), 'model.safetensors');

  before(async () => {
    await ok(['train', 'corpus.txt', ...TINY, '--steps', '20', '--val-every', '10', '--sample-length', '0', '--out', 'saved']);
    snapshot = snap();
    savedLog = readFileSync(join(saved(), 'log.jsonl'), 'utf8');
    for (const f of ['model.safetensors', 'best.safetensors']) assert.ok(f in snapshot, `${f} was not saved`);
  });

  // Every failing train below wrote to the same --out: it must still hold the same files, unchanged, and no others;
  // the log may only have grown (a refused resume records why it stopped).
  after(() => {
    const now = snap();
    assert.deepEqual({ ...now, 'log.jsonl': '' }, { ...snapshot, 'log.jsonl': '' });
    assert.ok(readFileSync(join(saved(), 'log.jsonl'), 'utf8').startsWith(savedLog), 'log.jsonl lost lines');
  });

  test('a missing file', async () => {
    assertUserError(await train(['no-such.txt']), /No such file.*no-such\.txt/, { exit: 1 });
    assertUserError(await cli(['sample', 'no-such.safetensors']), /No such file.*no-such\.safetensors/, { exit: 1 });
  });

  test('an empty file', async () => {
    writeFileSync(at('empty.txt'), '');
    assertUserError(await train(['empty.txt']), /empty\.txt is empty/, { exit: 1 });
  });

  test('a file with NUL bytes', async () => {
    writeFileSync(at('nul.txt'), Buffer.from('some text\0more text '.repeat(20)));
    assertUserError(await train(['nul.txt']), /nul\.txt.*NUL byte at byte offset 9/, { exit: 1 });
  });

  test('invalid UTF-8', async () => {
    // Bytes 0-4 are 'hello'; 0xC3 at 5 starts a two-byte sequence and 0x28 '(' at 6 cannot continue it:
    // the bad byte is 0xC3 (the valid '(' after it was named before).
    writeFileSync(at('latin.txt'), Buffer.concat([Buffer.from('hello'), Buffer.from([0xc3, 0x28]), Buffer.from(' world'.repeat(30))]));
    assertUserError(await train(['latin.txt']), /latin\.txt is not valid UTF-8 text: the byte 0xC3 at offset 5 /, { exit: 1 });
  });

  test('text shorter than one batch', async () => {
    // 4 streams of 16 steps need 65 training characters; 20 characters are nowhere near.
    writeFileSync(at('short.txt'), 'just twenty chars!!\n');
    assertUserError(await train(['short.txt']), /too short.*65 characters/, { exit: 1 });
  });

  test('an unknown flag', async () => {
    assertUserError(await train(['corpus.txt'], '--hiden', '32'), /^charrnn: unknown option '--hiden' \(did you mean --hidden\?\)\.$/, {
      exit: 2,
    });
    assertUserError(await cli(['sample', model(), '--lenght', '5']), /^charrnn: unknown option '--lenght' \(did you mean --length\?\)\.$/, {
      exit: 2,
    });
  });

  test('out-of-range values', async () => {
    // The run layer's sentences (src/run/setting-ranges.ts), in flag words.
    assertUserError(await train(['corpus.txt'], '--hidden', '-5'), /^charrnn: --hidden must be a whole number, 1 or more, not -5\.$/, {
      exit: 2,
    });
    assertUserError(await train(['corpus.txt'], '--hidden', 'many'), /--hidden.*'many'.*It must be a whole number, 1 or more\.$/, {
      exit: 2,
    });
    assertUserError(
      await train(['corpus.txt'], '--dropout', '1'),
      /^charrnn: --dropout must be a number from 0 \(none\) up to \(not including\) 1, not 1\.$/,
      { exit: 2 },
    );
    assertUserError(await train(['corpus.txt'], '--steps', '0'), /^charrnn: --steps must be a whole number, 1 or more, not 0\.$/, {
      exit: 2,
    });
    assertUserError(
      await cli(['train', 'corpus.txt', ...TINY, '--seconds', '5', '--minutes', '1', '--out', 'saved']),
      /--seconds.*cannot be used with.*--minutes/,
      { exit: 2 },
    );
    assertUserError(await train(['corpus.txt'], '--patience', '3', '--val-frac', '0'), /--patience counts validations.*--val-frac 0/, {
      exit: 1,
    });
    assertUserError(
      await cli(['sample', model(), '--temperature', '0']),
      /^charrnn: --temperature must be a number greater than 0 and at most 1000000, not 0\.$/,
      { exit: 2 },
    );
    assertUserError(await cli(['sample', model(), '--temperature', 'NaN']), /--temperature.*'NaN'/, { exit: 2 });
    assertUserError(await cli(['sample', model(), '--temperature', '-1']), /--temperature must be .*greater than 0.*, not -1\.$/, {
      exit: 2,
    });
    assertUserError(await cli(['sample', model(), '--top-p', 'NaN']), /--top-p.*'NaN'/, { exit: 2 });
    assertUserError(await cli(['sample', model(), '--length', '-5']), /--length must be .*, not -5\.$/, { exit: 2 });
    assertUserError(await cli(['sample', model(), '--top-p', '0']), /--top-p must be .*, not 0\.$/, { exit: 2 });
    assertUserError(await cli(['sample', model(), '--top-p', '1.5']), /--top-p must be .*at most 1, not 1\.5\.$/, { exit: 2 });
    assertUserError(await cli(['sample', model(), '--length', '2.5']), /--length must be a whole number.*, not 2\.5\.$/, { exit: 2 });
    assertUserError(await cli(['sample', model(), '--beam', '0']), /--beam must be .*, not 0\.$/, { exit: 2 });
  });

  test('conflicting sample flags: one sentence, exit 2', async () => {
    assertUserError(
      await cli(['sample', model(), '--greedy', '--temperature', '0.5']),
      /^charrnn: --greedy always takes the most likely character, so it cannot go with --temperature\.$/,
      { exit: 2 },
    );
    assertUserError(
      await cli(['sample', model(), '--beam', '2', '--top-k', '3', '--seed', '2']),
      /^charrnn: --beam searches .* cannot go with --top-k or --seed\.$/,
      { exit: 2 },
    );
    assertUserError(await cli(['sample', model(), '--beam', '2', '--count', '2']), /--beam .* --count/, { exit: 2 });
  });

  test('a truncated model file', async () => {
    const bytes = readFileSync(model());
    writeFileSync(at('cut-data.safetensors'), bytes.subarray(0, bytes.length - 100)); // header whole, data short
    writeFileSync(at('cut-header.safetensors'), bytes.subarray(0, 100)); // header cut
    writeFileSync(at('cut-length.safetensors'), bytes.subarray(0, 5)); // not even the 8-byte length
    for (const f of ['cut-data', 'cut-header', 'cut-length']) {
      assertUserError(await cli(['sample', `${f}.safetensors`]), new RegExp(`${f}\\.safetensors is not a valid safetensors file`), {
        exit: 1,
      });
      assertUserError(
        await cli(['eval', `${f}.safetensors`, 'corpus.txt']),
        new RegExp(`${f}\\.safetensors is not a valid safetensors file`),
        { exit: 1 },
      );
    }
  });

  test('a model file that is not safetensors', async () => {
    // Fixed pseudo-random bytes (a linear congruential generator), so a failure is reproducible.
    const noise = new Uint8Array(4096);
    let s = 12345;
    for (let i = 0; i < noise.length; i++) noise[i] = (s = (s * 1103515245 + 12345) >>> 0) >>> 24;
    writeFileSync(at('noise.safetensors'), noise);
    assertUserError(await cli(['sample', 'noise.safetensors']), /noise\.safetensors is not a valid safetensors file/, { exit: 1 });
    assertUserError(await cli(['sample', 'corpus.txt']), /corpus\.txt is not a valid safetensors file/, { exit: 1 });
  });

  test('a model file missing a tensor', async () => {
    const { tensors, metadata } = decodeSafetensors(readFileSync(model()), 'model');
    assert.ok(tensors.has('out.bias'));
    const kept = [...tensors].filter(([name]) => name !== 'out.bias').map(([name, t]) => ({ name, ...t }));
    writeFileSync(at('no-bias.safetensors'), encodeSafetensors(kept, metadata));
    assertUserError(await cli(['sample', 'no-bias.safetensors']), /no-bias\.safetensors.*tensor out\.bias is missing/, { exit: 1 });
    assertUserError(await cli(['eval', 'no-bias.safetensors', 'corpus.txt']), /tensor out\.bias is missing/, { exit: 1 });
  });

  test('a prime with characters the model has never seen names them; --unknown skip goes on', async () => {
    const prime = 'the ✨cat é';
    const r = await cli(['sample', model(), '--prime', prime, '--length', '10']);
    assertUserError(r, /never seen/, { exit: 1 });
    assert.match(r.stderr, /"✨" \(U\+2728\)/);
    assert.match(r.stderr, /"é" \(U\+00E9\)/);
    assert.equal(r.stdout, '', 'nothing is generated before the error');

    // The prime is printed as the model read it: without the characters skipped.
    const out = await ok(['sample', model(), '--prime', prime, '--length', '10', '--unknown', 'skip']);
    assert.ok(out.startsWith('the cat '), out);
    assert.equal(codePoints(out.slice('the cat '.length, -1)), 10);
  });

  test('an --out that is a file, or lies under one', async () => {
    assertUserError(await train(['corpus.txt'], '--out', 'corpus.txt'), /^charrnn: corpus\.txt is a file, not a folder\.$/, { exit: 1 });
    assertUserError(await train(['corpus.txt'], '--out', 'corpus.txt/run'), /^charrnn: A part of corpus\.txt\/run is not a folder\.$/, {
      exit: 1,
    });
  });

  test('a run that diverges stops with a sentence and leaves the saved run as it was', async () => {
    // Adam moves every weight by about lr per step: 1e38 overflows float32 at once.
    const r = await cli([
      'train',
      'corpus.txt',
      '--resume',
      'saved',
      '--lr',
      '1e38',
      '--steps',
      '40',
      '--backend',
      'reference',
      '--no-plot',
    ]);
    // Nothing was saved after the resume: what is on disk is the run as it was at step 20.
    assertUserError(
      r,
      /^charrnn: Training diverged at step 2\d: the (loss|gradient norm) became (NaN|-?Infinity) \(the model and checkpoint of step 20 are kept\); try a smaller learning rate\.$/,
      { exit: 1 },
    );
    const log = readFileSync(join(saved(), 'log.jsonl'), 'utf8');
    assert.match(log, /"event":"note".*"message":"the learning rate changes from 0.002 to 1e\+38 at step 20"/);
    assert.match(log, /"event":"stopped".*"reason":"diverged"/);
  });

  test('a new run into a folder that holds one is refused; --force replaces it', async () => {
    assertUserError(
      await train(['corpus.txt']),
      /^charrnn: saved holds a run already; continue it with --resume saved, give another --out, or --force to replace it\.$/,
      { exit: 1 },
    );
    await ok(['train', 'corpus.txt', ...TINY, '--steps', '3', '--val-every', '0', '--sample-length', '0', '--out', 'forced']);
    await ok(['train', 'corpus.txt', ...TINY, '--steps', '2', '--val-every', '0', '--sample-length', '0', '--out', 'forced', '--force']);
    const path = at('forced/model.safetensors');
    assert.equal((JSON.parse(decodeSafetensors(readFileSync(path), path).metadata.training) as { steps: number }).steps, 2);
  });

  test('eval on a text with no two characters the model knows', async () => {
    writeFileSync(at('alien.txt'), 'Ωж');
    assertUserError(await cli(['eval', model(), 'alien.txt']), /at least 2 characters the model knows.*2 unknown/, { exit: 1 });
  });
});

describe('determinism', () => {
  const run = async (out: string, seed: string): Promise<void> => {
    await ok(['train', 'corpus.txt', ...TINY, '--steps', '15', '--val-every', '0', '--sample-length', '0', '--seed', seed, '--out', out]);
  };

  test('the same seed, flags and data give a byte-identical model; another seed different weights', async () => {
    await run('det-a', '5');
    await run('det-b', '5');
    await run('det-c', '6');
    const a = sha256(at('det-a/model.safetensors'));
    assert.equal(sha256(at('det-b/model.safetensors')), a);
    assert.notEqual(sha256(at('det-c/model.safetensors')), a);
    // The seed is also in the metadata, so compare weights too: the difference must not be the label alone.
    const wa = decodeSafetensors(readFileSync(at('det-a/model.safetensors')), 'a').tensors;
    const wc = decodeSafetensors(readFileSync(at('det-c/model.safetensors')), 'c').tensors;
    for (const [name, t] of wa) assert.notDeepEqual(wc.get(name)?.data, t.data, `${name} is the same under another seed`);
  });
});

describe('learning', () => {
  test('an LSTM learns "abcd" repeated: low validation loss, greedy continues the cycle', async () => {
    writeFileSync(at('abcd.txt'), 'abcd'.repeat(500));
    const lines = jsonLines(
      await ok([
        'train',
        'abcd.txt',
        '--cell',
        'lstm',
        '--layers',
        '1',
        '--hidden',
        '32',
        '--emb',
        '8',
        '--batch',
        '4',
        '--seq',
        '16',
        '--steps',
        '150',
        '--val-every',
        '50',
        '--sample-length',
        '0',
        '--no-plot',
        '--out',
        'abcd',
        '--json',
      ]),
    );
    const result = lines[lines.length - 1];
    // Guessing among 4 characters costs ln 4 = 1.386 nats; the sequence is deterministic, so
    // a model that learned it approaches 0 (about 0.02 after 150 steps when this was written).
    assert.equal(typeof result.val_loss, 'number');
    assert.ok((result.val_loss as number) < 0.5, `validation loss ${result.val_loss}`);

    const out = await ok(['sample', at('abcd/model.safetensors'), '--prime', 'abc', '--greedy', '--length', '13']);
    assert.equal(out, 'abc' + 'dabcdabcdabcd' + '\n');
  });

  test('without a prime or a newline in the vocabulary, sample still prints exactly --length characters', async () => {
    // The model starts from a random character here; that character is one of the --length.
    for (const seed of ['1', '2', '3']) {
      const out = await ok(['sample', at('abcd/model.safetensors'), '--length', '9', '--seed', seed]);
      assert.equal(codePoints(out.slice(0, -1)), 9, JSON.stringify(out));
    }
  });
});

describe('resume', () => {
  const flags = ['corpus.txt', ...RESUME_MODEL, '--val-every', '10', '--checkpoint-every', '10', '--sample-length', '0', '--no-plot'];

  test('a run stopped and resumed ends byte-identical to one that never stopped', async () => {
    await ok(['train', ...flags, '--steps', '40', '--out', 'straight']);
    await ok(['train', ...flags, '--steps', '20', '--out', 'resumed']);
    const out = await ok(['train', 'corpus.txt', '--resume', '--steps', '40', '--out', 'resumed', '--sample-length', '0', '--no-plot']);
    assert.match(out, /^resuming a 2x16 LSTM .* at step 20 of 40/m);
    for (const f of ['model.safetensors', 'best.safetensors', 'checkpoint.safetensors']) {
      assert.equal(sha256(at(`resumed/${f}`)), sha256(at(`straight/${f}`)), `${f} differs after resuming`);
    }
  });

  // Every training technique at once: warm-up + cosine (its length fixed in the settings), AdamW,
  // the moving average (validated, saved, and checkpointed), embedding dropout, spread validation windows.
  const techniques = [
    ...flags,
    '--lr-schedule',
    'cosine',
    '--warmup',
    '5',
    '--lr-min',
    '1e-4',
    '--schedule-steps',
    '40',
    '--weight-decay',
    '0.1',
    '--ema',
    '0.9',
    '--emb-dropout',
    '0.2',
    '--val-split',
    'spread',
  ];

  test('with every training technique on, a run stopped and resumed ends byte-identical to one that never stopped', async () => {
    await ok(['train', ...techniques, '--steps', '40', '--out', 'tech-straight']);
    await ok(['train', ...techniques, '--steps', '20', '--out', 'tech-resumed']);
    await ok(['train', 'corpus.txt', '--resume', '--steps', '40', '--out', 'tech-resumed', '--sample-length', '0', '--no-plot']);
    for (const f of ['model.safetensors', 'best.safetensors', 'checkpoint.safetensors']) {
      assert.equal(sha256(at(`tech-resumed/${f}`)), sha256(at(`tech-straight/${f}`)), `${f} differs after resuming`);
    }
    const path = at('tech-straight/checkpoint.safetensors');
    const { metadata, tensors } = decodeSafetensors(readFileSync(path), path);
    const settings = (JSON.parse(metadata.training) as { run: { settings: Record<string, unknown> } }).run.settings;
    assert.deepEqual(
      [
        settings.lrSchedule,
        settings.warmup,
        settings.lrMin,
        settings.scheduleSteps,
        settings.weightDecay,
        settings.ema,
        settings.embDropout,
        settings.valSplit,
      ],
      ['cosine', 5, 1e-4, 40, 0.1, 0.9, 0.2, 'spread'],
    );
    // The checkpoint keeps the average beside the raw weights; the model file holds the average.
    const ema = tensors.get('train.ema')!.data;
    const model = decodeSafetensors(readFileSync(at('tech-straight/model.safetensors')), 'model').tensors;
    const emb = model.get('emb.weight')!.data;
    assert.deepEqual(emb, ema.subarray(0, emb.length));
    assert.notDeepEqual(emb, tensors.get('emb.weight')!.data);
    // A model file stays what PyTorch loads: no training-only tensors, no embedding dropout in its config.
    assert.deepEqual(
      [...model.keys()].filter(k => k.startsWith('train.')),
      [],
    );
  });

  test('training techniques refuse combinations that cannot work, in one sentence', async () => {
    assertUserError(
      await cli(['train', ...flags, '--lr-schedule', 'cosine', '--seconds', '5', '--out', 'bad']),
      /cosine with only --seconds needs --schedule-steps/,
    );
    assertUserError(
      await cli(['train', ...flags, '--lr-schedule', 'cosine', '--lr-decay-every', '10', '--steps', '5', '--out', 'bad']),
      /--lr-decay-every belongs to --lr-schedule step/,
    );
    assertUserError(
      await cli(['train', ...flags, '--optimizer', 'sgd', '--weight-decay', '0.1', '--steps', '5', '--out', 'bad']),
      /needs --optimizer adam/,
    );
    assertUserError(
      await cli(['train', ...flags, '--lr-schedule', 'cosine', '--lr-min', '1', '--steps', '5', '--out', 'bad']),
      /^charrnn: --lr-min 1 is above --lr 0\.002, and a cosine schedule falls from --lr to --lr-min; give a --lr-min of 0\.002 or less\.$/,
    );
    assertUserError(await cli(['train', ...flags, '--ema', '1', '--steps', '5', '--out', 'bad']), /--ema/);
    assertUserError(
      await cli([
        'train',
        ...flags,
        '--lr-schedule',
        'cosine',
        '--schedule-steps',
        '40',
        '--schedule-end',
        'deadline',
        '--steps',
        '5',
        '--out',
        'bad',
      ]),
      /^charrnn: --schedule-end deadline ends the schedule when the time budget does; give --seconds or --minutes, or leave --schedule-end out\.$/,
    );
    assertUserError(
      await cli(['train', ...flags, '--schedule-end', 'deadline', '--seconds', '5', '--out', 'bad']),
      /^charrnn: --schedule-end deadline re-plans a cosine schedule, not step; give --lr-schedule cosine or leave --schedule-end out\.$/,
    );
    assert.ok(!existsSync(at('bad/model.safetensors')));
  });

  test('resuming refuses a changed setting, other text, or a folder with no run', async () => {
    assertUserError(await cli(['train', 'corpus.txt', '--resume', '--hidden', '32', '--out', 'resumed']), /keeps its settings.*--hidden/);
    assertUserError(await cli(['train', 'corpus.txt', '--resume', 'resumed', '--force']), /--force.*cannot be used with.*--resume/);
    writeFileSync(at('other.txt'), 'something else entirely, '.repeat(40));
    assertUserError(await cli(['train', 'other.txt', '--resume', '--out', 'resumed']), /text differs/);
    assertUserError(
      await cli(['train', 'corpus.txt', '--resume', '--out', 'no-such-run']),
      /No run to resume: no-such-run is not a folder/,
    );
  });
});

describe('watching a run', () => {
  test('--quiet prints only the final line', async () => {
    const out = await ok([
      'train',
      'corpus.txt',
      ...TINY,
      '--steps',
      '12',
      '--val-every',
      '5',
      '--sample-length',
      '20',
      '--out',
      'quiet',
      '--quiet',
    ]);
    assert.match(out, /^done at step 12 after 12 steps \(.*\); best validation loss [0-9.]+; saved in quiet\n$/);
  });

  test('off a terminal, plain lines: the events, and progress at --print-every', async () => {
    const out = await ok([
      'train',
      'corpus.txt',
      ...TINY,
      '--steps',
      '12',
      '--val-every',
      '6',
      '--print-every',
      '4',
      '--sample-every',
      '5',
      '--sample-length',
      '15',
      '--sample-prime',
      'the',
      '--out',
      'plain',
    ]);
    const lines = out.split('\n');
    assert.match(lines[0], /^training a 1x16 LSTM .* on corpus\.txt: .* stops at step 12; saving to plain$/);
    assert.deepEqual(
      lines.filter(l => /^step \d+\/12 /.test(l)).map(l => Number(/^step (\d+)/.exec(l)![1])),
      [1, 4, 8, 12],
    );
    assert.deepEqual(
      lines.filter(l => /^step \d+ {2}validation loss/.test(l)).map(l => Number(/^step (\d+)/.exec(l)![1])),
      [6, 12],
    );
    // --sample-every 5: samples at steps 5 and 10, each starting with the prime, 15 characters after it.
    const samples = [...out.matchAll(/^--- sample at step (\d+) \(temperature 0\.8\) ---\n(.*)\n---$/gmu)];
    assert.deepEqual(
      samples.map(m => Number(m[1])),
      [5, 10],
    );
    for (const m of samples) {
      assert.ok(m[2].startsWith('the'));
      assert.equal(codePoints(m[2]) - 3, 15);
    }
    assert.match(out, /^stopping at step 12: reached --steps 12$/m);
    assert.match(out, /^done at step 12 after 12 steps/m);
    // Progress lines carry elapsed time and an ETA.
    assert.match(
      lines.find(l => /^step 4\/12 /.test(l))!,
      /\d+:\d\d elapsed {2}ETA \d+:\d\d$/,
    );
  });

  test('a sample prime the text lacks is refused before training', async () => {
    assertUserError(
      await cli(['train', 'corpus.txt', ...TINY, '--steps', '5', '--sample-prime', 'Zebra', '--out', 'bad-prime']),
      /"Z"|Zebra/,
      { exit: 1 },
    );
    assert.ok(!existsSync(at('bad-prime/model.safetensors')));
  });
});

describe('embedded corpus', () => {
  test('--corpus moby-dick trains without a data file', async () => {
    const lines = jsonLines(
      await ok([
        'train',
        '--corpus',
        'moby-dick',
        '--steps',
        '2',
        '--batch',
        '2',
        '--seq',
        '8',
        '--hidden',
        '8',
        '--layers',
        '1',
        '--emb',
        '4',
        '--sample-length',
        '20',
        '--no-plot',
        '--out',
        'moby',
        '--json',
      ]),
    );
    const corpus = lines[0].corpus as Record<string, unknown>;
    assert.equal(corpus.source, 'moby-dick');
    assert.ok((corpus.chars as number) > 1_000_000, 'the whole novel');
    const result = lines[lines.length - 1];
    assert.equal(result.step, 2);
    assert.equal(codePoints(result.sample as string), 20);
    assert.ok(existsSync(at('moby/model.safetensors')));
  });
});

describe('the program, spawned: exit codes as a shell sees them (a smoke test of main.ts)', () => {
  const program = spawnCliRunner(() => dir, ENV);
  test('0 on success, 1 for bad input, 2 for a bad flag; the message is one line on stderr', () => {
    program.ok(['train', 'corpus.txt', ...TINY, '--steps', '2', '--val-every', '0', '--sample-length', '0', '--out', 'smoke']);
    assert.match(program.ok(['sample', 'smoke/model.safetensors', '--length', '5', '--prime', 'the']), /^the.{5}\n$/su);
    assertUserError(program.cli(['train', 'no-such.txt', ...TINY, '--out', 'smoke-missing']), /No such file.*no-such\.txt/, { exit: 1 });
    assertUserError(
      program.cli(['train', 'corpus.txt', '--hiden', '32']),
      /^charrnn: unknown option '--hiden' \(did you mean --hidden\?\)\.$/,
      { exit: 2 },
    );
    assertUserError(program.cli(['sample', 'smoke/model.safetensors', '--greedy', '--temperature', '0.5']), /--greedy .* --temperature/, {
      exit: 2,
    });
    assert.match(program.ok(['--version']), /^\d+\.\d+\.\d+\n$/);
  });
});
