// Line mode as only a real process shows it: a line run stopped by SIGINT and
// resumed. The rest of line mode on the command line is test/lines-cli.test.ts.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { MAIN, spawnCliRunner, TINY as TINY_RUN } from '../cli-runner.js';

const ENV = { ...process.env, CHARRNN_BACKEND: 'reference', CHARRNN_DEBUG: '' };
const TINY = [...TINY_RUN, '--batch', '8', '--sample-length', '0'];

let dir: string;
const { ok } = spawnCliRunner(() => dir, ENV);
const at = (name: string): string => join(dir, name);
const sha256 = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex');

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'charrnn-e2e-lines-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe('charrnn train --lines, stopped by a signal', () => {
  test('a line run stopped by a signal and resumed ends byte-identical to one never stopped', async () => {
    const list = Array.from({ length: 300 }, (_, i) => `line ${'abcdefghij'.slice(0, 1 + (i % 10))} ${i % 17}`).join('\n') + '\n';
    writeFileSync(at('long-list.txt'), list);
    const args = [at('long-list.txt'), '--lines', ...TINY, '--steps', '400', '--val-every', '50', '--checkpoint-every', '0'];
    const child = spawn(process.execPath, [MAIN, 'train', ...args, '--print-every', '5', '--out', at('signalled')], { cwd: dir, env: ENV });
    let stdout = '';
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    const code = await new Promise<number | null>(resolve => {
      child.stdout.setEncoding('utf8').on('data', (d: string) => {
        stdout += d;
        if (/^step \d+/m.test(stdout) && !child.killed) child.kill('SIGINT');
      });
      child.on('close', c => resolve(c));
    });
    assert.equal(code, 130, stderr);
    const stoppedAt = Number(/^stopping at step (\d+): received SIGINT$/m.exec(stdout)?.[1]);
    assert.ok(stoppedAt > 0 && stoppedAt < 400, `stopped at step ${stoppedAt}`);
    ok(['train', '--resume', at('signalled')]); // the folder records the text and that it is a line run
    ok(['train', ...args, '--out', at('unstopped')]);
    for (const f of ['model', 'best', 'checkpoint']) {
      assert.equal(sha256(at(`signalled/${f}.safetensors`)), sha256(at(`unstopped/${f}.safetensors`)), `${f}.safetensors`);
    }
  });
});
