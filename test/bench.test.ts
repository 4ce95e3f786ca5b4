// `charrnn bench` as a user runs it (in-process; each measurement is a process of
// its own, as bench makes it): the protocol's small configuration on a
// small corpus, its JSON fields, and the PyTorch comparison's plumbing. The
// PyTorch side is played by a stand-in interpreter (CHARRNN_PYTHON) that prints
// fixed figures, so the ratios can be checked exactly and CI needs no PyTorch;
// the real torch_ref.py is what `npm run bench` runs. No speed is asserted:
// benchmarks are measured, not tested.
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { benchCommand } from '../src/cli/bench.js';
import { cliRunner, type CliResult } from './cli-runner.js';

let dir: string;

function bench(args: string[], env: Record<string, string> = {}, corpus = true): Promise<CliResult> {
  return cliRunner(() => dir, env).cli(['bench', ...(corpus ? ['--text', join(dir, 'corpus.txt')] : []), ...args]);
}

const rows = (stdout: string): Record<string, unknown>[] =>
  stdout
    .trim()
    .split('\n')
    .map(l => JSON.parse(l) as Record<string, unknown>);

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'charrnn-bench-'));
  // Enough text for B = 50 streams of T = 50 after the 10% validation split.
  const words = ['the', 'quick', 'brown', 'fox', 'jumps', 'over', 'a', 'lazy', 'dog', 'and', 'runs', 'away'];
  let text = '';
  for (let i = 0; text.length < 20_000; i++) text += words[(i * 7 + (i >> 3)) % words.length] + (i % 9 === 8 ? '.\n' : ' ');
  writeFileSync(join(dir, 'corpus.txt'), text);
  // The stand-in for python3: torch_generate.py reports 400 chars/s, the trainer 1,000 chars/s,
  // and the wrapper's own peak RSS line says 512 MiB.
  writeFileSync(
    join(dir, 'fake-python'),
    [
      '#!/bin/sh',
      'case "$*" in',
      '  *torch_generate.py*) echo \'{"generate_chars_per_s": 400}\' ;;',
      '  *) echo \'{"config": {}}\'; echo \'{"result": true, "chars_per_s": 1000}\' ;;',
      'esac',
      'echo \'{"peak_rss_bytes": 536870912}\'',
    ].join('\n') + '\n',
  );
  chmodSync(join(dir, 'fake-python'), 0o755);
  writeFileSync(join(dir, 'torch_ref.py'), '# stands in for the PyTorch reference trainer\n');
});

after(() => rmSync(dir, { recursive: true, force: true }));

describe('charrnn bench', () => {
  test('--json prints one row with the protocol figures', async () => {
    const r = await bench(['--config', 'small', '--backend', 'wasm', '--steps', '5', '--generate', '200', '--json']);
    assert.equal(r.status, 0, r.stderr);
    const [row, ...rest] = rows(r.stdout);
    assert.equal(rest.length, 0);
    assert.equal(row.config, 'small');
    assert.equal(row.backend, 'wasm');
    for (const k of ['train_chars_per_s', 'generate_chars_per_s', 'peak_rss_bytes']) {
      assert.ok(typeof row[k] === 'number' && Number.isFinite(row[k]) && (row[k] as number) > 0, `${k}: ${String(row[k])}`);
    }
    // A process that held a 2x128 LSTM and the corpus in memory: more than 10 MiB resident.
    assert.ok((row.peak_rss_bytes as number) > 10 * 2 ** 20);
  });

  test('--vs-pytorch prints the PyTorch row first, then ours with the ratios to it', async () => {
    const r = await bench(
      [
        '--config',
        'gru-small',
        '--backend',
        'wasm',
        '--steps',
        '4',
        '--generate',
        '50',
        '--json',
        '--vs-pytorch',
        join(dir, 'torch_ref.py'),
      ],
      { CHARRNN_PYTHON: join(dir, 'fake-python') },
    );
    assert.equal(r.status, 0, r.stderr);
    const [torch, ours, ...rest] = rows(r.stdout);
    assert.equal(rest.length, 0);
    assert.deepEqual(torch, {
      config: 'gru-small',
      backend: 'pytorch',
      train_chars_per_s: 1000,
      generate_chars_per_s: 400,
      peak_rss_bytes: 536870912,
    });
    assert.equal(ours.backend, 'wasm');
    const ratio = (a: unknown, b: number): number => Math.round(((a as number) / b) * 100) / 100;
    assert.equal(ours.train_vs_pytorch, ratio(ours.train_chars_per_s, 1000));
    assert.equal(ours.generate_vs_pytorch, ratio(ours.generate_chars_per_s, 400));
    assert.equal(ours.rss_vs_pytorch, ratio(ours.peak_rss_bytes, 536870912));
  });

  test('--repeat alternates the programs round by round, then prints the medians', async () => {
    const r = await bench(
      [
        '--config',
        'small',
        '--backend',
        'wasm',
        '--steps',
        '4',
        '--generate',
        '50',
        '--json',
        '--repeat',
        '3',
        '--vs-pytorch',
        join(dir, 'torch_ref.py'),
      ],
      { CHARRNN_PYTHON: join(dir, 'fake-python') },
    );
    assert.equal(r.status, 0, r.stderr);
    const all = rows(r.stdout);
    assert.deepEqual(
      all.map(x => `${String(x.round)} ${String(x.backend)}`),
      [
        'round 1 of 3 pytorch',
        'round 1 of 3 wasm',
        'round 2 of 3 pytorch',
        'round 2 of 3 wasm',
        'round 3 of 3 pytorch',
        'round 3 of 3 wasm',
        'median of 3 pytorch',
        'median of 3 wasm',
      ],
    );
    const ours = all.filter(x => x.backend === 'wasm');
    const middle = (k: string): number =>
      ours
        .slice(0, 3)
        .map(x => x[k] as number)
        .sort((a, b) => a - b)[1];
    assert.equal(all[6].train_chars_per_s, 1000);
    for (const k of [
      'train_chars_per_s',
      'generate_chars_per_s',
      'peak_rss_bytes',
      'train_vs_pytorch',
      'generate_vs_pytorch',
      'rss_vs_pytorch',
    ]) {
      assert.equal(ours[3][k], middle(k), k);
    }
  });

  test('bad flags and a missing PyTorch reference get one sentence, before anything runs', async () => {
    for (const [args, says] of [
      [['--steps', '3'], /--steps.*'3'.*more than 3/],
      [['--backend', 'gpu'], /--backend.*'gpu'.*Allowed choices/],
      [['--config', 'huge'], /--config.*'huge'/],
      [['--repeat', '0'], /--repeat.*'0'/],
      [['--vs-pytorch', join(dir, 'nowhere.py')], /PyTorch reference .*nowhere\.py does not exist/],
      [['--text', join(dir, 'nowhere.txt')], /benchmark corpus .*nowhere\.txt does not exist/],
    ] as const) {
      const r = await bench([...args]);
      assert.notEqual(r.status, 0, args.join(' '));
      assert.match(r.stderr, /^charrnn: [^\n]+\n$/, `one line for ${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, says);
      assert.equal(r.stdout, '');
    }
  });

  test('a text bench cannot use is one sentence whose advice names only flags bench has', async () => {
    // bench's own flags, from the command itself: the advice may name these and no others.
    const flags = new Set(
      benchCommand({ stdout: { write: () => true }, stderr: { write: () => true }, env: {} }, { code: 0 }).options.map(o => o.long),
    );
    writeFileSync(join(dir, 'latin1.txt'), Buffer.from('caf\xe9 au lait\n'.repeat(200), 'latin1'));
    writeFileSync(join(dir, 'nul.txt'), Uint8Array.from([0x61, 0x00, 0x62]));
    writeFileSync(join(dir, 'short.txt'), 'too short\n');
    for (const [file, says] of [
      [
        'latin1.txt',
        /^charrnn: \S*latin1\.txt is not valid UTF-8 text: the byte 0xE9 at offset 3 .*; the benchmark reads UTF-8 text \(or UTF-16 with a byte order mark\): give such a corpus with --text\.\n$/,
      ],
      [
        'nul.txt',
        /^charrnn: \S*nul\.txt looks like a binary file, not text: it has a NUL byte at byte offset 1; the benchmark reads UTF-8 text/,
      ],
      [
        'short.txt',
        /^charrnn: The benchmark corpus \S*short\.txt is too short for the small configuration: its 50 streams of 50 characters need a text of at least 2,779 characters, and it has 10; give a longer text with --text/,
      ],
    ] as const) {
      const r = await bench(['--text', join(dir, file), '--steps', '5', '--generate', '10']);
      assert.equal(r.status, 1, r.stderr);
      assert.match(r.stderr, /^charrnn: [^\n]+\n$/, `one line for ${file}: ${r.stderr}`);
      assert.match(r.stderr, says);
      for (const named of r.stderr.match(/--[a-z][a-z-]*/g) ?? []) assert.ok(flags.has(named), `bench has no ${named}: ${r.stderr}`);
    }
  });

  test('a folder is read as train reads it: recursively, a link that leads nowhere skipped with a note', async () => {
    mkdirSync(join(dir, 'texts', 'more'), { recursive: true });
    const text = readFileSync(join(dir, 'corpus.txt'), 'utf8');
    writeFileSync(join(dir, 'texts', 'a.txt'), text.slice(0, 10_000));
    writeFileSync(join(dir, 'texts', 'more', 'b.txt'), text.slice(10_000));
    symlinkSync(join(dir, 'texts', 'deleted.txt'), join(dir, 'texts', 'gone.txt'));
    const r = await bench([
      '--text',
      join(dir, 'texts'),
      '--config',
      'small',
      '--backend',
      'wasm',
      '--steps',
      '5',
      '--generate',
      '50',
      '--json',
    ]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(rows(r.stdout)[0].config, 'small');
    assert.match(r.stderr, new RegExp(`^charrnn: skipped 1 link that leads nowhere: ${join(dir, 'texts', 'gone.txt')}$`, 'm'));
  });

  test("the corpus and the PyTorch reference are flags: no path into this repository's neighbours is assumed", async () => {
    const noText = await bench(['--config', 'small'], {}, false);
    assert.equal(noText.status, 1);
    assert.equal(
      noText.stderr,
      'charrnn: charrnn bench needs a corpus: give its path with --text (the protocol uses tinyshakespeare.txt).\n',
    );
    const noPath = await bench(['--vs-pytorch']);
    assert.notEqual(noPath.status, 0);
    assert.match(noPath.stderr, /^charrnn: [^\n]*--vs-pytorch[^\n]*\n$/);
    assert.equal(noPath.stdout, '');
  });
});
