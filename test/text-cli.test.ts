// Real-world text through the real command line: encodings, normalisation, the
// unknown symbol, standard input and folders, eval's unknown share, model
// files that must not be used as they are, and sizes that cannot fit. Each case
// runs the CLI in-process on files in a fresh temp folder and checks only what a
// user sees (exit code, stdout, stderr, the files written).
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { decodeSafetensors, encodeSafetensors } from '../src/model/safetensors.js';
import { cliRunner, TINY as TINY_RUN, type CliResult } from './cli-runner.js';

const ENV = { CHARRNN_BACKEND: 'reference', CHARRNN_DEBUG: '' };
const TINY = [...TINY_RUN, '--steps', '3', '--val-every', '0', '--sample-length', '0'];

let dir: string;
const at = (name: string): string => join(dir, name);

const { cli } = cliRunner(() => dir, ENV);

async function ok(args: string[], input?: string | Uint8Array): Promise<CliResult> {
  const r = await cli(args, input);
  assert.equal(r.status, 0, `charrnn ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return r;
}

/** One line on stderr, "charrnn: ..." matching `says`, a non-zero exit that is not 70 (an internal error), no stack trace. */
function assertUserError(r: CliResult, says: RegExp, exit = 1): void {
  const lines = r.stderr.split('\n');
  assert.equal(lines.pop(), '', `stderr must end with a newline: ${JSON.stringify(r.stderr)}`);
  assert.equal(r.status, exit, r.stderr);
  assert.ok(!/^\s+at /m.test(r.stderr), `stack trace on stderr: ${r.stderr}`);
  assert.equal(lines.length, 1, `expected one line on stderr, got ${JSON.stringify(r.stderr)}`);
  assert.match(lines[0], /^charrnn: \S/);
  assert.match(lines[0], says);
}

const modelFile = (out: string): { vocab: string[]; normalize: string; tensors: Map<string, { shape: number[]; data: Float32Array }> } => {
  const path = at(`${out}/model.safetensors`);
  const { tensors, metadata } = decodeSafetensors(readFileSync(path), path);
  return { vocab: JSON.parse(metadata.vocab) as string[], normalize: metadata.normalize, tensors };
};

// French mail text: é, è, à, ç, ô, all in Latin-1.
const FRENCH = 'Chère amie, à bientôt: ça va très bien, merci! Le café est prêt.\n'.repeat(8);
const latin1 = (s: string): Uint8Array => Uint8Array.from(s, c => c.charCodeAt(0));
function utf16le(s: string, bom = true): Uint8Array {
  const out = new Uint8Array((s.length + (bom ? 1 : 0)) * 2);
  const units = [...(bom ? [0xfeff] : []), ...Array.from({ length: s.length }, (_, i) => s.charCodeAt(i))];
  units.forEach((u, i) => {
    out[2 * i] = u & 0xff;
    out[2 * i + 1] = u >> 8;
  });
  return out;
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'charrnn-text-cli-'));
  writeFileSync(at('utf8.txt'), FRENCH);
  writeFileSync(at('latin1.txt'), latin1(FRENCH));
  writeFileSync(at('utf16.txt'), utf16le(FRENCH));
  writeFileSync(at('utf16-nobom.txt'), utf16le(FRENCH, false));
});

after(() => rmSync(dir, { recursive: true, force: true }));

describe('encodings', () => {
  test('Latin-1 is refused as UTF-8 naming the first é and its offset; --encoding latin1 trains the same model as the UTF-8 file', async () => {
    assertUserError(
      await cli(['train', 'latin1.txt', ...TINY, '--out', 'l1']),
      /^charrnn: latin1\.txt is not valid UTF-8 text: the byte 0xE8 at offset 2 does not begin a valid UTF-8 sequence \(bytes there: E8 72 65 20\); give --encoding/,
    );
    await ok(['train', 'utf8.txt', ...TINY, '--out', 'u8']);
    await ok(['train', 'latin1.txt', '--encoding', 'latin1', ...TINY, '--out', 'l1']);
    await ok(['train', 'utf16.txt', ...TINY, '--out', 'u16']); // UTF-16 by its byte order mark
    const reference = modelFile('u8');
    for (const out of ['l1', 'u16']) {
      const m = modelFile(out);
      assert.deepEqual(m.vocab, reference.vocab, out);
      for (const [name, t] of reference.tensors) assert.deepEqual(m.tensors.get(name)!.data, t.data, `${out}: ${name}`);
    }
  });

  test('an unknown --encoding, and UTF-16 without a byte order mark, are one sentence each', async () => {
    assertUserError(
      await cli(['train', 'utf8.txt', '--encoding', 'klingon', ...TINY, '--out', 'x']),
      /^charrnn: Unknown encoding "klingon": /,
    );
    assertUserError(
      await cli(['train', 'utf16-nobom.txt', ...TINY, '--out', 'x']),
      /^charrnn: utf16-nobom\.txt looks like a binary file, not text: it has a NUL byte at byte offset 1 \(if it is UTF-16 without a byte order mark, give --encoding utf-16le or utf-16be\)\.$/,
    );
    await ok(['train', 'utf16-nobom.txt', '--encoding', 'utf-16le', ...TINY, '--out', 'x']);
  });

  test('--invalid replace turns bad bytes into U+FFFD, which the model learns but never generates', async () => {
    await ok(['train', 'latin1.txt', '--invalid', 'replace', ...TINY, '--out', 'replaced']);
    assert.ok(modelFile('replaced').vocab.includes('\ufffd'));
    const text = (await ok(['sample', 'replaced/model.safetensors', '--length', '3000', '--temperature', '3'])).stdout;
    assert.equal([...text].length, 3001); // and a newline
    assert.ok(!text.includes('\ufffd'));
  });
});

describe('normalisation', () => {
  test("the form is stored (NFC by default); a prime typed decomposed finds the model's é", async () => {
    await ok(['train', 'utf8.txt', ...TINY, '--out', 'nfc']);
    assert.equal(modelFile('nfc').normalize, 'nfc');
    const decomposed = 'Le cafe\u0301';
    const r = await ok(['sample', 'nfc/model.safetensors', '--prime', decomposed, '--length', '5']);
    assert.ok(r.stdout.startsWith('Le caf\u00e9'), 'the prime is printed as the model read it, in NFC');
    await ok(['train', 'utf8.txt', ...TINY, '--normalize', 'nfd', '--out', 'nfd']);
    const nfd = modelFile('nfd');
    assert.equal(nfd.normalize, 'nfd');
    assert.ok(nfd.vocab.includes('\u0301') && !nfd.vocab.includes('é'));
    await ok(['sample', 'nfd/model.safetensors', '--prime', 'café', '--length', '5']);
    assertUserError(await cli(['sample', 'nfc/model.safetensors', '--prime', 'caféZ']), /"Z" \(U\+005A\)/);
  });
});

describe('the unknown symbol and large vocabularies', () => {
  test('--max-vocab N keeps N symbols, U+FFFD among them, never generated', async () => {
    await ok(['train', 'utf8.txt', ...TINY, '--max-vocab', '6', '--out', 'mv']);
    const m = modelFile('mv');
    assert.equal(m.vocab.length, 6);
    assert.ok(m.vocab.includes('\ufffd'));
    assert.deepEqual(m.tensors.get('out.weight')!.shape, [6, 16]); // one more row, as PyTorch loads it
    const text = (await ok(['sample', 'mv/model.safetensors', '--length', '3000', '--temperature', '3', '--count', '2'])).stdout;
    assert.ok(!text.includes('\ufffd'));
  });

  test('a vocabulary over 10,000 characters trains with a warning that suggests --max-vocab', async () => {
    const cjk = Array.from({ length: 10_001 }, (_, i) => String.fromCodePoint(0x4e00 + i)).join('');
    writeFileSync(at('cjk.txt'), cjk + cjk);
    const r = await ok(['train', 'cjk.txt', ...TINY, '--out', 'cjk']);
    assert.match(r.stderr, /^charrnn: the text has 10,001 distinct characters, .*--max-vocab N/m);
  });
});

describe('inputs', () => {
  test('- reads standard input: the same model as the same text from a file', async () => {
    await ok(['train', '-', ...TINY, '--out', 'stdin'], FRENCH);
    await ok(['train', 'utf8.txt', ...TINY, '--out', 'file']);
    const a = modelFile('stdin'),
      b = modelFile('file');
    assert.deepEqual(a.vocab, b.vocab);
    for (const [name, t] of b.tensors) assert.deepEqual(a.tensors.get(name)!.data, t.data, name);
  });

  test('a run from standard input records it as such: resume and export-torch ask for the text again, piped resume goes on', async () => {
    await ok(['train', '-', ...TINY, '--out', 'piped'], FRENCH);
    assert.deepEqual(JSON.parse(readFileSync(at('piped/run.json'), 'utf8')).files, ['-']);
    assertUserError(
      await cli(['train', '--resume', 'piped', '--steps', '5']),
      /^charrnn: The run in piped read its text from standard input; pipe the same text again: cat FILE \| charrnn train - --resume piped\.$/,
    );
    assertUserError(
      await cli(['export-torch', 'piped']),
      /^charrnn: The run in piped read its text from standard input; export-torch cannot read it again, so give the same text as a file \(charrnn export-torch piped FILE\) or pipe it \(cat FILE \| charrnn export-torch piped -\)\.$/,
    );
    await ok(['train', '-', '--resume', 'piped', '--steps', '5'], FRENCH);
    await ok(['export-torch', 'piped', '-', '--to', 'piped-torch'], FRENCH);
    await ok(['export-torch', 'piped', 'utf8.txt', '--to', 'piped-torch']);
    // A run.json of before, with standard input as a path ending in /-, reads the same way.
    writeFileSync(at('piped/run.json'), readFileSync(at('piped/run.json'), 'utf8').replace('"-"', JSON.stringify(join(dir, '-'))));
    assertUserError(
      await cli(['train', '--resume', 'piped', '--steps', '6']),
      /^charrnn: The run in piped read its text from standard input; pipe the same text again/,
    );
  });

  test('a folder is read recursively, skipping binary files with a note', async () => {
    mkdirSync(at('mail/2024'), { recursive: true });
    writeFileSync(at('mail/a.txt'), FRENCH);
    writeFileSync(at('mail/2024/b.txt'), FRENCH);
    writeFileSync(at('mail/2024/logo.png'), Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]));
    const r = await ok(['train', 'mail', ...TINY, '--out', 'folder']);
    assert.match(r.stderr, /^charrnn: skipped 1 binary file: mail\/2024\/logo\.png$/m);
    assert.match(r.stdout, new RegExp(`on mail: ${(2 * FRENCH.length).toLocaleString('en')} characters`));
  });

  test('a link that leads nowhere inside a folder is skipped with a note, as a binary file is, not the end of the run', async () => {
    mkdirSync(at('linked'), { recursive: true });
    writeFileSync(at('linked/a.txt'), FRENCH);
    symlinkSync(at('linked/moved-away.txt'), at('linked/b.txt'));
    const r = await ok(['train', 'linked', ...TINY, '--out', 'linked-run']);
    assert.match(r.stderr, /^charrnn: skipped 1 link that leads nowhere: linked\/b\.txt$/m);
    assert.match(r.stdout, new RegExp(`on linked: ${FRENCH.length.toLocaleString('en')} characters`));
  });

  test('inspect and eval read a folder as train does: the same text as its files given one by one', async () => {
    mkdirSync(at('shelf/2024'), { recursive: true });
    writeFileSync(at('shelf/a.txt'), FRENCH);
    writeFileSync(at('shelf/2024/b.txt'), FRENCH.toUpperCase());
    writeFileSync(at('shelf/2024/logo.png'), Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]));
    symlinkSync(at('shelf/gone.txt'), at('shelf/link.txt'));
    // Train's order: code points of names, folders walked where they sort (2024/ before a.txt).
    const files = ['shelf/2024/b.txt', 'shelf/a.txt'];
    await ok(['train', ...files, ...TINY, '--out', 'shelf-run']);
    const folder = await ok(['inspect', 'shelf', '--out', '.']);
    const one = await ok(['inspect', ...files, '--out', '.']);
    assert.equal(folder.stdout.split('\n').slice(1, -2).join('\n'), one.stdout.split('\n').slice(1, -2).join('\n'));
    assert.match(folder.stdout, /^shelf\ncharacters/);
    assert.match(
      folder.stderr,
      /^charrnn: skipped 1 binary file: shelf\/2024\/logo\.png\ncharrnn: skipped 1 link that leads nowhere: shelf\/link\.txt\n$/,
    );
    const score = (r: CliResult): unknown => JSON.parse(r.stdout.trim().split('\n').pop()!);
    const byFolder = await ok(['eval', 'shelf-run/model.safetensors', 'shelf', '--json']);
    assert.deepEqual(score(byFolder), score(await ok(['eval', 'shelf-run/model.safetensors', ...files, '--json'])));
  });
});

describe('eval and model files', () => {
  before(async () => {
    await ok(['train', 'utf8.txt', ...TINY, '--out', 'ev', '--checkpoint-every', '1']);
  });

  test('more than 1% unknown text: a warning with the share, exit 0; --unknown error refuses', async () => {
    writeFileSync(at('greek.txt'), FRENCH + 'αβγ'.repeat(10)); // 30 of 558 characters
    const r = await ok(['eval', 'ev/model.safetensors', 'greek.txt']);
    assert.match(
      r.stderr,
      /^charrnn: 5\.\d% of the text \(30 characters\) is unknown to the model and was skipped: "α" \(U\+03B1\), "β" \(U\+03B2\), "γ" \(U\+03B3\)$/m,
    );
    assert.match(r.stdout, /nats\/char/);
    assertUserError(
      await cli(['eval', 'ev/model.safetensors', 'greek.txt', '--unknown', 'error']),
      /^charrnn: 5\.\d% of the text \(30 characters\) is unknown to the model: /,
    );
    assert.equal((await ok(['eval', 'ev/model.safetensors', 'utf8.txt'])).stderr, '');
  });

  test('counts of unknown characters have thousands separators; a run folder or a file where the other is expected is said', async () => {
    writeFileSync(at('greek-long.txt'), FRENCH + 'αβγ'.repeat(400)); // 1,200 unknown characters
    const r = await ok(['eval', 'ev/model.safetensors', 'greek-long.txt', '--unknown', 'skip']);
    assert.match(r.stdout, / \(1,200 unknown characters skipped, /);
    assertUserError(
      await cli(['sample', 'ev']),
      /^charrnn: ev is a run folder, not a model file: give ev\/model\.safetensors \(the latest model\) or ev\/best\.safetensors \(the best by validation loss\)\.$/,
    );
    assertUserError(await cli(['eval', 'ev', 'utf8.txt']), /^charrnn: ev is a run folder, not a model file: give ev\/model\.safetensors/);
    mkdirSync(at('nomodel'), { recursive: true });
    assertUserError(
      await cli(['sample', 'nomodel']),
      /^charrnn: nomodel is a folder, not a model file: give a \.safetensors file written by charrnn train\.$/,
    );
    assertUserError(
      await cli(['plot', 'utf8.txt']),
      /^charrnn: utf8\.txt is a file, not a run folder: give the --out folder of a charrnn train run\.$/,
    );
  });

  test('--unknown skip: the prime is printed as the model read it, in its normalisation form and without the skipped characters', async () => {
    const r = await ok(['sample', 'ev/model.safetensors', '--prime', 'Zébra€ à', '--unknown', 'skip', '--length', '5', '--seed', '2']);
    // Z and € are not in the French text; é, b, r, a, space and à are.
    assert.ok(r.stdout.startsWith('ébra à'), JSON.stringify(r.stdout));
    assert.equal([...r.stdout.slice('ébra à'.length, -1)].length, 5);
    // A decomposed é is read (and printed) as the NFC é the model knows.
    assert.ok((await ok(['sample', 'ev/model.safetensors', '--prime', 'e\u0301', '--length', '1'])).stdout.startsWith('é'));
  });

  test('a model file holding NaN is refused by sample and eval, naming the tensor', async () => {
    const path = at('ev/model.safetensors');
    const { tensors, metadata } = decodeSafetensors(readFileSync(path), path);
    const broken = [...tensors].map(([name, t]) => ({ name, ...t, data: name === 'out.weight' ? t.data.map(() => NaN) : t.data }));
    writeFileSync(at('nan.safetensors'), encodeSafetensors(broken, metadata));
    const says =
      /^charrnn: nan\.safetensors is not a usable charrnn model: tensor out\.weight holds NaN at index 0 \(every weight must be a finite number\)\.$/;
    assertUserError(await cli(['sample', 'nan.safetensors']), says);
    assertUserError(await cli(['eval', 'nan.safetensors', 'utf8.txt']), says);
  });

  test('a training checkpoint where a model is expected is read as the model it holds', async () => {
    const fromCheckpoint = (await ok(['sample', 'ev/checkpoint.safetensors', '--length', '50', '--seed', '3'])).stdout;
    assert.equal(fromCheckpoint, (await ok(['sample', 'ev/model.safetensors', '--length', '50', '--seed', '3'])).stdout);
    assert.equal(
      (await ok(['eval', 'ev/checkpoint.safetensors', 'utf8.txt'])).stdout,
      (await ok(['eval', 'ev/model.safetensors', 'utf8.txt'])).stdout,
    );
  });
});

describe('sizes that cannot fit are refused before anything is allocated', () => {
  const train = (...flags: string[]): Promise<CliResult> => cli(['train', 'utf8.txt', ...TINY, '--out', 'big', ...flags]);
  const memory =
    /needs about [\d.]+ [KMGTPE]B of memory \(mostly .*\), and this machine has [\d.]+ [KMGTPE]B \([\d.]+ [KMGTPE]B available\); use a smaller/;

  test('train: --hidden, --emb, --layers, --batch, --seq, --sample-length', async () => {
    assertUserError(await train('--hidden', '100000'), memory);
    assertUserError(await train('--emb', '1000000000'), memory);
    assertUserError(await train('--layers', '1000000000'), memory);
    // Too much memory is said before the text is found too short (either is one sentence).
    assertUserError(await train('--batch', '100000000'), memory);
    assertUserError(await train('--seq', '1000000000'), memory);
    assertUserError(await train('--batch', '1000'), /^charrnn: The text is too short for --batch 1000 and --seq 16/);
    assertUserError(
      await train('--sample-length', '1000000000000'),
      /^charrnn: --sample-length 1000000000000 is longer than the longest text JavaScript can hold/,
    );
  });

  test('sample: --count, --beam and --length', async () => {
    await ok(['train', 'utf8.txt', ...TINY, '--out', 'small']);
    assertUserError(
      await cli(['sample', 'small/model.safetensors', '--count', '10000', '--length', '100000000']),
      /^charrnn: Generating 10000 texts of 100000000 characters needs about 4\.0 TB of memory \(mostly texts 4\.0 TB, .*use a smaller --count or --length\.$/,
    );
    assertUserError(
      await cli(['sample', 'small/model.safetensors', '--beam', '1000', '--length', '100000000']),
      /use a smaller --beam or --length\.$/,
    );
  });
});
