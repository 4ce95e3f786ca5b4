// Line mode from the command line: training on the embedded names corpus,
// evaluating the line model, resuming, and the bad inputs of --lines.
import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { lineModelInfo } from '../src/model/line-model.js';
import { decodeModel } from '../src/model/model-file.js';

const MAIN = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const ENV = { ...process.env, CHARRNN_BACKEND: 'reference', CHARRNN_DEBUG: '' };
const TINY = ['--layers', '1', '--hidden', '16', '--emb', '8', '--batch', '8', '--backend', 'reference', '--sample-length', '0'];

let dir: string;
const at = (name: string): string => join(dir, name);

function cli(args: string[]): SpawnSyncReturns<string> {
  const r = spawnSync(process.execPath, [MAIN, ...args], { cwd: dir, env: ENV, encoding: 'utf8', timeout: 60_000 });
  if (r.error) throw r.error;
  return r;
}

function ok(args: string[]): string {
  const r = cli(args);
  assert.equal(r.status, 0, `charrnn ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return r.stdout;
}

function assertUserError(r: SpawnSyncReturns<string>, says: RegExp): void {
  assert.notEqual(r.status, 0);
  assert.notEqual(r.status, 70, `treated as an internal error: ${r.stderr}`);
  assert.ok(!/^\s+at /m.test(r.stderr), `stack trace on stderr: ${r.stderr}`);
  assert.match(r.stderr, /^charrnn: [^\n]+\n$/);
  assert.match(r.stderr, says);
}

const sha256 = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex');
const jsonLines = (stdout: string): Record<string, unknown>[] => stdout.split('\n').filter(l => l !== '').map(l => JSON.parse(l) as Record<string, unknown>);

before(() => { dir = mkdtempSync(join(tmpdir(), 'charrnn-lines-')); });
after(() => rmSync(dir, { recursive: true, force: true }));

describe('charrnn train --lines', () => {
  test('--corpus names trains a line model for a few seconds, and eval scores lines', () => {
    const out = jsonLines(ok(['train', '--corpus', 'names', ...TINY, '--seconds', '3', '--val-every', '100', '--out', at('names'), '--json']));
    const header = out[0];
    assert.equal(header.lines, 8849);
    assert.ok((header.val_lines as number) >= 884 && (header.train_lines as number) + (header.val_lines as number) === 8849);
    const result = out.at(-1)!;
    assert.equal(result.result, true);
    // A model that learned something: well under the uniform log(54) = 3.99 nats.
    assert.ok((result.val_loss as number) < 3, `validation loss ${String(result.val_loss)}`);
    const { metadata } = decodeModel(new Uint8Array(readFileSync(at('names/model.safetensors'))), 'model');
    const info = lineModelInfo(metadata);
    assert.ok(info);
    assert.equal(info.eol, '\n');
    assert.ok(info.lineSet.has('Aaren') && info.lineSet.has('Aaron'), 'female and male names');
    assert.ok(!info.lineSet.has('Qwxyzzy'));

    writeFileSync(at('some-names.txt'), 'Anna\nBob\r\n\nZed\n');
    const text = ok(['eval', at('names/model.safetensors'), at('some-names.txt')]);
    assert.match(text, /nats\/char.* over 13 characters of 3 lines, each from a fresh state with its end-of-line counted/);
    const json = JSON.parse(ok(['eval', at('names/model.safetensors'), at('some-names.txt'), '--json'])) as Record<string, number>;
    assert.equal(json.lines, 3);
    assert.equal(json.chars, 4 + 1 + 3 + 1 + 3 + 1);
    assert.ok(json.nats_per_char > 0 && json.nats_per_char < 4);
  });

  test('a resumed line run ends exactly where an uninterrupted one does', () => {
    const list = Array.from({ length: 60 }, (_, i) => `item ${'abcdefg'.slice(0, 1 + (i % 7))} ${i}`).join('\n') + '\n';
    writeFileSync(at('list.txt'), list);
    ok(['train', at('list.txt'), '--lines', ...TINY, '--steps', '10', '--out', at('whole')]);
    ok(['train', at('list.txt'), '--lines', ...TINY, '--steps', '4', '--out', at('parts')]);
    ok(['train', at('list.txt'), '--resume', '--steps', '10', '--out', at('parts')]);
    assert.equal(sha256(at('parts/model.safetensors')), sha256(at('whole/model.safetensors')));
  });

  test('bad input: no line breaks, only empty lines, a line too long', () => {
    writeFileSync(at('one-line.txt'), 'just one line without a break');
    assertUserError(cli(['train', at('one-line.txt'), '--lines', ...TINY, '--steps', '1', '--out', at('x')]), /has no line breaks/);
    writeFileSync(at('empty-lines.txt'), '\n\r\n\n\n');
    assertUserError(cli(['train', at('empty-lines.txt'), '--lines', ...TINY, '--steps', '1', '--out', at('x')]), /every line of .* is empty/);
    writeFileSync(at('long-line.txt'), `short\n${'x'.repeat(1001)}\nshort\n`);
    assertUserError(cli(['train', at('long-line.txt'), '--lines', ...TINY, '--steps', '1', '--out', at('x')]), /Line 2 of .* has 1001 characters, and --lines takes lines of at most 1000/);
  });
});
